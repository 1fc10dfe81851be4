"""The CalDAV checkpoint: what we know of each calendar, and how far the current pass got.

```
{"version": 1,
 "calendars": {"/hub/work/": {"token": "...", "ctag": "...", "etags": {...}, "overrides": {...}}},
 "progress": {"kind": "full", "window_start": "20250101T000000Z", "window_end": "...",
              "calendar": "/hub/work/", "after": "/hub/work/b.ics", "pending": {...}}}
```

Per calendar (by decoded path): the sync token (RFC 6578) or the ctag as of the last time the
calendar was read to the end, the etags of its objects in the window (only for calendars
synced by ctag/etag comparison; sync tokens need none) and, for objects with overridden
instances, their recurrence ids (a deleted object must tombstone those records too).

`progress` is None between passes. During one, calendars are read in path order; `calendar` is
the one reached, `after` the last external id written from it, and `pending` its new state,
taken when the pass first read it and committed to `calendars` when it is finished.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from adapters._values import JsonObject, SyncKind

log = logging.getLogger("adapters.caldav")

ICAL_UTC = "%Y%m%dT%H%M%SZ"


class CalendarState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token: str | None = None
    ctag: str | None = None
    etags: dict[str, str] | None = None
    overrides: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["full", "incremental"]
    window_start: str
    window_end: str
    calendar: str | None = None
    after: str | None = None
    pending: CalendarState | None = None


class Cursor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    calendars: dict[str, CalendarState] = Field(default_factory=dict)
    progress: Progress | None = None


def read_cursor(checkpoint: JsonObject | None) -> Cursor:
    """The cursor in `checkpoint`; one that is not ours (another version, damaged) is
    dropped: a sync from nothing lists every calendar again, which is always correct."""
    if checkpoint is None:
        return Cursor()
    try:
        return Cursor.model_validate(dict(checkpoint))
    except pydantic.ValidationError as error:
        log.warning(
            "CalDAV checkpoint not readable, starting over (%d problems)", error.error_count()
        )
        return Cursor()


def dump_cursor(cursor: Cursor) -> JsonObject:
    dumped: JsonObject = cursor.model_dump(mode="json", exclude_none=True)
    return dumped


def window(now: datetime, past_days: int, future_days: int) -> tuple[str, str]:
    """The time range of a pass, in whole UTC days around `now` (so passes begun on one day
    ask for the same range), as iCalendar UTC times."""
    today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    start = today - timedelta(days=past_days)
    end = today + timedelta(days=future_days + 1)
    return start.strftime(ICAL_UTC), end.strftime(ICAL_UTC)


def new_progress(kind: SyncKind, span: tuple[str, str]) -> Progress:
    return Progress(kind=kind.value, window_start=span[0], window_end=span[1])
