"""The NATS JetStream bus: durable, shared with the API, the dashboard and outside subscribers.

Publishing is a JetStream publish to `hub.events.{integration_id}.{name}` in stream
`HUB_EVENTS`, with `Nats-Msg-Id` = the event id, awaited until the PubAck: only then has the
event been stored, and only then may the relay mark it sent. The stream deduplicates by that id
within its duplicate window, so the relay may retry a publish whose ack it never saw.

`send` is the pipelined form the relay uses: it writes the publish to the connection and
returns a `NatsAck` at once, so a batch of publishes goes out in order before the first ack is
awaited (one round trip per batch instead of one per event). `NatsAck.acked()` raises what
`publish` would have raised, the ack timeout counted from the send. The acks come back on one
reply subscription of the bus's own (`{inbox}.{n}`, `n` counting sends): an arriving ack is
noted in its `NatsAck`, and a future exists only for an ack awaited before it came. This is
what nats-py's `publish_async` does, without its per-publish future, semaphore, random token
and PubAck object: 10k publishes and their acks take about half the time they take through
`publish_async` (see BENCHMARKS.md).

While the connection is down the client reconnects for ever (`max_reconnect_attempts=-1`);
a publish meanwhile fails at once with `BusUnavailable` instead of queueing in the client's
buffer, so the relay's backoff, not the client, paces the retries. Subscriptions are plain
core-NATS subscriptions: the lowest latency and no server-side state; the client renews them
after a reconnect. They see every publish on the subject, so a retried publish can arrive
twice; the subscription's buffer drops an id it has just seen.

`_translate` is the only place where a `nats` exception is looked at: every one becomes a
`BusError` (`BusUnavailable` when retrying later can help).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import nats
import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js.api import DiscardPolicy, PubAck, RetentionPolicy, StorageType, StreamConfig

from runtime._clock import SYSTEM_CLOCK, Clock, fail_after
from runtime._errors import describe
from runtime.bus._errors import BusClosed, BusError, BusUnavailable, InvalidEvent
from runtime.bus._event import SUBJECT_PREFIX, CloudEvent, from_json, subject_filter, subject_for
from runtime.bus._event import to_json as event_json
from runtime.bus._relay import OutboxEvent
from runtime.bus._subscription import DEFAULT_BUFFER_SIZE, BufferedSubscription
from runtime.telemetry import current_traceparent

log = logging.getLogger("runtime.bus")

STREAM_NAME = "HUB_EVENTS"
_EXPECTED_STREAM = "Nats-Expected-Stream"  # JetStream refuses a publish another stream takes
_NO_RESPONDERS = "503"  # the `Status` header of a reply no JetStream stream sent

# What `_translated` turns into a `BusError`.
_TRANSLATED: tuple[type[BaseException], ...] = (TimeoutError, nats.errors.Error, OSError)

# Worth retrying: the server is away or busy (timeouts and "no responders" are told apart).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    nats.js.errors.ServiceUnavailableError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoServersError,
    OSError,
)


@dataclass(frozen=True, slots=True)
class NatsOptions:
    stream: str = STREAM_NAME
    connect_timeout: float = 2.0  # per attempt, and for the first connection as a whole
    ack_timeout: float = 2.0
    reconnect_wait: float = 0.5
    duplicate_window: float = 120.0
    max_age: float = 7 * 24 * 3600.0  # stored events expire after a week
    subscriber_buffer: int = DEFAULT_BUFFER_SIZE
    client_name: str = "integration-hub"

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "ack_timeout", "reconnect_wait", "duplicate_window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True, slots=True)
class NatsBusStatistics:
    connected: bool
    reconnects: int
    published: int
    duplicates: int  # publishes the stream recognised as already stored
    failures: int
    last_error: str | None
    subscribers: int


class NatsBus:
    """Use `NatsBus.connect` (or `open_bus`); `close()` when done."""

    def __init__(self, url: str, options: NatsOptions | None = None) -> None:
        self._url = url
        self._options = options or NatsOptions()
        self._where = _host_port(url)
        self._nc = Client()
        self._js = self._nc.jetstream(timeout=self._options.ack_timeout)
        self._stream_ready = False
        self._closed = False
        self._subscribers: set[BufferedSubscription] = set()
        self._reconnects = 0
        self._published = 0
        self._duplicates = 0
        self._failures = 0
        self._last_error: str | None = None
        self._ack_inbox = ""  # `send`'s reply subjects are `{inbox}.{n}`; "" until the first
        self._acks: dict[int, NatsAck] = {}  # sent, ack not yet arrived nor abandoned
        self._sends = 0

    @classmethod
    async def connect(
        cls, url: str, options: NatsOptions | None = None, *, clock: Clock = SYSTEM_CLOCK
    ) -> NatsBus:
        """A connected bus whose stream exists; `BusUnavailable` if NATS cannot be reached
        within `options.connect_timeout`. Once connected, it reconnects for ever."""
        bus = cls(url, options)
        try:
            await bus._start(clock)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await bus.close()
            raise
        return bus

    async def _start(self, clock: Clock) -> None:
        options = self._options
        settings: dict[str, Any] = {
            "name": options.client_name,
            "connect_timeout": options.connect_timeout,
            "reconnect_time_wait": options.reconnect_wait,
            "max_reconnect_attempts": -1,
            "error_cb": self._on_error,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
        }
        try:
            with fail_after(clock, options.connect_timeout), self._translated("connect"):
                await self._nc.connect(self._url, **settings)
        except TimeoutError:
            raise BusUnavailable(
                f"cannot reach NATS at {self._where} within {options.connect_timeout} s"
            ) from None
        await self._ensure_stream()

    @property
    def messaging_system(self) -> str:
        return "nats"

    async def publish(self, event: CloudEvent) -> None:
        headers = await self._ready_to_publish(event)
        with self._translated("publish"):
            ack = await self._js.publish(
                subject_for(event),
                event_json(event),
                timeout=self._options.ack_timeout,
                stream=self._options.stream,
                headers=headers,
            )
        self._note_ack(ack)

    async def send(self, event: OutboxEvent, traceparent: str | None) -> NatsAck:
        """Write the publish and return without waiting for its ack (see the module doc);
        `traceparent` goes in its headers.

        Raises like `publish` when the publish cannot even be written."""
        await self._check_ready()
        if not self._ack_inbox:
            await self._subscribe_acks()
        headers = {"Nats-Msg-Id": event.id, _EXPECTED_STREAM: self._options.stream}
        if traceparent is not None:
            headers["traceparent"] = traceparent
        self._sends += 1
        token = self._sends
        ack = NatsAck(self, token, asyncio.get_running_loop().time() + self._options.ack_timeout)
        self._acks[token] = ack
        try:
            await self._nc.publish(
                event.subject, event.json(), reply=f"{self._ack_inbox}.{token}", headers=headers
            )
        except BaseException as error:
            del self._acks[token]
            if isinstance(error, _TRANSLATED):
                raise self._error("publish", error) from error
            raise
        return ack

    async def _subscribe_acks(self) -> None:
        inbox = self._nc.new_inbox()
        with self._translated("subscribe"):
            await self._nc.subscribe(f"{inbox}.*", cb=self._on_ack)
        self._ack_inbox = inbox

    async def _on_ack(self, message: Msg) -> None:
        """JetStream's answer to a `send`: noted in its `NatsAck` (unless abandoned)."""
        try:
            token = int(message.subject.rpartition(".")[2])
        except ValueError:
            return
        ack = self._acks.pop(token, None)
        if ack is not None:
            ack.arrived(_ack_outcome(message))

    async def _ready_to_publish(self, event: CloudEvent) -> dict[str, str]:
        """The publish's headers, once the bus is open, connected and its stream exists."""
        await self._check_ready()
        headers = {"Nats-Msg-Id": event.id}
        if traceparent := current_traceparent() or event.traceparent:
            headers["traceparent"] = traceparent
        return headers

    async def _check_ready(self) -> None:
        """Return once the bus is open, connected and its stream exists."""
        if self._closed:
            raise BusClosed
        if not self._nc.is_connected:
            raise self._failed(
                BusUnavailable(f"not connected to NATS at {self._where} (reconnecting)")
            )
        if not self._stream_ready:
            await self._ensure_stream()

    def _note_ack(self, ack: PubAck) -> None:
        self._note_stored(duplicate=bool(ack.duplicate))

    def _note_stored(self, *, duplicate: bool) -> None:
        self._published += 1
        if duplicate:
            self._duplicates += 1

    @asynccontextmanager
    async def subscribe(
        self, integration_id: str | None = None
    ) -> AsyncIterator[BufferedSubscription]:
        subject = subject_filter(integration_id)
        if self._closed:
            raise BusClosed
        subscriber = BufferedSubscription(self._options.subscriber_buffer)

        async def deliver(message: Msg) -> None:
            try:
                subscriber.offer(from_json(message.data))
            except InvalidEvent as error:
                subscriber.note_invalid()
                log.debug(
                    "ignored a message on %s that is no hub event: %s", message.subject, error
                )

        with self._translated("subscribe"):
            nats_subscription = await self._nc.subscribe(subject, cb=deliver)
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            subscriber.close()
            with anyio.CancelScope(shield=True):
                await self._unsubscribe(nats_subscription)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.close()
        acks, self._acks = self._acks, {}
        for ack in acks.values():
            ack.arrived(nats.errors.ConnectionClosedError())
        try:
            await self._nc.close()
        except (nats.errors.Error, OSError) as error:
            log.debug("closing the NATS connection: %s", describe(error))

    def statistics(self) -> NatsBusStatistics:
        return NatsBusStatistics(
            connected=self._nc.is_connected,
            reconnects=self._reconnects,
            published=self._published,
            duplicates=self._duplicates,
            failures=self._failures,
            last_error=self._last_error,
            subscribers=len(self._subscribers),
        )

    async def _ensure_stream(self) -> None:
        """Create the stream, or bring an existing one to our configuration."""
        wanted = StreamConfig(
            name=self._options.stream,
            subjects=[f"{SUBJECT_PREFIX}.>"],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            storage=StorageType.FILE,
            duplicate_window=self._options.duplicate_window,
            max_age=self._options.max_age,
        )
        with self._translated("set up the stream"):
            try:
                current = (await self._js.stream_info(self._options.stream)).config
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(wanted)
            else:
                if _differs(current, wanted):
                    log.info("updating stream %s to the hub's configuration", wanted.name)
                    await self._js.update_stream(wanted)
        self._stream_ready = True

    async def _unsubscribe(self, subscription: NatsSubscription) -> None:
        if self._closed:
            return
        try:
            await subscription.unsubscribe()
        except (nats.errors.Error, OSError) as error:
            log.debug("unsubscribing: %s", describe(error))

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            yield
        except _TRANSLATED as error:
            raise self._error(action, error) from error

    def _error(self, action: str, error: BaseException) -> BusError:
        """The `BusError` to raise for `error` (counted as a failure)."""
        return self._failed(self._translate(action, error))

    def _failed(self, error: BusError) -> BusError:
        self._failures += 1
        self._last_error = describe(error)
        return error

    def _translate(self, action: str, error: BaseException) -> BusError:
        if self._closed:
            return BusClosed()
        if isinstance(error, nats.js.errors.NoStreamResponseError | nats.errors.NoRespondersError):
            self._stream_ready = False  # deleted under us, or JetStream starting: set up again
        return _translate_error(action, error, self._where)

    async def _on_error(self, error: Exception) -> None:
        self._last_error = describe(error)
        log.debug("NATS client error: %s", self._last_error)

    async def _on_disconnected(self) -> None:
        if not self._closed:
            log.warning("disconnected from NATS at %s; reconnecting", self._where)

    async def _on_reconnected(self) -> None:
        self._reconnects += 1
        log.warning("reconnected to NATS at %s", self._where)


class NatsAck:
    """The pending ack of one `NatsBus.send`."""

    __slots__ = ("_bus", "_deadline", "_outcome", "_token", "_waiter")

    def __init__(self, bus: NatsBus, token: int, deadline: float) -> None:
        self._bus = bus
        self._token = token
        self._deadline = deadline  # loop time
        self._outcome: bool | BaseException | None = None  # stored (duplicate?), or why not
        self._waiter: asyncio.Future[None] | None = None  # only while awaited before it came

    async def acked(self) -> None:
        """Return once JetStream has stored the event; `BusUnavailable` if it did not answer
        by the deadline (the event may still have been stored: resend it, the id dedupes)."""
        if self._outcome is None:
            try:
                await self._wait()
            except TimeoutError as error:
                raise self._bus._error("publish", error) from error
        outcome = self._outcome
        if isinstance(outcome, BaseException):
            raise self._bus._error("publish", outcome) from outcome
        self._bus._note_stored(duplicate=outcome is True)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout_at(self._deadline):
                await self._waiter
        except BaseException:
            self.abandon()
            raise
        finally:
            self._waiter = None

    def arrived(self, outcome: bool | BaseException) -> None:
        """JetStream answered (the bus calls this): stored (True: as a duplicate), or the
        error its reply means."""
        self._outcome = outcome
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def abandon(self) -> None:
        """Stop waiting for it (its outcome, if any, is discarded)."""
        self._bus._acks.pop(self._token, None)


def _ack_outcome(message: Msg) -> bool | BaseException:
    """What JetStream's reply to a publish says: stored (True: it had the id already), or
    the `nats` error `publish` would have raised."""
    if message.headers and message.headers.get("Status") == _NO_RESPONDERS:
        return nats.js.errors.NoStreamResponseError()
    try:
        reply = orjson.loads(message.data)
        if "error" in reply:
            nats.js.errors.APIError.from_error(reply["error"])  # raises the error's class
    except nats.errors.Error as error:
        return error
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        return nats.errors.Error(f"unreadable JetStream ack: {describe(error)}")
    if not isinstance(reply, dict) or "seq" not in reply:
        return nats.errors.Error(f"unreadable JetStream ack: {message.data[:200]!r}")
    return reply.get("duplicate") is True


def _translate_error(action: str, error: BaseException, where: str) -> BusError:
    """The `BusError` for a `nats` (or socket) error: `BusUnavailable` where retrying helps."""
    if isinstance(error, nats.js.errors.NoStreamResponseError):
        why = "no JetStream stream answers"
    elif isinstance(error, nats.errors.NoRespondersError):
        why = "JetStream does not answer (starting up, or the server runs without -js)"
    elif isinstance(error, TimeoutError):
        why = "no answer in time"
    elif isinstance(error, _UNAVAILABLE):
        why = describe(error)
    elif isinstance(error, nats.js.errors.APIError):
        return BusError(f"{action}: NATS refused: {error.description} (code {error.err_code})")
    else:
        return BusError(f"{action}: NATS at {where}: {describe(error)}")
    return BusUnavailable(f"{action}: NATS at {where}: {why}")


def _differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    return (
        sorted(current.subjects or []) != sorted(wanted.subjects or [])
        or current.duplicate_window != wanted.duplicate_window
        or current.max_age != wanted.max_age
        or current.storage != wanted.storage  # the server refuses this change, and says so
    )


def _host_port(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    try:
        port = parts.port or 4222
    except ValueError:
        return parts.netloc.rpartition("@")[2]
    return f"{parts.hostname}:{port}"
