"""`GET /api/events`: the hub's events as Server-Sent Events, live from the bus.

Each event is one SSE message: `id:` the CloudEvent id, `event:` its short name
(`sync_completed`), `data:` the CloudEvent as JSON on one line. With `?integration=` only that
integration's events come.

Resuming: a client that sends `Last-Event-ID` (browsers do when they reconnect) first gets the
events the outbox holds after that one, then the live ones. The stream subscribes to the bus
*before* it reads the outbox, so an event committed while it reads is either in what it read
or in the subscription's buffer (usually both): no gap. Those read from the outbox are
remembered and skipped when the bus brings them too: no duplicate. An id the outbox no longer
knows (trimmed by retention) gets a comment saying so and the live events only.

A comment every `KEEPALIVE` seconds keeps proxies from closing an idle stream and notices a
client that went away. Streams end when the app shuts down (`on_shutdown` cancels them), since
aiohttp would otherwise wait for them; a stream is also over when the bus closes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import anyio
from aiohttp import web
from pydantic import ValidationError

from api._openapi_ops import EVENT_STREAM, Operation, Param, Reply
from api._problems import Problem
from api._rest_io import query_id
from runtime.bus import BusClosed, CloudEvent, Subscription, to_json
from runtime.store import EventRow, Store, StoreError

log = logging.getLogger("api.events")

KEEPALIVE = 15.0  # seconds between keep-alive comments on an idle stream
BACKLOG_PAGE = 500  # events read from the outbox at a time when resuming
RETRY_MS = 2000  # how long a browser waits before it reconnects
_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")


@dataclass(slots=True)
class _Streams:
    """The open streams' cancel scopes, cancelled at shutdown."""

    scopes: set[anyio.CancelScope] = field(default_factory=set)

    def cancel_all(self) -> None:
        for scope in self.scopes:
            scope.cancel()


STREAMS = web.AppKey("event_streams", _Streams)


def setup(app: web.Application) -> None:
    app[STREAMS] = _Streams()

    async def end_streams(app: web.Application) -> None:
        app[STREAMS].cancel_all()

    app.on_shutdown.append(end_streams)
    app.router.add_get(OPERATION.path, events)


async def events(request: web.Request) -> web.StreamResponse:
    # Imported here: `api._app` imports this module.
    from api._app import state_of  # noqa: PLC0415

    state = state_of(request)
    of = query_id(request, "integration")
    last_id = request.headers.get("Last-Event-ID")
    response = web.StreamResponse(
        headers={
            "Content-Type": EVENT_STREAM,
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # tell reverse proxies not to buffer the stream
        }
    )
    streams = request.app[STREAMS]
    scope = anyio.CancelScope()
    streams.scopes.add(scope)
    try:
        with scope:
            async with state.running.bus.subscribe(of) as live:
                await response.prepare(request)
                await response.write(f"retry: {RETRY_MS}\n\n".encode())
                sent = set[str]()
                if last_id is not None:
                    sent = await _backlog(response, state.store, last_id, of)
                await _live(response, live, sent)
    except BusClosed:
        if not response.prepared:
            raise Problem(503, "the hub is shutting down") from None
    except ConnectionResetError:  # the client went away (aiohttp's error derives from it)
        pass
    except StoreError as error:  # mid-stream: end it; the client resumes with Last-Event-ID
        if not response.prepared:
            raise
        log.warning("event stream ended: the outbox could not be read: %s", error)
    finally:
        streams.scopes.discard(scope)
    return response


async def _backlog(
    response: web.StreamResponse, store: Store, last_id: str, of: str | None
) -> set[str]:
    """Send the outbox's events after `last_id`; returns their ids."""
    seq = await store.event_seq(last_id) if _EVENT_ID.fullmatch(last_id) else None
    if seq is None:
        await response.write(b": Last-Event-ID is not known (any more); live events only\n\n")
        return set()
    sent: set[str] = set()
    async for row in _rows_after(store, seq):
        if of is not None and row.integration_id != of:
            continue
        event = _event_of(row)
        if event is not None:
            await response.write(frame(event))
            sent.add(event.id)
    return sent


async def _rows_after(store: Store, seq: int) -> AsyncIterator[EventRow]:
    while True:
        rows = await store.events_after(seq, BACKLOG_PAGE)
        for row in rows:
            yield row
        if len(rows) < BACKLOG_PAGE:
            return
        seq = rows[-1].seq


async def _live(response: web.StreamResponse, live: Subscription, sent: set[str]) -> None:
    """Send live events (skipping those sent from the outbox) until the bus closes."""
    iterator = aiter(live)
    while True:
        event: CloudEvent | None = None
        with anyio.move_on_after(KEEPALIVE):
            try:
                event = await anext(iterator)
            except StopAsyncIteration:
                return
        if event is None:
            await response.write(b": keep-alive\n\n")
        elif event.id in sent:
            sent.discard(event.id)  # seen once on each side of the seam; not again
        else:
            await response.write(frame(event))


def frame(event: CloudEvent) -> bytes:
    """One SSE message; the JSON is one line, so one `data:` field carries it."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        event.id.encode(),
        event.name.value.encode(),
        to_json(event),
    )


def _event_of(row: EventRow) -> CloudEvent | None:
    try:
        return CloudEvent.model_validate(
            {
                "id": row.id,
                "source": row.source,
                "type": row.type,
                "time": row.time,
                "traceparent": row.traceparent,
                "data": dict(row.data),
            }
        )
    except ValidationError:
        log.warning("outbox event %s is not a valid CloudEvent; not streamed", row.id)
        return None


def parse_stream(text: str) -> Iterable[dict[str, str]]:
    """The messages of an SSE text (comments and `retry:` left out): for tests and tools."""
    for block in text.split("\n\n"):
        message: dict[str, str] = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                message[name] = value.removeprefix(" ")
        if "data" in message:
            yield message


OPERATION = Operation(
    "GET",
    "/api/events",
    "streamEvents",
    "Live events as Server-Sent Events; resumes after Last-Event-ID",
    "events",
    {
        200: Reply(
            "An endless stream: `id:` event id, `event:` short name (e.g. sync_completed), "
            "`data:` the CloudEvent as JSON; a comment every 15 s keeps it open.",
            {"type": "string"},
            EVENT_STREAM,
        )
    },
    errors=(422, 503),
    handler=events,
    params=(
        Param(
            "integration",
            "query",
            {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_-]{0,62}$"},
            "Only this integration's events.",
        ),
        Param(
            "Last-Event-ID",
            "header",
            {"type": "string"},
            "Resume after this event: first the stored events after it, then live ones.",
        ),
    ),
)
