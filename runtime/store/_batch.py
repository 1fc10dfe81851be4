"""Which records of a batch to insert, to update, or only to note as seen: a pure decision.

SQLite compares the batch's hashes with the stored ones (one query, one index search per key)
and this sorts the batch; PostgreSQL does the same inside its one write statement
(`WRITE_STAGED`). Only new and changed records are written; an unchanged record costs one
lookup and, in a full run, one row in `sync_seen`. A record written by a full run carries the
run's `seq` instead (`records.written_by_run`), so it needs no `sync_seen` row: at the end of a
completed full run, a live record is unseen when neither says it was seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# external_id, canonical JSON, content hash
Prepared = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class BatchPlan:
    new: list[Prepared]
    changed: list[Prepared]
    unchanged: list[str]


def plan_batch(batch: Sequence[Prepared], stored: Mapping[str, bool]) -> BatchPlan:
    """`stored` maps each stored key of the batch to whether its record is unchanged (same
    hash, not deleted). A deleted record that comes back is changed: written, and undeleted."""
    new: list[Prepared] = []
    changed: list[Prepared] = []
    unchanged: list[str] = []
    for prepared in batch:
        same = stored.get(prepared[0])
        if same is None:
            new.append(prepared)
        elif same:
            unchanged.append(prepared[0])
        else:
            changed.append(prepared)
    return BatchPlan(new, changed, unchanged)


def compare_first(written_so_far: int, unchanged_so_far: int) -> bool:
    """Whether PostgreSQL should compare hashes before sending a batch's data.

    Sending everything and comparing in the same statement saves a round trip when most
    records are to be written (a first sync); comparing first saves sending data that is
    mostly unchanged (a re-sync). The run's own counts so far tell which it is."""
    return unchanged_so_far > written_so_far
