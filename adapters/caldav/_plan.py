"""The sync decisions, as plain functions over plain data (the adapter only fetches).

- `visits`: which calendars a pass reads, and where a resumed one picks up;
- `etag_changes`: what a ctag/etag comparison says changed and went;
- `listed` / `changed`: a calendar's records (sorted by external id, tombstones among them)
  and its new state, from a full listing or from the objects that changed;
- `rest_after`: what is left of a calendar's records after the last one written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from adapters._values import SourceRecord, SyncKind
from adapters.caldav._discovery import Calendar
from adapters.caldav._ical import overrides_of, record_key
from adapters.caldav._state import CalendarState, Cursor, Progress, new_progress


@dataclass(frozen=True, slots=True)
class Visit:
    """One calendar of a pass; `after` and `pending` are set when it resumes the calendar."""

    calendar: Calendar
    state: CalendarState | None
    after: str | None = None
    pending: CalendarState | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A calendar object read from the server: its decoded path, the href as the server
    wrote it, its etag and its records."""

    path: str
    href: str
    etag: str | None
    records: tuple[SourceRecord, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A calendar's records (sorted, unique by external id) and its state after them."""

    records: tuple[SourceRecord, ...]
    state: CalendarState


def start(
    cursor: Cursor, kind: SyncKind, calendars: Sequence[Calendar], window: tuple[str, str]
) -> tuple[Progress, tuple[Visit, ...]]:
    """The pass a sync runs: the one in `cursor` if it is of the same kind and unfinished
    (continuing from the calendar it reached), else a new one over every calendar."""
    ordered = sorted(calendars, key=lambda calendar: calendar.path)
    progress = cursor.progress
    if progress is None or progress.kind != kind.value:
        return new_progress(kind, window), tuple(
            Visit(c, cursor.calendars.get(c.path)) for c in ordered
        )
    visits: list[Visit] = []
    for calendar in ordered:
        state = cursor.calendars.get(calendar.path)
        reached = progress.calendar
        if reached is None or calendar.path > reached:
            visits.append(Visit(calendar, state))
        elif calendar.path == reached and progress.pending is not None:
            visits.append(Visit(calendar, state, progress.after, progress.pending))
    return progress, tuple(visits)


def etag_changes(
    known: Mapping[str, str], now: Mapping[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(objects new or changed, objects gone), each in path order."""
    changed = sorted(path for path, etag in now.items() if known.get(path) != etag)
    gone = sorted(set(known) - set(now))
    return tuple(changed), tuple(gone)


def tombstones(path: str, overrides: Iterable[str] = ()) -> list[SourceRecord]:
    """Deletion markers for an object's records: the master and its overridden instances."""
    keys = [path, *(record_key(path, rid) for rid in overrides)]
    return [SourceRecord(key, {}, deleted=True) for key in keys]


def listed(
    objects: Sequence[Fetched],
    *,
    token: str | None,
    ctag: str | None,
    keep_etags: bool,
    before: CalendarState | None,
) -> Outcome:
    """A calendar read whole: all its records and, when we knew its objects' etags before,
    tombstones for those no longer listed (an incremental resync after a lost token)."""
    records: list[SourceRecord] = [r for item in objects for r in item.records]
    if before is not None and before.etags is not None:
        there = {item.path for item in objects}
        for path in sorted(set(before.etags) - there):
            records += tombstones(path, before.overrides.get(path, ()))
    state = CalendarState(
        token=token,
        ctag=ctag,
        etags={item.path: item.etag or "" for item in objects} if keep_etags else None,
        overrides=_overrides(objects),
    )
    return Outcome(_sorted(records), state)


def changed(
    before: CalendarState,
    fetched: Sequence[Fetched],
    gone: Iterable[str],
    *,
    token: str | None,
    ctag: str | None,
    in_window: Mapping[str, str] | None,
    asked: Iterable[str] = (),
) -> Outcome:
    """The records of the objects that changed, tombstones for the objects gone and for the
    overridden instances a changed object no longer has; the calendar's state after them.
    `in_window` (ctag/etag mode) are the etags now listed; an object `asked` for but not
    fetched loses its etag, so the next sync asks again."""
    gone_paths = set(gone)
    records: list[SourceRecord] = []
    overrides = {p: rids for p, rids in before.overrides.items() if p not in gone_paths}
    for path in sorted(gone_paths):
        records += tombstones(path, before.overrides.get(path, ()))
    for item in fetched:
        now = overrides_of(item.path, item.records)
        dropped = sorted(set(before.overrides.get(item.path, ())) - set(now))
        records += item.records
        records += tombstones(item.path, dropped)[1:]
        overrides.pop(item.path, None)
        if now:
            overrides[item.path] = now
    etags = None
    if in_window is not None:
        got = {item.path: item.etag or "" for item in fetched}
        missed = set(asked) - set(got)
        etags = {p: e for p, e in in_window.items() if p not in missed and p not in gone_paths}
        etags.update(got)
    state = CalendarState(
        token=token, ctag=ctag, etags=etags, overrides=dict(sorted(overrides.items()))
    )
    return Outcome(_sorted(records), state)


def resumed(pending: CalendarState, fresh: CalendarState) -> CalendarState:
    """The state a resumed calendar commits: the one taken when the pass first read it (so
    whatever changed since is found next time), knowing every override either read saw."""
    overrides = dict(pending.overrides)
    for path, rids in fresh.overrides.items():
        overrides[path] = tuple(sorted(set(overrides.get(path, ())) | set(rids)))
    return pending.model_copy(update={"overrides": dict(sorted(overrides.items()))})


def rest_after(records: Sequence[SourceRecord], after: str | None) -> tuple[SourceRecord, ...]:
    if after is None:
        return tuple(records)
    return tuple(record for record in records if record.external_id > after)


def chunks(records: Sequence[SourceRecord], size: int) -> Iterable[tuple[SourceRecord, ...]]:
    for offset in range(0, len(records), size):
        yield tuple(records[offset : offset + size])


def calendar_steps(
    progress: Progress,
    committed: Mapping[str, CalendarState],
    path: str,
    records: Sequence[SourceRecord],
    *,
    state: CalendarState,
    size: int,
) -> tuple[list[tuple[tuple[SourceRecord, ...], Cursor]], dict[str, CalendarState]]:
    """A calendar's pages, each with the cursor after it: within the calendar, the last key
    written and its pending state; after its last page (one, empty, if it has no records),
    the state committed. Returns the pages and the committed states after the calendar."""
    parts = list(chunks(records, size)) or [()]
    steps: list[tuple[tuple[SourceRecord, ...], Cursor]] = []
    for part in parts[:-1]:
        reached = {"calendar": path, "after": part[-1].external_id, "pending": state}
        steps.append(
            (part, Cursor(calendars=dict(committed), progress=progress.model_copy(update=reached)))
        )
    after = {**committed, path: state}
    done = {"calendar": path, "after": None, "pending": None}
    steps.append((parts[-1], Cursor(calendars=after, progress=progress.model_copy(update=done))))
    return steps, after


@dataclass(slots=True)
class HeldBack:
    """Holds one page back until the next is known, so that the pass's last page can be
    the `complete` batch, and a page with no records only moves the held cursor on."""

    records: tuple[SourceRecord, ...] = ()
    cursor: Cursor | None = None

    def push(
        self, records: tuple[SourceRecord, ...], cursor: Cursor
    ) -> tuple[tuple[SourceRecord, ...], Cursor] | None:
        """The page to emit now, if any."""
        if self.records and records and self.cursor is not None:
            ready = (self.records, self.cursor)
            self.records, self.cursor = records, cursor
            return ready
        if not self.records:
            self.records = records
        self.cursor = cursor
        return None


def _overrides(objects: Sequence[Fetched]) -> dict[str, tuple[str, ...]]:
    found = {item.path: overrides_of(item.path, item.records) for item in objects}
    return {path: rids for path, rids in sorted(found.items()) if rids}


def _sorted(records: Iterable[SourceRecord]) -> tuple[SourceRecord, ...]:
    unique: dict[str, SourceRecord] = {}
    for record in records:
        if record.deleted and record.external_id in unique:
            continue  # a record read beats a tombstone for the same key
        unique[record.external_id] = record
    return tuple(unique[key] for key in sorted(unique))
