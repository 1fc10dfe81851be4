"""The CalDAV adapter against an in-memory server, for what Radicale does not do on demand:
no sync-collection (ctag/etag), truncated sync answers, no sync-token property, objects gone
between listing and fetching, `/.well-known/caldav`, bearer tokens, the requests' shape."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree.ElementTree import fromstring  # our own request body

import pytest

from adapters import AuthError, Batch, ConfigError, SourceRecord, SyncKind, SyncRequest
from adapters.caldav import CalDavAdapter
from tests.adapters.caldav.fake import BASE, HOME, FakeDav, scripted_context
from tests.adapters.caldav.ics import day, simple
from tests.adapters.conformance import collect

EVENTS = ("events",)


def _dav(**options: object) -> FakeDav:
    dav = FakeDav(**options)  # type: ignore[arg-type]
    work = dav.calendar("work", "Work")
    for n in range(3):
        work.put(f"{n}.ics", simple(f"u{n}", day(n + 1), f"Event {n}"))
    return dav


def _adapter(dav: FakeDav, **settings: object) -> CalDavAdapter:
    return CalDavAdapter(scripted_context(dav, **settings))  # type: ignore[arg-type]


async def _sync(
    adapter: CalDavAdapter, kind: SyncKind, after: list[Batch] | None = None
) -> list[Batch]:
    checkpoints = {"events": after[-1].checkpoint} if after else {}
    return await collect(adapter, SyncRequest(EVENTS, kind, checkpoints))


def _records(batches: list[Batch]) -> dict[str, SourceRecord]:
    return {r.external_id: r for b in batches for r in b.records}


def _changes(batches: list[Batch]) -> list[tuple[str, bool]]:
    return sorted((key, r.deleted) for key, r in _records(batches).items())


def _href(name: str) -> str:
    return f"{HOME}work/{name}"


async def test_requests_are_propfind_and_report_with_depth_and_xml() -> None:
    dav = _dav()
    adapter = _adapter(dav)
    await _sync(adapter, SyncKind.FULL)
    assert dav.kinds() == [
        "PROPFIND / propfind",
        "PROPFIND /principals/ann/ propfind",
        "PROPFIND /calendars/ann/ propfind",
        "REPORT /calendars/ann/work/ calendar-query",
    ]
    depths = [r.headers["Depth"] for r in dav.requests]
    assert depths == ["0", "0", "1", "1"]
    assert {r.headers["Content-Type"] for r in dav.requests} == {'application/xml; charset="utf-8"'}
    dav.requests.clear()
    await _sync(adapter, SyncKind.FULL)  # the home is known now: one PROPFIND lists it
    assert dav.kinds() == [
        "PROPFIND /calendars/ann/ propfind",
        "REPORT /calendars/ann/work/ calendar-query",
    ]


async def test_without_sync_collection_changes_found_by_ctag_and_etag() -> None:
    dav = _dav(sync_collection=False)
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    assert sorted(_records(first)) == [_href("0.ics"), _href("1.ics"), _href("2.ics")]
    dav.requests.clear()
    quiet = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert _records(quiet) == {}
    assert not [k for k in dav.kinds() if k.startswith("REPORT")]  # the ctag said: nothing new
    work = dav.calendars["work"]
    work.put("1.ics", simple("u1", day(2), "Event 1 changed"))
    work.delete("2.ics")
    work.put("3.ics", simple("u3", day(3), "Event 3"))
    dav.requests.clear()
    changes = await _sync(adapter, SyncKind.INCREMENTAL, quiet)
    assert _changes(changes) == [
        (_href("1.ics"), False),
        (_href("2.ics"), True),
        (_href("3.ics"), False),
    ]
    assert dav.kinds()[-2:] == [
        "REPORT /calendars/ann/work/ calendar-query",
        "REPORT /calendars/ann/work/ calendar-multiget",
    ]
    assert _records(changes)[_href("1.ics")].data["summary"] == "Event 1 changed"
    assert _records(await _sync(adapter, SyncKind.INCREMENTAL, changes)) == {}


async def test_truncated_sync_answers_are_followed_to_the_end() -> None:
    dav = _dav(truncate_after=2)
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    work = dav.calendars["work"]
    for n in range(5):
        work.put(f"n{n}.ics", simple(f"n{n}", day(1), f"New {n}"))
    work.delete("0.ics")
    dav.requests.clear()
    changes = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert len(_records(changes)) == 6
    assert dav.kinds().count("REPORT /calendars/ann/work/ sync-collection") == 3
    assert _records(await _sync(adapter, SyncKind.INCREMENTAL, changes)) == {}


async def test_sync_token_taken_from_an_initial_report_when_no_property_gives_it() -> None:
    dav = _dav(sync_token_property=False)
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    assert "REPORT /calendars/ann/work/ sync-collection" in dav.kinds()
    dav.calendars["work"].delete("1.ics")
    changes = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert _changes(changes) == [(_href("1.ics"), True)]


async def test_object_gone_before_it_is_fetched_is_a_tombstone() -> None:
    dav = _dav()
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    dav.calendars["work"].put("0.ics", simple("u0", day(1), "Changed"))
    dav.vanish.add("0.ics")
    changes = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert _changes(changes) == [(_href("0.ics"), True)]


async def test_token_refused_reads_the_calendar_again() -> None:
    dav = _dav()
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    work = dav.calendars["work"]
    work.put("3.ics", simple("u3", day(3), "Event 3"))
    work.oldest_token = work.revision  # the server forgot the history
    dav.requests.clear()
    again = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert sorted(_records(again)) == [_href(f"{n}.ics") for n in range(4)]
    assert dav.kinds()[-2:] == [
        "REPORT /calendars/ann/work/ sync-collection",
        "REPORT /calendars/ann/work/ calendar-query",
    ]
    assert _records(await _sync(adapter, SyncKind.INCREMENTAL, again)) == {}


async def test_object_left_the_window_is_a_tombstone_by_ctag_too() -> None:
    dav = _dav(sync_collection=False)
    adapter = _adapter(dav)
    first = await _sync(adapter, SyncKind.FULL)
    dav.calendars["work"].put("2.ics", simple("u2", day(900), "Far"), in_window=False)
    changes = await _sync(adapter, SyncKind.INCREMENTAL, first)
    assert _changes(changes) == [(_href("2.ics"), True)]


async def test_well_known_caldav_when_the_root_does_not_say() -> None:
    dav = _dav(root_knows_principal=False)
    account = await _adapter(dav).discover()
    assert [c.name for c in account.calendars] == ["Work"]
    assert "PROPFIND /.well-known/caldav propfind" in dav.kinds()
    assert account.principal == f"{BASE}/principals/ann/"


async def test_bearer_token_when_there_is_no_password() -> None:
    dav = _dav(authorization="Bearer tok-abc-123")
    context = scripted_context(dav, credentials={"token": "tok-abc-123"}, username="")
    assert (await CalDavAdapter(context).health_check()).ok
    refused = scripted_context(_dav(), credentials={"token": "tok-abc-123"}, username="")
    with pytest.raises(AuthError) as caught:
        await CalDavAdapter(refused).connect()
    assert "tok-abc-123" not in str(caught.value)


def test_credentials_and_settings_checked_when_built() -> None:
    with pytest.raises(ConfigError, match="neither a 'password' nor a 'token'"):
        CalDavAdapter(scripted_context(_dav(), credentials={}))
    with pytest.raises(ConfigError, match="needs the username"):
        CalDavAdapter(scripted_context(_dav(), credentials={"password": "pw"}, username=""))
    with pytest.raises(ConfigError, match="url"):
        CalDavAdapter(scripted_context(_dav(), url="ftp://dav.example/"))
    with pytest.raises(ConfigError, match=r"url.*credentials") as caught:
        CalDavAdapter(scripted_context(_dav(), url="https://ann:hunter22@dav.example/"))
    assert "hunter22" not in str(caught.value)
    with pytest.raises(ConfigError, match="window_future_days"):
        CalDavAdapter(scripted_context(_dav(), window_future_days=0))


async def test_window_asked_for_is_whole_days_around_the_wall_clock() -> None:
    dav = _dav()
    noon = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    context = scripted_context(dav, window_past_days=7, window_future_days=30)
    await collect(CalDavAdapter(context, wall_clock=lambda: noon), SyncRequest(EVENTS))
    query = fromstring(dav.requests[-1].body or b"")
    time_range = next(query.iter("{urn:ietf:params:xml:ns:caldav}time-range"))
    assert time_range.attrib == {"start": "20260303T000000Z", "end": "20260410T000000Z"}
