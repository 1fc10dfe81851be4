"""WebDAV XML and discovery decisions, without a socket: bodies, multistatus answers, hostile
XML, what a PROPFIND answer means, and the calendars setting."""

from __future__ import annotations

from xml.etree.ElementTree import fromstring

import pytest

from adapters import ConfigError, PermanentError
from adapters.caldav._discovery import (
    Calendar,
    Found,
    calendars_in,
    path_of,
    read_start,
    select,
)
from adapters.caldav._xml import (
    CALDAV,
    DAV,
    calendar_multiget,
    calendar_query,
    error_conditions,
    parse_multistatus,
    propfind,
    status_code,
    sync_collection,
)

HEAD = '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'


def _ms(*responses: str, extra: str = "") -> bytes:
    return (HEAD + "".join(responses) + extra + "</d:multistatus>").encode()


def _resp(href: str, ok: str = "", missing: str = "", status: str | None = None) -> str:
    parts = [f"<d:href>{href}</d:href>"]
    if status is not None:
        parts.append(f"<d:status>{status}</d:status>")
    if ok:
        parts.append(
            f"<d:propstat><d:prop>{ok}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
        )
    if missing:
        parts.append(
            f"<d:propstat><d:prop>{missing}</d:prop>"
            "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
        )
    return f"<d:response>{''.join(parts)}</d:response>"


CALENDAR = (
    "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
    "<d:displayname>Work &amp; Play</d:displayname>"
    '<c:supported-calendar-component-set><c:comp name="VEVENT"/><c:comp name="VTODO"/>'
    "</c:supported-calendar-component-set><cs:getctag>ctag-1</cs:getctag>"
)


def test_bodies_are_well_formed_and_escape_values() -> None:
    query = fromstring(calendar_query("20250101T000000Z", "20260101T000000Z", with_data=True))
    assert query.tag == f"{{{CALDAV}}}calendar-query"
    time_range = next(query.iter(f"{{{CALDAV}}}time-range"))
    assert time_range.attrib == {"start": "20250101T000000Z", "end": "20260101T000000Z"}
    assert query.find(f"{{{DAV}}}prop/{{{CALDAV}}}calendar-data") is not None
    bare = fromstring(calendar_query("a", "b", with_data=False))
    assert bare.find(f"{{{DAV}}}prop/{{{CALDAV}}}calendar-data") is None
    multiget = fromstring(calendar_multiget(["/c/a&b.ics", "/c/<x>.ics"]))
    assert [h.text for h in multiget.iter(f"{{{DAV}}}href")] == ["/c/a&b.ics", "/c/<x>.ics"]
    sync = fromstring(sync_collection("http://x/sync/1?a=1&b=2"))
    assert sync.findtext(f"{{{DAV}}}sync-token") == "http://x/sync/1?a=1&b=2"
    assert fromstring(sync_collection(None)).findtext(f"{{{DAV}}}sync-token") == ""
    asked = fromstring(propfind(["d:resourcetype", "cs:getctag"]))
    assert [child.tag for child in asked.find(f"{{{DAV}}}prop") or []] == [
        f"{{{DAV}}}resourcetype",
        "{http://calendarserver.org/ns/}getctag",
    ]


def test_multistatus_keeps_found_properties_and_the_sync_token() -> None:
    body = _ms(
        _resp("/cal/work/", ok=CALENDAR, missing="<d:sync-token/>"),
        _resp("/cal/work/gone.ics", status="HTTP/1.1 404 Not Found"),
        extra="<d:sync-token>tok-9</d:sync-token>",
    )
    answer = parse_multistatus(body, "REPORT x")
    assert answer.sync_token == "tok-9"
    work, gone = answer.responses
    assert work.status is None
    assert work.text("d:displayname") == "Work & Play"
    assert work.text("cs:getctag") == "ctag-1"
    assert work.text("d:sync-token") is None  # in a 404 propstat: not found
    assert work.components() == frozenset({"VEVENT", "VTODO"})
    assert f"{{{CALDAV}}}calendar" in work.children("d:resourcetype")
    assert (gone.href, gone.status) == ("/cal/work/gone.ics", 404)


def test_calendar_data_keeps_its_lines_and_folds() -> None:
    data = "BEGIN:VCALENDAR\r\nX-A:a long\r\n  folded line\r\nEND:VCALENDAR\r\n"
    body = _ms(_resp("/c/a.ics", ok=f"<c:calendar-data><![CDATA[{data}]]></c:calendar-data>"))
    (response,) = parse_multistatus(body, "REPORT x").responses
    text = response.raw_text("c:calendar-data")
    assert text is not None
    assert text.splitlines() == data.splitlines()  # XML makes CRLF LF; iCalendar takes both


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Welcome</body></html>",
        b"not xml at all",
        b"",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<d:multistatus xmlns:d="DAV:">&b;</d:multistatus>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<d:multistatus xmlns:d="DAV:">&e;</d:multistatus>',
    ],
    ids=["html", "text", "empty", "entity-expansion", "external-entity"],
)
def test_answer_that_is_no_safe_multistatus_is_permanent_error(body: bytes) -> None:
    with pytest.raises(PermanentError, match="REPORT https://x/c/") as caught:
        parse_multistatus(body, "REPORT https://x/c/")
    assert "Welcome" not in str(caught.value)
    assert "passwd" not in str(caught.value)


def test_error_conditions_name_the_failed_precondition() -> None:
    body = b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>'
    assert error_conditions(body) == {f"{{{DAV}}}valid-sync-token"}
    assert error_conditions(b"forbidden") == frozenset()
    assert error_conditions(_ms()) == frozenset()


def test_status_line_parsed_or_none() -> None:
    assert status_code("HTTP/1.1 507 Insufficient Storage") == 507
    assert status_code("garbled") is None
    assert status_code(None) is None


def test_read_start_finds_the_most_specific_collection() -> None:
    principal = _ms(
        _resp(
            "/", ok="<d:current-user-principal><d:href>/p/ann/</d:href></d:current-user-principal>"
        )
    )
    assert read_start(parse_multistatus(principal, ""), "https://h/") == read_start(
        parse_multistatus(principal, ""), "https://h/"
    )
    step = read_start(parse_multistatus(principal, ""), "https://h/")
    assert (step.found, step.url) == (Found.PRINCIPAL, "https://h/p/ann/")
    home = _ms(
        _resp(
            "/p/ann/",
            ok="<c:calendar-home-set><d:href>https://h/cal/ann/</d:href></c:calendar-home-set>"
            "<d:current-user-principal><d:href>/p/ann/</d:href></d:current-user-principal>",
        )
    )
    step = read_start(parse_multistatus(home, ""), "https://h/p/ann/")
    assert (step.found, step.url) == (Found.HOME, "https://h/cal/ann/")
    calendar = _ms(_resp("/cal/ann/work/", ok=CALENDAR))
    step = read_start(parse_multistatus(calendar, ""), "https://h/cal/ann/work")
    assert step.found is Found.CALENDAR
    assert step.calendar is not None
    assert step.calendar.url == "https://h/cal/ann/work/"
    nothing = _ms(_resp("/", ok="<d:resourcetype><d:collection/></d:resourcetype>"))
    assert read_start(parse_multistatus(nothing, ""), "https://h/").found is Found.NOTHING


def test_calendars_in_a_home_hold_events_and_say_how_to_sync() -> None:
    listing = _ms(
        _resp("/cal/ann/", ok="<d:resourcetype><d:collection/></d:resourcetype>"),
        _resp("/cal/ann/tasks/", ok=CALENDAR.replace('<c:comp name="VEVENT"/>', "")),
        _resp(
            "/cal/ann/Team%20Plan/",
            ok="<d:resourcetype><c:calendar/></d:resourcetype><d:sync-token>t1</d:sync-token>",
        ),
        _resp(
            "/cal/ann/work/",
            ok=CALENDAR + "<d:supported-report-set><d:supported-report><d:report>"
            "<d:sync-collection/></d:report></d:supported-report></d:supported-report-set>",
        ),
        _resp("/cal/ann/old/", ok=CALENDAR),
    )
    calendars = calendars_in(parse_multistatus(listing, ""), "https://h/cal/ann/")
    assert [(c.path, c.name, c.sync_supported) for c in calendars] == [
        ("/cal/ann/Team Plan/", "Team Plan", True),
        ("/cal/ann/old/", "Work & Play", False),
        ("/cal/ann/work/", "Work & Play", True),
    ]
    assert calendars[0].url == "https://h/cal/ann/Team%20Plan/"
    assert calendars[0].sync_token == "t1"


def _calendar(path: str, name: str) -> Calendar:
    return Calendar(url=f"https://h{path}", path=path, name=name)


def test_select_by_name_slug_or_path_and_refuse_unknown_names() -> None:
    calendars = [_calendar("/c/a/", "Alpha"), _calendar("/c/b/", "Beta"), _calendar("/c/g/", "G")]
    assert select(calendars, []) == tuple(calendars)
    chosen = select(calendars, ["Beta", "a", "/c/g"])
    assert [c.name for c in chosen] == ["Alpha", "Beta", "G"]
    with pytest.raises(ConfigError, match=r"'Delta'.*'Alpha', 'Beta', 'G'"):
        select(calendars, ["Delta", "Alpha"])


def test_path_of_decodes_and_drops_scheme_and_host() -> None:
    assert path_of("https://h:8443/dav/Team%20Plan/x.ics") == "/dav/Team Plan/x.ics"
    assert path_of("/dav/Team Plan/x.ics") == "/dav/Team Plan/x.ics"
    assert path_of("") == "/"
