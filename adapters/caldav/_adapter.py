"""The CalDAV adapter: discovery, then events read whole or by what changed, per calendar.

A pass reads the calendars in path order. A full pass lists each calendar's events in the
window (calendar-query REPORT). An incremental pass asks each calendar what changed since its
state in the checkpoint: by sync token (sync-collection REPORT, RFC 6578) where the server
offers it, else by ctag, then etags; the changed objects still in the window are fetched
(calendar-multiget) and the others, and those gone, become tombstones. A calendar with no
state yet, or whose token the server no longer accepts, is read whole.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import anyio.to_thread

from adapters._contract import Adapter, AdapterContext
from adapters._errors import ConfigError, PermanentError, TransientError
from adapters._redact import redact_url
from adapters._values import (
    Batch,
    ConnectionInfo,
    HealthStatus,
    SyncKind,
    SyncRequest,
)
from adapters.caldav import _plan as plan
from adapters.caldav._discovery import (
    WELL_KNOWN,
    Calendar,
    Found,
    Step,
    calendars_in,
    path_of,
    read_start,
    select,
)
from adapters.caldav._driver import Dav, InvalidSyncToken
from adapters.caldav._ical import event_records
from adapters.caldav._settings import authorization, parse_settings
from adapters.caldav._state import (
    CalendarState,
    Cursor,
    Progress,
    dump_cursor,
    read_cursor,
    window,
)
from adapters.caldav._xml import (
    CALENDAR_PROPS,
    HOME_PROPS,
    START_PROPS,
    Multistatus,
    calendar_multiget,
    calendar_query,
)

ENTITY = "events"
MAX_SYNC_ROUNDS = 50  # sync-collection answers truncated (507) this often in a row: go on later


@dataclass(frozen=True, slots=True)
class Account:
    """What discovery found: the collection the health check asks, and the calendars."""

    home: str
    principal: str | None
    calendars: tuple[Calendar, ...]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CalDavAdapter(Adapter):
    name = "caldav"

    def __init__(
        self, context: AdapterContext, *, wall_clock: Callable[[], datetime] = _utc_now
    ) -> None:
        super().__init__(context)
        self.settings = parse_settings(context.integration_id, context.settings)
        secret = authorization(context.integration_id, self.settings, context.credentials)
        self._dav = Dav(context.http, secret, self.settings.timeout)
        self._wall_clock = wall_clock
        self._located: tuple[Step, str | None] | None = None

    async def connect(self) -> ConnectionInfo:
        account = await self.discover()
        parts = urlsplit(self.settings.url)
        who = self.settings.username or (account.principal and path_of(account.principal))
        names = ", ".join(calendar.name for calendar in account.calendars) or "no calendars"
        return ConnectionInfo(
            peer=f"{parts.scheme}://{parts.netloc} ({names})", account=who or None
        )

    async def health_check(self) -> HealthStatus:
        """A PROPFIND on the calendar home; a peer that fails or answers oddly is reported,
        refused credentials and a wrong URL are raised (they need the user, not time)."""
        clock = self.context.clock
        started = clock.now()
        try:
            home = self._located[0].url if self._located else (await self.discover()).home
            await self._dav.propfind(home, ("d:resourcetype",), depth=0, what="the calendar home")
        except (TransientError, PermanentError) as error:
            return HealthStatus(False, clock.now() - started, error.message)
        return HealthStatus(True, clock.now() - started, f"calendar home {path_of(home)} answers")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        unknown = [entity for entity in request.entities if entity != ENTITY]
        if unknown:
            raise ConfigError(f"the CalDAV adapter has no entity {unknown[0]!r}; it has {ENTITY!r}")
        async for batch in self._events(request.kind, read_cursor(request.checkpoint(ENTITY))):
            yield batch

    # -- discovery -------------------------------------------------------------------------

    async def discover(self) -> Account:
        """Principal -> calendar home -> calendars (RFC 4791 section 6, RFC 6764). Where the
        calendars live is found once; each call lists them again (fresh ctags and tokens)."""
        if self._located is None:
            self._located = await self._locate()
        place, principal = self._located
        if place.found is Found.CALENDAR:
            answer = await self._dav.propfind(
                place.url, CALENDAR_PROPS, depth=0, what="the calendar"
            )
            calendar = read_start(answer, place.url).calendar
            if calendar is None:
                raise ConfigError(f"{redact_url(place.url)} is no longer a calendar of events")
            calendars: tuple[Calendar, ...] = (calendar,)
        else:
            listing = await self._dav.propfind(
                place.url, CALENDAR_PROPS, depth=1, what="the calendar home"
            )
            calendars = calendars_in(listing, place.url)
        return Account(place.url, principal, select(calendars, self.settings.calendars))

    async def _locate(self) -> tuple[Step, str | None]:
        """The calendar home (or the one calendar) the URL leads to, and the principal."""
        url = self.settings.url
        step = await self._start(url)
        if step.found is Found.NOTHING and path_of(url) == "/":
            step = await self._start(urljoin(url, WELL_KNOWN))  # only a host was given
        principal = None
        if step.found is Found.PRINCIPAL:
            principal = step.url
            answer = await self._dav.propfind(principal, HOME_PROPS, depth=0, what="the principal")
            step = read_start(answer, principal)
        if step.found not in (Found.HOME, Found.CALENDAR):
            raise ConfigError(
                f"{redact_url(url)}: no CalDAV calendars found there (no principal, calendar "
                "home or calendar); check the URL"
            )
        return step, principal

    async def _start(self, url: str) -> Step:
        """What a PROPFIND on `url` finds; a 404, a refused method or an answer that is no
        WebDAV is nothing (refused credentials are raised)."""
        try:
            answer = await self._dav.propfind(url, START_PROPS, depth=0, what="the URL")
        except (ConfigError, PermanentError):
            return Step(Found.NOTHING)
        return read_start(answer, url)

    # -- a pass ------------------------------------------------------------------------------

    async def _events(self, kind: SyncKind, cursor: Cursor) -> AsyncGenerator[Batch, None]:
        """Batches of whole pages; one is held back until the next is known, so that the
        last one is `complete` and an empty calendar only moves the checkpoint on."""
        account = await self.discover()
        span = window(
            self._wall_clock(), self.settings.window_past_days, self.settings.window_future_days
        )
        progress, visits = plan.start(cursor, kind, account.calendars, span)
        current = {calendar.path for calendar in account.calendars}
        committed = {path: s for path, s in cursor.calendars.items() if path in current}
        held = plan.HeldBack()
        for visit in visits:
            outcome = await self._read(visit, progress, kind)
            state = outcome.state
            if visit.pending is not None:
                state = plan.resumed(visit.pending, state)
            rest = plan.rest_after(outcome.records, visit.after)
            steps, committed = plan.calendar_steps(
                progress,
                committed,
                visit.calendar.path,
                rest,
                state=state,
                size=self.settings.page_size,
            )
            for records, step in steps:
                ready = held.push(records, step)
                if ready is not None:
                    yield Batch(ENTITY, ready[0], dump_cursor(ready[1]))
        last = Cursor(calendars=committed)
        yield Batch(ENTITY, held.records, dump_cursor(last), complete=True)

    async def _read(self, visit: plan.Visit, progress: Progress, kind: SyncKind) -> plan.Outcome:
        """One calendar's records and new state: listed whole, or what changed."""
        calendar, state = visit.calendar, visit.state
        by_token = self.settings.use_sync_collection and calendar.sync_supported
        known = state is not None and (state.token if by_token else state.etags) is not None
        if kind is SyncKind.FULL or state is None or not known:
            return await self._list(calendar, progress, by_token, state)
        if by_token:
            try:
                return await self._token_changes(calendar, state, progress)
            except InvalidSyncToken:
                return await self._list(calendar, progress, by_token, state)
        return await self._ctag_changes(calendar, state, progress)

    async def _list(
        self, calendar: Calendar, progress: Progress, by_token: bool, before: CalendarState | None
    ) -> plan.Outcome:
        token = None
        if by_token:
            token = calendar.sync_token or await self._initial_token(calendar)
        body = calendar_query(progress.window_start, progress.window_end, with_data=True)
        answer = await self._dav.report(calendar.url, body, what=_what(calendar))
        objects = await self._objects(calendar, answer)
        return plan.listed(
            objects, token=token, ctag=calendar.ctag, keep_etags=not by_token, before=before
        )

    async def _initial_token(self, calendar: Calendar) -> str | None:
        """A server that offers sync-collection but no `sync-token` property: the initial
        sync-collection answer carries the token (its listing we need not)."""
        answer = await self._dav.sync_collection(calendar.url, None, what=_what(calendar))
        return answer.sync_token

    async def _token_changes(
        self, calendar: Calendar, state: CalendarState, progress: Progress
    ) -> plan.Outcome:
        changed: dict[str, str] = {}
        gone: set[str] = set()
        token = state.token
        for _ in range(MAX_SYNC_ROUNDS):
            answer = await self._dav.sync_collection(calendar.url, token, what=_what(calendar))
            truncated = False
            for response in answer.responses:
                path = path_of(response.href)
                if path.rstrip("/") == calendar.path.rstrip("/"):
                    truncated = truncated or response.status == 507
                elif response.status == 404:
                    gone.add(path)
                    changed.pop(path, None)
                else:
                    changed[path] = response.href
                    gone.discard(path)
            token = answer.sync_token or token
            if not truncated:
                break
        if not changed and not gone:
            return plan.Outcome(
                (), state.model_copy(update={"token": token, "ctag": calendar.ctag})
            )
        in_window = await self._window(calendar, progress) if changed else {}
        wanted = {path: href for path, href in changed.items() if path in in_window}
        fetched, missing = await self._multiget(calendar, wanted)
        gone |= set(changed) - set(wanted)
        return plan.changed(
            state, fetched, gone | missing, token=token, ctag=calendar.ctag, in_window=None
        )

    async def _ctag_changes(
        self, calendar: Calendar, state: CalendarState, progress: Progress
    ) -> plan.Outcome:
        if calendar.ctag is not None and calendar.ctag == state.ctag:
            return plan.Outcome((), state)
        in_window = await self._window(calendar, progress)
        etags = {path: etag for path, (_, etag) in in_window.items()}
        changed, gone = plan.etag_changes(state.etags or {}, etags)
        wanted = {path: in_window[path][0] for path in changed}
        fetched, missing = await self._multiget(calendar, wanted)
        return plan.changed(
            state,
            fetched,
            {*gone, *missing},
            token=None,
            ctag=calendar.ctag,
            in_window=etags,
            asked=changed,
        )

    # -- reading objects -----------------------------------------------------------------------

    async def _window(self, calendar: Calendar, progress: Progress) -> dict[str, tuple[str, str]]:
        """The objects with an instance in the window: path -> (href, etag). The server
        expands recurrences, so this agrees with what a full pass lists."""
        body = calendar_query(progress.window_start, progress.window_end, with_data=False)
        answer = await self._dav.report(calendar.url, body, what=_what(calendar))
        return {
            path_of(r.href): (r.href, r.text("d:getetag") or "")
            for r in answer.responses
            if r.status is None and path_of(r.href).rstrip("/") != calendar.path.rstrip("/")
        }

    async def _multiget(
        self, calendar: Calendar, hrefs: Mapping[str, str]
    ) -> tuple[list[plan.Fetched], set[str]]:
        """The objects at `hrefs` (path -> href), and the paths the server says are gone."""
        fetched: list[plan.Fetched] = []
        gone: set[str] = set()
        ordered = [hrefs[path] for path in sorted(hrefs)]
        for start in range(0, len(ordered), self.settings.page_size):
            body = calendar_multiget(ordered[start : start + self.settings.page_size])
            answer = await self._dav.report(calendar.url, body, what=_what(calendar))
            gone.update(path_of(r.href) for r in answer.responses if r.status == 404)
            fetched += await self._objects(calendar, answer)
        return fetched, gone

    async def _objects(self, calendar: Calendar, answer: Multistatus) -> list[plan.Fetched]:
        """The calendar objects in an answer, parsed in a worker thread (a big calendar's
        iCalendar takes a while, the event loop stays free)."""
        items = [
            (path_of(r.href), r.href, r.text("d:getetag"), text)
            for r in answer.responses
            if (text := r.raw_text("c:calendar-data")) is not None
        ]
        return await anyio.to_thread.run_sync(_parse_all, calendar.path, items)


def _parse_all(
    calendar: str, items: Iterable[tuple[str, str, str | None, str]]
) -> list[plan.Fetched]:
    return [
        plan.Fetched(path, href, etag, event_records(calendar, path, text))
        for path, href, etag, text in items
    ]


def _what(calendar: Calendar) -> str:
    return f"the calendar {calendar.name!r}"
