-- The same columns as SQLite's migration 0004, so the two schemas stay alike. PostgreSQL does
-- not fill them yet: its finish finds unseen records with one anti join, which costs there
-- about what the ranges would save (see docs/design-notes.md, Persistence).
ALTER TABLE sync_seen ADD COLUMN lo text COLLATE "C";
ALTER TABLE sync_seen ADD COLUMN hi text COLLATE "C";
