-- The same columns as SQLite's migration 0004, so that the two schemas stay alike. PostgreSQL
-- does not fill them (yet): its finish finds unseen records with one anti join, and its
-- unchanged re-syncs already meet their goal with it (BENCHMARKS.md, Store).
ALTER TABLE sync_seen ADD COLUMN lo text COLLATE "C";
ALTER TABLE sync_seen ADD COLUMN hi text COLLATE "C";
