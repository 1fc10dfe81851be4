"""iCalendar -> records, without a server: time zones, all-day and floating times, recurrence
kept as rules, overridden instances as records of their own, people and categories."""

from __future__ import annotations

import logging

import pytest

from adapters.caldav._ical import event_records, overrides_of
from tests.adapters.caldav.ics import BERLIN_TZ, vcalendar, vevent

CAL = "/cal/ann/work/"
PATH = "/cal/ann/work/a.ics"

WINDOWS_TZ = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""


def _one(text: str) -> dict[str, object]:
    (record,) = event_records(CAL, PATH, text)
    assert record.external_id == PATH
    return dict(record.data)


def test_berlin_times_keep_offset_and_tzid_in_winter_and_summer() -> None:
    winter = _one(
        vcalendar(
            vevent(
                "w",
                "DTSTART;TZID=Europe/Berlin:20260115T090000",
                "DTEND;TZID=Europe/Berlin:20260115T103000",
            ),
            timezones=[BERLIN_TZ],
        )
    )
    summer = _one(
        vcalendar(vevent("s", "DTSTART;TZID=Europe/Berlin:20260715T090000", "DURATION:PT2H"))
    )
    assert (winter["start"], winter["end"]) == (
        "2026-01-15T09:00:00+01:00",
        "2026-01-15T10:30:00+01:00",
    )
    assert (winter["start_tzid"], winter["end_tzid"]) == ("Europe/Berlin", "Europe/Berlin")
    assert (summer["start"], summer["end"]) == (
        "2026-07-15T09:00:00+02:00",
        "2026-07-15T11:00:00+02:00",
    )
    assert summer["end_tzid"] == "Europe/Berlin"  # from DTSTART: the end came from DURATION


def test_utc_floating_and_windows_zone_times() -> None:
    utc = _one(vcalendar(vevent("u", "DTSTART:20260301T080000Z", "DTEND:20260301T090000Z")))
    floating = _one(vcalendar(vevent("f", "DTSTART:20260301T080000")))
    windows = _one(
        vcalendar(
            vevent("x", "DTSTART;TZID=W. Europe Standard Time:20260701T090000"),
            timezones=[WINDOWS_TZ],
        )
    )
    assert (utc["start"], utc["start_tzid"]) == ("2026-03-01T08:00:00+00:00", "UTC")
    assert (floating["start"], floating["start_tzid"], floating["end"]) == (
        "2026-03-01T08:00:00",
        None,
        "2026-03-01T08:00:00",  # RFC 5545: a time with no end or duration ends as it starts
    )
    assert (windows["start"], windows["start_tzid"]) == (
        "2026-07-01T09:00:00+02:00",
        "W. Europe Standard Time",
    )


def test_all_day_event_is_dates_with_a_day_by_default() -> None:
    one_day = _one(vcalendar(vevent("d", "DTSTART;VALUE=DATE:20260310")))
    three = _one(vcalendar(vevent("t", "DTSTART;VALUE=DATE:20260310", "DTEND;VALUE=DATE:20260313")))
    assert (one_day["start"], one_day["end"], one_day["all_day"]) == (
        "2026-03-10",
        "2026-03-11",
        True,
    )
    assert (three["start"], three["end"], three["start_tzid"]) == ("2026-03-10", "2026-03-13", None)


def test_fields_people_and_categories() -> None:
    data = _one(
        vcalendar(
            vevent(
                "uid-1@example.com",
                "DTSTART:20260301T080000Z",
                "DESCRIPTION:Bring the figures\\, please\\nand coffee",
                "LOCATION:Room 4",
                "STATUS:CONFIRMED",
                "ORGANIZER;CN=Anna Boss:mailto:anna@example.com",
                "ATTENDEE;CN=Ben;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:ben@example.com",
                "ATTENDEE:MAILTO:cy@example.com",
                "CATEGORIES:Work,Finance",
                "CATEGORIES:Q1",
                "LAST-MODIFIED:20260201T101010Z",
                "SEQUENCE:3",
                summary="Budget",
            )
        )
    )
    assert data["uid"] == "uid-1@example.com"
    assert (data["summary"], data["location"], data["status"]) == ("Budget", "Room 4", "CONFIRMED")
    assert data["description"] == "Bring the figures, please\nand coffee"
    assert data["organizer"] == {"email": "anna@example.com", "name": "Anna Boss"}
    assert data["attendees"] == [
        {
            "email": "ben@example.com",
            "name": "Ben",
            "role": "REQ-PARTICIPANT",
            "partstat": "ACCEPTED",
            "rsvp": True,
        },
        {"email": "cy@example.com", "name": None, "role": None, "partstat": None, "rsvp": None},
    ]
    assert data["categories"] == ["Work", "Finance", "Q1"]
    assert (data["last_modified"], data["sequence"]) == ("2026-02-01T10:10:10+00:00", 3)
    assert (data["calendar"], data["href"], data["recurrence_id"]) == (CAL, PATH, None)
    minimal = _one(vcalendar(vevent("m", "DTSTART:20260301T080000Z")))
    assert (minimal["summary"], minimal["organizer"], minimal["status"]) == (None, None, None)
    assert (minimal["attendees"], minimal["categories"], minimal["last_modified"]) == ([], [], None)


def test_recurrence_kept_as_rules_and_overrides_as_own_records() -> None:
    text = vcalendar(
        vevent(
            "series",
            "DTSTART;TZID=Europe/Berlin:20260302T090000",
            "DTEND;TZID=Europe/Berlin:20260302T093000",
            "RRULE:FREQ=WEEKLY;UNTIL=20261231T000000Z;BYDAY=MO,WE",
            "EXDATE;TZID=Europe/Berlin:20260304T090000,20260309T090000",
            "RDATE;VALUE=DATE:20260801",
            "RDATE;VALUE=PERIOD:20260901T100000Z/PT1H",
            summary="Stand-up",
        ),
        vevent(
            "series",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260401T090000",
            "DTSTART;TZID=Europe/Berlin:20260401T110000",
            "DTEND;TZID=Europe/Berlin:20260401T113000",
            summary="Stand-up (moved)",
        ),
        vevent("series", "RECURRENCE-ID;VALUE=DATE:20260406", "DTSTART;VALUE=DATE:20260406"),
        timezones=[BERLIN_TZ],
    )
    records = event_records(CAL, PATH, text)
    keys = [r.external_id for r in records]
    assert keys == [PATH, f"{PATH}#20260401T070000Z", f"{PATH}#20260406"]
    master = records[0].data
    assert master["rrule"] == ["FREQ=WEEKLY;UNTIL=20261231T000000Z;BYDAY=MO,WE"]
    assert master["exdate"] == ["2026-03-04T09:00:00+01:00", "2026-03-09T09:00:00+01:00"]
    assert master["rdate"] == ["2026-08-01", "2026-09-01T10:00:00+00:00/2026-09-01T11:00:00+00:00"]
    moved = records[1].data
    assert (moved["uid"], moved["summary"]) == ("series", "Stand-up (moved)")
    assert moved["recurrence_id"] == "2026-04-01T09:00:00+02:00"
    assert moved["start"] == "2026-04-01T11:00:00+02:00"
    assert moved["rrule"] == []
    assert overrides_of(PATH, records) == ("20260401T070000Z", "20260406")


def test_object_that_is_not_icalendar_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    assert event_records(CAL, PATH, "this is not a calendar") == ()
    assert PATH in caplog.text
    assert event_records(CAL, PATH, vcalendar()) == ()  # no VEVENT (a VTODO, say): no record


def test_event_without_start_still_a_record() -> None:
    data = _one(vcalendar(vevent("nostart", summary="Someday")))
    assert (data["start"], data["end"], data["all_day"]) == (None, None, False)
