"""iCalendar texts for the CalDAV tests, written out line by line (CRLF, as RFC 5545 says)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

BERLIN_TZ = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def day(offset: int) -> date:
    """A day `offset` days from today (UTC): tests place events inside the sync window."""
    return datetime.now(UTC).date() + timedelta(days=offset)


def local(when: date, hour: int, minute: int = 0) -> str:
    """`20260310T090000`: a local (TZID or floating) time on `when`."""
    return f"{when:%Y%m%d}T{hour:02d}{minute:02d}00"


def vevent(uid: str, *lines: str, summary: str | None = None) -> str:
    body = [f"UID:{uid}", "DTSTAMP:20250101T000000Z", *lines]
    if summary is not None:
        body.append(f"SUMMARY:{summary}")
    return "\n".join(["BEGIN:VEVENT", *body, "END:VEVENT"])


def vcalendar(*components: str, timezones: Iterable[str] = ()) -> str:
    text = "\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hub tests//EN", *timezones, *components]
    )
    return (text + "\nEND:VCALENDAR\n").replace("\n", "\r\n")


def simple(uid: str, when: date, summary: str, hour: int = 9) -> str:
    """A one-hour event in UTC."""
    return vcalendar(
        vevent(
            uid,
            f"DTSTART:{local(when, hour)}Z",
            f"DTEND:{local(when, hour + 1)}Z",
            summary=summary,
        )
    )


def berlin(uid: str, when: date, summary: str, *extra: str) -> str:
    """9:00-10:30 in Europe/Berlin on `when`."""
    return vcalendar(
        vevent(
            uid,
            f"DTSTART;TZID=Europe/Berlin:{local(when, 9)}",
            f"DTEND;TZID=Europe/Berlin:{local(when, 10, 30)}",
            *extra,
            summary=summary,
        ),
        timezones=[BERLIN_TZ],
    )
