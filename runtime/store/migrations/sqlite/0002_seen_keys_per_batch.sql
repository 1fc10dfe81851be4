-- The keys a full run saw unchanged so far (what it wrote carries its seq in
-- records.written_by_run), one row per batch: `keys` is a JSON array of the batch's unchanged
-- external ids. Emptied when the run finishes. Append-only while the run lasts: no key, no
-- index, no foreign key. A row per key (0001) cost an unchanged re-sync more than its
-- lookups did. A key noted twice (a resumed run re-reading a page) is harmless to the NOT IN
-- that reads them. Dropping the old table loses the seen keys of an interrupted run: when it
-- resumes, sync_runs.seen no longer matches them and its finish deletes nothing.
DROP TABLE sync_seen;

CREATE TABLE sync_seen (
    run_id  TEXT NOT NULL,
    entity  TEXT NOT NULL,
    keys    TEXT NOT NULL
);
