-- The keys a full run saw unchanged so far (what it wrote carries its seq in
-- records.written_by_run), one row per batch: `keys` holds the batch's unchanged external
-- ids. Emptied when the run finishes. Append-only while the run lasts: no key and no index;
-- noting a batch's keys costs one heap append, and emptying a run's deletes a row per batch
-- rather than per key. A key noted twice (a resumed run re-reading a page) is harmless to the
-- anti join that reads them. UNLOGGED: scratch data not worth the WAL. A server crash empties
-- it; sync_runs.seen (logged, counted in the same transactions) then no longer matches, and
-- the run's finish deletes nothing. Dropping the old table here has the same effect on an
-- interrupted run.
DROP TABLE sync_seen;

CREATE UNLOGGED TABLE sync_seen (
    run_id  text COLLATE "C" NOT NULL,
    entity  text COLLATE "C" NOT NULL,
    keys    text[] COLLATE "C" NOT NULL
);
