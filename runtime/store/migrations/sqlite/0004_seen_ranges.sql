-- A batch of a full run that covers its key range (every record from its smallest to its
-- largest external id is one of the batch's) notes that range with its unchanged keys. When
-- every batch that noted keys covered its range, the run's finish looks for unseen records
-- only between the ranges (an index search each) instead of scanning the entity and looking
-- each record up among the seen keys. NULL: the batch did not cover its range.
ALTER TABLE sync_seen ADD COLUMN lo TEXT;
ALTER TABLE sync_seen ADD COLUMN hi TEXT;
