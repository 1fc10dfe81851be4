"""iCalendar objects -> records: one per VEVENT, parsed with `icalendar`. Pure.

A calendar object resource (one href) holds one event: its master VEVENT and any overridden
instances (VEVENTs with a RECURRENCE-ID). Each becomes a record:

- external id: the resource's decoded path for the master, `path#RECURRENCE-ID` for an
  override (the recurrence id in iCalendar form, in UTC when it has a time zone:
  `20260720T070000Z`; `20260720` for a date; floating times as written);
- times as ISO 8601: with their offset and, beside them, the TZID they were written in
  (`start` `2026-03-10T09:00:00+01:00`, `start_tzid` `Europe/Berlin`); all-day events as dates
  (`2026-03-10`, `all_day` true); floating times without offset and with no tzid. `end` is
  DTEND, or DTSTART + DURATION, or the RFC 5545 default (a day for dates, none for times);
- recurrence as the rules, not expanded: `rrule` (RFC 5545 text), `rdate`, `exdate` (ISO 8601
  instants; periods as `start/end`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from adapters._values import JsonObject, JsonValue, SourceRecord

log = logging.getLogger("adapters.caldav")

OVERRIDE_SEPARATOR = "#"


def record_key(path: str, recurrence_id: str | None) -> str:
    return path if recurrence_id is None else f"{path}{OVERRIDE_SEPARATOR}{recurrence_id}"


def event_records(calendar: str, path: str, text: str) -> tuple[SourceRecord, ...]:
    """The records of the calendar object at `path` (decoded) in calendar `calendar` (its
    path); an object `icalendar` cannot read yields none and is logged (by path only)."""
    try:
        parsed = icalendar.Calendar.from_ical(text)
        records = {
            record.external_id: record
            for record in (_record(calendar, path, event) for event in parsed.events)
        }
    except (ValueError, TypeError, KeyError) as error:
        log.warning("calendar object %s skipped: not valid iCalendar (%s)", path, error)
        return ()
    return tuple(records[key] for key in sorted(records))


def overrides_of(path: str, records: Iterable[SourceRecord]) -> tuple[str, ...]:
    """The recurrence ids of the overridden instances among the records of the object at
    `path` (a path may itself hold a `#`, so the key is cut after the path, not split)."""
    cut = len(path) + len(OVERRIDE_SEPARATOR)
    return tuple(
        sorted(
            record.external_id[cut:]
            for record in records
            if record.external_id != path and not record.deleted
        )
    )


def _record(calendar: str, path: str, event: icalendar.Event) -> SourceRecord:
    recurrence = event.get("RECURRENCE-ID")
    recurrence_key = None if recurrence is None else _ical_key(recurrence.dt)
    start, end = _span(event)
    start_tzid = _tzid(event.get("DTSTART"), start)
    end_tzid = _tzid(event.get("DTEND"), end) if "DTEND" in event else start_tzid
    data: dict[str, JsonValue] = {
        "calendar": calendar,
        "href": path,
        "uid": _text(event.get("UID")),
        "recurrence_id": None if recurrence is None else _iso(recurrence.dt),
        "summary": _text(event.get("SUMMARY")),
        "description": _text(event.get("DESCRIPTION")),
        "location": _text(event.get("LOCATION")),
        "start": None if start is None else _iso(start),
        "start_tzid": start_tzid,
        "end": None if end is None else _iso(end),
        "end_tzid": end_tzid if end is not None else None,
        "all_day": start is not None and not isinstance(start, datetime),
        "status": _text(event.get("STATUS")),
        "organizer": _person(event.get("ORGANIZER")),
        "attendees": [_attendee(value) for value in _many(event.get("ATTENDEE"))],
        "categories": [str(category) for category in event.categories],
        "rrule": [rule.to_ical().decode() for rule in event.rrules],
        "rdate": [_period(start, end) for start, end in event.rdates],
        "exdate": [_iso(value) for value in event.exdates],
        "last_modified": _when(event.get("LAST-MODIFIED")),
        "sequence": int(event.get("SEQUENCE", 0)),
    }
    return SourceRecord(record_key(path, recurrence_key), data)


def _span(event: icalendar.Event) -> tuple[date | None, date | None]:
    try:
        start = event.start
    except ValueError:  # no DTSTART (icalendar's IncompleteComponent), or an unreadable one
        return None, None
    try:
        end = event.end
    except ValueError:
        end = start
    return start, end


def _iso(value: date) -> str:
    return value.isoformat()


def _ical_key(value: date) -> str:
    """A recurrence id as iCalendar writes it: UTC for zoned times, so the key does not
    depend on the zone it was written in."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _tzid(prop: Any, value: date | None) -> str | None:
    """The zone a time was written in: its TZID parameter, `UTC` for `Z` times, None for
    dates and floating times."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    params: Mapping[str, str] = getattr(prop, "params", {})
    tzid = params.get("TZID")
    if tzid:
        return str(tzid)
    if isinstance(value.tzinfo, ZoneInfo):
        return value.tzinfo.key
    return "UTC" if value.utcoffset() == timedelta(0) else None


def _period(start: date, end: date | timedelta | None) -> str:
    if end is None:
        return _iso(start)
    if isinstance(end, timedelta):
        end = start + end
    return f"{_iso(start)}/{_iso(end)}"


def _when(prop: Any) -> str | None:
    value = getattr(prop, "dt", None)
    return _iso(value) if isinstance(value, date) else None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text or None


def _many(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _email(address: object) -> str:
    text = str(address)
    return text[7:] if text.lower().startswith("mailto:") else text


def _person(value: object) -> JsonObject | None:
    if value is None:
        return None
    params: Mapping[str, str] = getattr(value, "params", {})
    return {"email": _email(value), "name": params.get("CN") or None}


def _attendee(value: object) -> JsonObject:
    params: Mapping[str, str] = getattr(value, "params", {})
    rsvp = params.get("RSVP")
    return {
        "email": _email(value),
        "name": params.get("CN") or None,
        "role": params.get("ROLE") or None,
        "partstat": params.get("PARTSTAT") or None,
        "rsvp": None if rsvp is None else str(rsvp).upper() == "TRUE",
    }
