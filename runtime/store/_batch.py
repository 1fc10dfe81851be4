"""Which records of a batch to insert, to update, or only to note as seen: a pure decision.

SQLite compares the batch's hashes with the stored ones (one query, one index search per key)
and this sorts the batch (`plan_batch` or `plan_writes`, by which side the query returned);
PostgreSQL does the same inside its write statements (`WRITE_STAGED`, `INSERT_STAGED`,
`SORT_BATCH`). Only new and changed records are written; an unchanged record costs one lookup
and, in a full run, a place in `sync_seen` (one row per batch holds its unchanged keys). A
record written by a full run carries the run's `seq` instead (`records.written_by_run`), so it
needs no place in `sync_seen`: at the end of a completed full run, a live record is unseen
when neither says it was seen.
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


def plan_writes(batch: Sequence[Prepared], to_write: Mapping[str, bool]) -> BatchPlan:
    """The same plan from the other side: `to_write` maps each key of the batch to be written
    (new, changed, or deleted and back) to whether it is stored; the other keys are unchanged."""
    new: list[Prepared] = []
    changed: list[Prepared] = []
    unchanged: list[str] = []
    for prepared in batch:
        stored = to_write.get(prepared[0])
        if stored is None:
            unchanged.append(prepared[0])
        elif stored:
            changed.append(prepared)
        else:
            new.append(prepared)
    return BatchPlan(new, changed, unchanged)


def key_range(batch: Sequence[Prepared]) -> tuple[str, str]:
    """The batch's smallest and largest external id. Python orders text by code point, as
    SQLite's BINARY collation orders its UTF-8 bytes (and PostgreSQL's "C" collation)."""
    keys = [prepared[0] for prepared in batch]
    return min(keys), max(keys)


def unseen_gaps(ranges: Sequence[tuple[str, str]]) -> list[tuple[str | None, str | None]]:
    """The key ranges left between `ranges` (inclusive (lo, hi) pairs, in any order,
    overlapping or not): (after, before) pairs, both bounds exclusive, None for no bound. No
    ranges leave one gap: everything."""
    merged: list[tuple[str, str]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    gaps: list[tuple[str | None, str | None]] = []
    after: str | None = None
    for lo, hi in merged:
        gaps.append((after, lo))
        after = hi
    gaps.append((after, None))
    return gaps


def mostly_unchanged(written_so_far: int, unchanged_so_far: int) -> bool:
    """Whether a run has so far mostly re-read unchanged records (a re-sync) rather than
    written them (a first sync): the next batch is then likely the same, and both backends
    compare its hashes in the way that costs least for mostly unchanged records.

    PostgreSQL then compares before sending a batch's data: sending everything and comparing
    in the same statement saves a round trip when most records are to be written; comparing
    first saves sending data that is mostly unchanged. SQLite then asks which keys are to be
    written rather than which are stored, so that the rows it reads back are the few."""
    return unchanged_so_far > written_so_far


def mostly_new(added_so_far: int, updated_so_far: int, unchanged_so_far: int) -> bool:
    """Whether a run has so far mostly added records (a first sync): PostgreSQL then inserts
    the next batch before comparing anything (`INSERT_STAGED`), which costs least when the
    keys are new and most when they are stored, so a run with nothing so far does not."""
    return added_so_far > updated_so_far + unchanged_so_far
