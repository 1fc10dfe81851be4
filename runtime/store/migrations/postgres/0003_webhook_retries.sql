-- Webhook deliveries are retried with backoff and listed per integration, newest first.
-- next_attempt_at: when a received or failed delivery is due for its next attempt (a retry
-- scan claims due ones by moving it ahead, as a lease); NULL once processed or dead.
-- seq: insertion order, the key of the listing's pages (ids are random).
ALTER TABLE webhook_deliveries ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE webhook_deliveries ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;

UPDATE webhook_deliveries SET next_attempt_at = received_at
WHERE status IN ('received', 'failed');

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('received', 'failed');
CREATE INDEX webhook_deliveries_by_integration ON webhook_deliveries (integration_id, seq);
