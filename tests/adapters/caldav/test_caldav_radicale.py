"""The CalDAV adapter against a real Radicale: discovery, full and incremental syncs, time
zones, recurrence, errors, and the contract suite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import anyio
import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    Batch,
    ConfigError,
    RateLimited,
    SourceRecord,
    SyncKind,
    SyncRequest,
    TransientError,
)
from adapters.caldav import SPEC, CalDavAdapter
from tests.adapters.caldav.conftest import DavAccount, account_context, caldav_context
from tests.adapters.caldav.fake import (
    ONCE,
    closed_port_url,
    hang,
    scripted_context,
    status,
    timeout,
)
from tests.adapters.caldav.ics import BERLIN_TZ, berlin, day, local, simple, vcalendar, vevent
from tests.adapters.conformance import AdapterConformance, PeerFault, collect

EVENTS = ("events",)


def _records(batches: list[Batch]) -> dict[str, SourceRecord]:
    return {r.external_id: r for b in batches for r in b.records}


def _live(batches: list[Batch]) -> dict[str, SourceRecord]:
    return {key: r for key, r in _records(batches).items() if not r.deleted}


def _deleted(batches: list[Batch]) -> set[str]:
    return {key for key, r in _records(batches).items() if r.deleted}


async def _sync(
    adapter: CalDavAdapter, kind: SyncKind = SyncKind.FULL, after: list[Batch] | None = None
) -> list[Batch]:
    checkpoints = {"events": after[-1].checkpoint} if after else {}
    return await collect(adapter, SyncRequest(EVENTS, kind, checkpoints))


async def _seed(account: DavAccount) -> None:
    """Two calendars with events, one with tasks only (not synced), one empty."""
    await account.mkcalendar("work", "Work")
    await account.mkcalendar("home", "Home")
    await account.mkcalendar("tasks", "Tasks", ("VTODO",))
    await account.mkcalendar("empty", "Empty")
    for n in range(5):
        await account.put("work", f"w{n}.ics", simple(f"w{n}", day(n + 1), f"Work {n}"))
    await account.put("home", "h0.ics", berlin("h0", day(3), "Dentist"))
    await account.put("home", "h1.ics", simple("h1", day(4), "Groceries"))


@pytest.fixture
async def seeded(account: DavAccount) -> DavAccount:
    await _seed(account)
    return account


@pytest.fixture
async def adapter(seeded: DavAccount) -> AsyncIterator[CalDavAdapter]:
    context = account_context(seeded, page_size=2)
    try:
        yield CalDavAdapter(context)
    finally:
        await context.http.aclose()


class TestCalDavConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return SPEC

    @pytest.fixture
    async def context(self, seeded: DavAccount) -> AsyncIterator[AdapterContext]:
        context = account_context(seeded, page_size=2)
        try:
            yield context
        finally:
            await context.http.aclose()

    @pytest.fixture
    def hanging_context(self) -> AdapterContext:
        return scripted_context(hang)

    @pytest.fixture
    async def peer_faults(self, seeded: DavAccount) -> AsyncIterator[list[PeerFault]]:
        made: list[AdapterContext] = []

        def real(url: str, password: str = seeded.password) -> AdapterContext:
            context = caldav_context(url, {"password": password}, username=seeded.user, retry=ONCE)
            made.append(context)
            return context

        yield [
            PeerFault("password refused", AuthError, lambda: real(seeded.home, "wrong-pw-1234")),
            PeerFault("no such calendar", ConfigError, lambda: real(seeded.home + "nope/")),
            PeerFault("nobody listening", TransientError, lambda: real(closed_port_url())),
            PeerFault("server error", TransientError, lambda: scripted_context(status(500))),
            PeerFault("no answer", TransientError, lambda: scripted_context(timeout)),
            PeerFault("rate limited", RateLimited, lambda: scripted_context(status(429, "7")), 7.0),
            PeerFault("not CalDAV", ConfigError, lambda: scripted_context(status(200))),
        ]
        for context in made:
            await context.http.aclose()


async def test_discovery_from_root_finds_event_calendars_only(
    adapter: CalDavAdapter, seeded: DavAccount
) -> None:
    account = await adapter.discover()
    assert [c.name for c in account.calendars] == ["Empty", "Home", "Work"]
    assert account.home == seeded.home
    info = await adapter.connect()
    assert info.account == seeded.user
    assert "127.0.0.1" in info.peer


async def test_full_sync_reads_every_event_in_the_window(
    adapter: CalDavAdapter, seeded: DavAccount
) -> None:
    batches = await _sync(adapter)
    records = _live(batches)
    assert sorted(records) == sorted(
        [seeded.href("work", f"w{n}.ics") for n in range(5)]
        + [seeded.href("home", "h0.ics"), seeded.href("home", "h1.ics")]
    )
    work = records[seeded.href("work", "w2.ics")].data
    assert work["summary"] == "Work 2"
    assert work["uid"] == "w2"
    assert work["calendar"] == f"/{seeded.user}/work/"
    assert work["start"] == f"{day(3).isoformat()}T09:00:00+00:00"
    assert work["start_tzid"] == "UTC"
    assert [len(b.records) for b in batches] == [2, 2, 2, 1]
    assert batches[-1].complete


async def test_berlin_event_keeps_its_offset_and_tzid(
    adapter: CalDavAdapter, seeded: DavAccount
) -> None:
    when = day(3)
    dentist = _live(await _sync(adapter))[seeded.href("home", "h0.ics")].data
    offset = "+02:00" if _summer(when) else "+01:00"
    assert dentist["start"] == f"{when.isoformat()}T09:00:00{offset}"
    assert dentist["end"] == f"{when.isoformat()}T10:30:00{offset}"
    assert (dentist["start_tzid"], dentist["end_tzid"]) == ("Europe/Berlin", "Europe/Berlin")
    assert dentist["all_day"] is False


async def test_summer_and_winter_berlin_events_get_their_own_offsets(
    account: DavAccount,
) -> None:
    await account.mkcalendar("cal", "Cal")
    year = day(0).year + 1
    await account.put(
        "cal", "summer.ics", berlin("s", day(0).replace(year=year, month=7, day=1), "S")
    )
    await account.put(
        "cal", "winter.ics", berlin("w", day(0).replace(year=year, month=1, day=15), "W")
    )
    context = account_context(account, window_future_days=800)
    try:
        records = _live(await _sync(CalDavAdapter(context)))
    finally:
        await context.http.aclose()
    assert (
        records[account.href("cal", "summer.ics")].data["start"] == f"{year}-07-01T09:00:00+02:00"
    )
    assert (
        records[account.href("cal", "winter.ics")].data["start"] == f"{year}-01-15T09:00:00+01:00"
    )


@pytest.mark.parametrize("use_sync_collection", [True, False], ids=["sync-token", "ctag-etag"])
async def test_incremental_sync_sees_added_changed_and_deleted_events(
    seeded: DavAccount, use_sync_collection: bool
) -> None:
    context = account_context(seeded, use_sync_collection=use_sync_collection)
    adapter = CalDavAdapter(context)
    try:
        first = await _sync(adapter)
        unchanged = await _sync(adapter, SyncKind.INCREMENTAL, after=first)
        assert _records(unchanged) == {}
        await seeded.put("work", "w1.ics", simple("w1", day(2), "Work 1 moved", hour=14))
        await seeded.delete("work", "w3.ics")
        await seeded.put("home", "h2.ics", simple("h2", day(6), "New"))
        changes = await _sync(adapter, SyncKind.INCREMENTAL, after=unchanged)
        again = await _sync(adapter, SyncKind.INCREMENTAL, after=changes)
    finally:
        await context.http.aclose()
    live = _live(changes)
    assert sorted(live) == [seeded.href("home", "h2.ics"), seeded.href("work", "w1.ics")]
    assert live[seeded.href("work", "w1.ics")].data["summary"] == "Work 1 moved"
    assert (
        live[seeded.href("work", "w1.ics")].data["start"] == f"{day(2).isoformat()}T14:00:00+00:00"
    )
    assert _deleted(changes) == {seeded.href("work", "w3.ics")}
    assert _records(again) == {}
    assert changes[-1].complete


async def test_event_moved_out_of_the_window_is_a_tombstone(seeded: DavAccount) -> None:
    context = account_context(seeded, window_future_days=30)
    adapter = CalDavAdapter(context)
    try:
        first = await _sync(adapter)
        await seeded.put("work", "w0.ics", simple("w0", day(400), "Next year"))
        changes = await _sync(adapter, SyncKind.INCREMENTAL, after=first)
    finally:
        await context.http.aclose()
    assert seeded.href("work", "w0.ics") in _live(first)
    assert _deleted(changes) == {seeded.href("work", "w0.ics")}
    assert _live(changes) == {}


async def test_invalid_sync_token_resyncs_the_calendar(
    adapter: CalDavAdapter, seeded: DavAccount
) -> None:
    first = await _sync(adapter)
    cursor = json.loads(json.dumps(first[-1].checkpoint))
    for state in cursor["calendars"].values():
        state["token"] = "http://radicale.org/ns/sync/0000"
    resync = await collect(adapter, SyncRequest(EVENTS, SyncKind.INCREMENTAL, {"events": cursor}))
    assert sorted(_live(resync)) == sorted(_live(first))
    assert resync[-1].checkpoint == first[-1].checkpoint


async def test_recurring_event_keeps_rules_and_overrides_are_records(
    account: DavAccount,
) -> None:
    await account.mkcalendar("cal", "Cal")
    start = day(1)
    moved = day(8)
    text = vcalendar(
        vevent(
            "weekly",
            f"DTSTART;TZID=Europe/Berlin:{local(start, 9)}",
            f"DTEND;TZID=Europe/Berlin:{local(start, 10)}",
            "RRULE:FREQ=WEEKLY;COUNT=10",
            f"EXDATE;TZID=Europe/Berlin:{local(day(15), 9)}",
            summary="Stand-up",
        ),
        vevent(
            "weekly",
            f"RECURRENCE-ID;TZID=Europe/Berlin:{local(moved, 9)}",
            f"DTSTART;TZID=Europe/Berlin:{local(moved, 11)}",
            f"DTEND;TZID=Europe/Berlin:{local(moved, 12)}",
            summary="Stand-up (late)",
        ),
        timezones=[BERLIN_TZ],
    )
    await account.put("cal", "weekly.ics", text)
    context = account_context(account)
    adapter = CalDavAdapter(context)
    try:
        first = await _sync(adapter)
        master_only = vcalendar(
            vevent(
                "weekly",
                f"DTSTART;TZID=Europe/Berlin:{local(start, 9)}",
                f"DTEND;TZID=Europe/Berlin:{local(start, 10)}",
                "RRULE:FREQ=WEEKLY;COUNT=10",
                summary="Stand-up",
            ),
            timezones=[BERLIN_TZ],
        )
        await account.put("cal", "weekly.ics", master_only)
        second = await _sync(adapter, SyncKind.INCREMENTAL, after=first)
        await account.delete("cal", "weekly.ics")
        third = await _sync(adapter, SyncKind.INCREMENTAL, after=second)
    finally:
        await context.http.aclose()
    records = _live(first)
    master = records[account.href("cal", "weekly.ics")].data
    assert master["rrule"] == ["FREQ=WEEKLY;COUNT=10"]
    assert len(master["exdate"]) == 1  # type: ignore[arg-type]
    assert str(master["exdate"][0]).startswith(f"{day(15).isoformat()}T09:00:00+0")  # type: ignore[index]
    assert len(records) == 2  # the series and the one moved instance, not ten occurrences
    override_key = next(key for key in records if "#" in key)
    override = records[override_key].data
    assert override["uid"] == "weekly"
    assert override["summary"] == "Stand-up (late)"
    assert str(override["recurrence_id"]).startswith(f"{moved.isoformat()}T09:00:00+0")
    assert override_key.startswith(account.href("cal", "weekly.ics") + "#")
    assert override_key.endswith("Z")
    assert _deleted(second) == {override_key}
    assert _deleted(third) == {account.href("cal", "weekly.ics")}


async def test_wrong_password_is_auth_error_everywhere(seeded: DavAccount) -> None:
    context = caldav_context(
        seeded.server.url, {"password": "not-the-password"}, username=seeded.user
    )
    adapter = CalDavAdapter(context)
    try:
        with pytest.raises(AuthError, match="401"):
            await adapter.connect()
        with pytest.raises(AuthError):
            await _sync(adapter)
        with pytest.raises(AuthError):
            await adapter.health_check()
    finally:
        await context.http.aclose()


async def test_discovery_from_the_calendar_home_and_from_a_calendar(seeded: DavAccount) -> None:
    home = caldav_context(seeded.home, {"password": seeded.password}, username=seeded.user)
    one = caldav_context(
        seeded.calendar_url("home"), {"password": seeded.password}, username=seeded.user
    )
    try:
        from_home = await CalDavAdapter(home).discover()
        from_calendar = await CalDavAdapter(one).discover()
        records = _live(await _sync(CalDavAdapter(one)))
    finally:
        await home.http.aclose()
        await one.http.aclose()
    assert [c.name for c in from_home.calendars] == ["Empty", "Home", "Work"]
    assert [c.name for c in from_calendar.calendars] == ["Home"]
    assert sorted(records) == [seeded.href("home", "h0.ics"), seeded.href("home", "h1.ics")]


async def test_calendars_setting_picks_by_name_or_path(seeded: DavAccount) -> None:
    context = account_context(seeded, calendars=["Work", f"/{seeded.user}/home/"])
    try:
        account = await CalDavAdapter(context).discover()
    finally:
        await context.http.aclose()
    assert [c.name for c in account.calendars] == ["Home", "Work"]


async def test_calendar_not_there_is_config_error(seeded: DavAccount) -> None:
    named = account_context(seeded, calendars=["Holidays"])
    missing = caldav_context(
        seeded.calendar_url("gone"), {"password": seeded.password}, username=seeded.user
    )
    try:
        with pytest.raises(ConfigError, match=r"Holidays.*'Empty', 'Home', 'Work'"):
            await CalDavAdapter(named).connect()
        with pytest.raises(ConfigError, match="no CalDAV calendars found"):
            await CalDavAdapter(missing).connect()
    finally:
        await named.http.aclose()
        await missing.http.aclose()


async def test_health_check_asks_the_calendar_home(
    adapter: CalDavAdapter, seeded: DavAccount
) -> None:
    status = await adapter.health_check()
    assert status.ok
    assert 0 <= status.latency < 5
    assert status.detail == f"calendar home /{seeded.user}/ answers"


async def test_sync_cancelled_in_flight_leaves_no_task(adapter: CalDavAdapter) -> None:
    with anyio.move_on_after(0.001) as scope:
        await _sync(adapter)
    assert scope.cancelled_caught
    assert (await _sync(adapter))[-1].complete


def _summer(when: date) -> bool:
    """Whether 9:00 in Berlin on `when` is summer time (UTC+2)."""
    offset = datetime.combine(when, time(9), tzinfo=ZoneInfo("Europe/Berlin")).utcoffset()
    return offset == timedelta(hours=2)
