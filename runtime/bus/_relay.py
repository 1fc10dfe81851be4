"""The outbox relay: moves events from the store's outbox onto the bus, none lost, none reordered.

An event is written to the `events` outbox in the same transaction as the change it reports;
this relay publishes what is pending, oldest first, and marks events sent only after the bus
has acknowledged them (marked in batches, so the store sees one write per batch). When the bus
is unavailable it retries the *same* event with jittered exponential backoff and goes no
further, so the order holds; whatever was acknowledged before the wait is marked first. A
publish that failed may still have been stored: the retry carries the same id and the bus
deduplicates, so the worst case is a harmless duplicate, never a loss.

Over a bus that can pipeline (`PipelinedBus`: NATS) a batch goes out as a pipeline: every
publish of the batch is written in order, then the acks are awaited in order. Only the
acknowledged prefix is marked sent; from the first event whose publish or ack failed the relay
backs off and retries that event (same id) on its own, then pipelines the rest again. Events
after the failed one may already be stored by then: their resend is deduplicated by id, and
in the worst case they reach the stream ahead of the failed one, as any retried publish could.
A batch thus costs about one round trip instead of one per event (~2,500 events/s before).

While a backlog drains (a batch came back full), the store's work overlaps the publishing: a
round publishes its batch while, in the same task group, the previous round's acknowledged
events are marked and the next batch is read (`pending(limit, after=…)`: the events after this
batch, since this batch is not marked yet). A round's tasks end with the round; events are
still published in outbox order, one batch after the other, and marked only once acknowledged.
Whatever is acknowledged but not yet marked when the relay is cancelled is marked on the way
out (shielded, bounded), as before.

`notify()` wakes the relay at once when new events are committed (low latency without tight
polling); a slow safety poll catches a notify that never came (another process wrote them,
or the hub restarted with a backlog). Store errors are not retried here: they propagate, and
the relay's supervisor restarts it, which then resends what was not yet marked.

Per event the relay does as little as it can: the outbox hands over `OutboxEvent`s (the stored
fields, no model validation), the wire JSON is written once by orjson, and a publish span gets
its attributes only when it is recording (a tracer that records nothing costs no attribute
dict, and consecutive events of one trace share their parent context).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import chain
from typing import Protocol, runtime_checkable

import anyio
import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from runtime._clock import SYSTEM_CLOCK, Clock, move_on_after, sleep
from runtime._errors import describe, sole_error
from runtime._json import load_json
from runtime._supervision import Backoff
from runtime.bus._errors import BusClosed, BusError
from runtime.bus._event import SOURCE_PREFIX, SUBJECT_PREFIX, TYPE_PREFIX, CloudEvent, to_json
from runtime.bus._interface import EventBus
from runtime.telemetry import context_from_traceparent

# 0.2 s doubling to 5 s, +/- 20 %, so relays of several hubs do not retry in lockstep.
DEFAULT_RELAY_BACKOFF = Backoff(initial=0.2, factor=2.0, cap=5.0, jitter=0.2, immediate_first=False)
_MARK_ON_CANCEL_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as the outbox holds it: the CloudEvent's fields, already valid (every one was
    built by `new_event` or the store and checked on the way in), and its place `seq`.

    The relay publishes it without building the pydantic model: `json()` is the same JSON as
    `to_json(event.cloud_event())`, written by orjson; `cloud_event()` builds the model for a
    bus that hands events to in-process subscribers. `data` is a mapping, or the JSON text of
    one as the store keeps it (`json()` splices that text in unparsed, byte for byte, so the
    data's spacing and key order are the store's; `cloud_event()` parses it)."""

    seq: int
    id: str
    source: str
    type: str
    time: datetime
    traceparent: str | None
    data: Mapping[str, object] | str

    @classmethod
    def of(cls, event: CloudEvent, seq: int) -> OutboxEvent:
        return cls(
            seq, event.id, event.source, event.type, event.time, event.traceparent, event.data
        )

    @property
    def integration_id(self) -> str:
        return self.source.removeprefix(SOURCE_PREFIX)

    @property
    def subject(self) -> str:
        """The NATS subject, as `subject_for(self.cloud_event())` gives it."""
        return f"{SUBJECT_PREFIX}.{self.integration_id}.{self.type.removeprefix(TYPE_PREFIX)}"

    def json(self) -> bytes:
        """The CloudEvent JSON, byte for byte what `to_json` writes for the model."""
        fields: dict[str, object] = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "datacontenttype": "application/json",
        }
        if self.traceparent is not None:
            fields["traceparent"] = self.traceparent
        fields["data"] = orjson.Fragment(self.data) if isinstance(self.data, str) else self.data
        try:
            return orjson.dumps(fields, option=orjson.OPT_UTC_Z)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits, a mapping that is no dict
            return to_json(self.cloud_event())

    def cloud_event(self) -> CloudEvent:
        return CloudEvent.model_construct(
            id=self.id,
            source=self.source,
            type=self.type,
            time=self.time,
            traceparent=self.traceparent,
            data=load_json(self.data) if isinstance(self.data, str) else dict(self.data),
        )


class OutboxSource(Protocol):
    """The outbox as the relay sees it (the store implements it)."""

    async def pending(self, limit: int, after: int | None = None) -> Sequence[OutboxEvent]:
        """Up to `limit` unsent events, oldest first. With `after` (the `seq` of the last event
        the relay has taken), only the events after it: the relay reads ahead so while the
        events before are still being acknowledged or marked. Those may include events another
        relay marked sent meanwhile; sending one again is a duplicate the id dedupes."""

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        """Record that the bus has acknowledged these events."""


class PendingAck(Protocol):
    """One publish written to the bus, its ack not awaited yet."""

    async def acked(self) -> None:
        """Return once the bus has durably accepted the event; `BusError` if it did not."""

    def abandon(self) -> None:
        """Stop waiting for the ack."""


@runtime_checkable
class PipelinedBus(Protocol):
    """A bus that can write a publish without waiting for its ack (`NatsBus.send`)."""

    async def send(self, event: OutboxEvent, traceparent: str | None) -> PendingAck:
        """Write the publish; `traceparent` is the trace context its headers carry."""
        ...


class RelayState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    BACKING_OFF = "backing_off"  # the bus is unavailable; retrying the oldest pending event


@dataclass(frozen=True, slots=True)
class RelayStatistics:
    state: RelayState
    published: int
    failures: int  # publish attempts that failed
    last_error: str | None
    backlog_hint: int  # fetched but not yet published; a full batch may mean more waiting


class OutboxRelay:
    def __init__(
        self,
        source: OutboxSource,
        bus: EventBus,
        *,
        clock: Clock = SYSTEM_CLOCK,
        batch_size: int = 100,
        backoff: Backoff = DEFAULT_RELAY_BACKOFF,
        poll_interval: float = 1.0,
        tracer_provider: TracerProvider | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        self._source = source
        self._bus = bus
        self._clock = clock
        self._batch_size = batch_size
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._tracer = trace.get_tracer("runtime.bus", tracer_provider=tracer_provider)
        self._wall_clock = wall_clock
        self._rng = rng
        self._wakeup = anyio.Event()
        self._running = False
        self._state = RelayState.STOPPED
        self._published = 0
        self._failures = 0
        self._last_error: str | None = None
        self._backlog = 0
        self._acked: list[str] = []  # acknowledged, not yet handed to `mark_sent`
        self._marking: list[list[str]] = []  # handed to `mark_sent`, not yet returned
        self._parent_of: str | None = None  # the traceparent `_parent` was made from
        self._parent = Context()

    def notify(self) -> None:
        """New events were committed: look now rather than at the next poll."""
        if self._running:
            self._wakeup.set()

    def statistics(self) -> RelayStatistics:
        return RelayStatistics(
            state=self._state,
            published=self._published,
            failures=self._failures,
            last_error=self._last_error,
            backlog_hint=self._backlog,
        )

    async def run(self) -> None:
        """Relay until cancelled. `BusClosed` and store errors propagate."""
        if self._state is not RelayState.STOPPED:
            raise RuntimeError("the outbox relay is already running")
        self._state = RelayState.RUNNING
        self._running = True
        self._acked, self._marking = [], []
        try:
            await self._relay_forever()
        except anyio.get_cancelled_exc_class():
            ids = [*chain.from_iterable(self._marking), *self._acked]
            if ids:
                with (
                    anyio.CancelScope(shield=True),
                    move_on_after(self._clock, _MARK_ON_CANCEL_TIMEOUT),
                ):
                    await self._source.mark_sent(ids, self._wall_clock())
            raise
        finally:
            self._running = False
            self._state = RelayState.STOPPED

    async def _relay_forever(self) -> None:
        batch = await self._fetch()
        while True:
            if batch:
                following = await self._round(batch)
                await anyio.lowlevel.checkpoint()
                if following is not None:
                    batch = following
                    continue
            self._backlog = 0
            await self._mark_ids(self._take_acked())
            with move_on_after(self._clock, self._poll_interval):
                await self._wakeup.wait()
            batch = await self._fetch()

    async def _fetch(self, after: int | None = None) -> Sequence[OutboxEvent]:
        self._wakeup = anyio.Event()  # a notify from now on is for events this read may miss
        return await self._source.pending(self._batch_size, after)

    async def _round(self, batch: Sequence[OutboxEvent]) -> Sequence[OutboxEvent] | None:
        """Relay `batch`; meanwhile mark the previous round's acknowledged events and, if the
        batch is full, read the next one. Returns that next batch; None after a batch that was
        not full (everything is marked then, and the relay waits for a notify)."""
        self._backlog = len(batch)
        full = len(batch) >= self._batch_size
        earlier = self._take_acked()
        following: list[Sequence[OutboxEvent]] = []
        if not earlier and not full:
            await self._relay(batch)
        else:
            try:
                async with anyio.create_task_group() as tg:
                    if earlier:
                        tg.start_soon(self._mark_ids, earlier)
                    if full:
                        tg.start_soon(self._read_ahead, batch[-1].seq, following)
                    await self._relay(batch)
            except BaseExceptionGroup as group:
                raise sole_error(group) from None
        if not full:
            await self._mark_ids(self._take_acked())
            return None
        return following[0]

    async def _read_ahead(self, after: int, into: list[Sequence[OutboxEvent]]) -> None:
        into.append(await self._fetch(after))

    async def _relay(self, batch: Sequence[OutboxEvent]) -> None:
        if isinstance(self._bus, PipelinedBus):
            await self._relay_pipelined(self._bus, batch)
        else:
            await self._relay_one_by_one(batch)

    async def _relay_one_by_one(self, batch: Sequence[OutboxEvent]) -> None:
        for event in batch:
            if not await self._attempt(event):
                await self._mark_ids(self._take_acked())
                await self._retry_until_published(event)
            self._note_acked(event)

    async def _relay_pipelined(self, bus: PipelinedBus, batch: Sequence[OutboxEvent]) -> None:
        """Pipeline the batch; from a failure on, retry that event alone, then go on."""
        rest = batch
        while rest:
            done = await self._pipeline(bus, rest)
            if done == len(rest):
                return
            await self._mark_ids(self._take_acked())
            await self._retry_until_published(rest[done])
            self._note_acked(rest[done])
            rest = rest[done + 1 :]

    async def _pipeline(self, bus: PipelinedBus, events: Sequence[OutboxEvent]) -> int:
        """Send every event, then await the acks in order; returns how many were acked before
        the first failure (the events after it are abandoned, to be sent again)."""
        sent: list[tuple[OutboxEvent, Span, PendingAck]] = []
        awaited = 0  # acks awaited, or being awaited: their spans are ended by `_await_ack`
        try:
            for event in events:
                span = self._publish_span(event)
                pending = await self._send(bus, event, span)
                if pending is None:
                    break
                sent.append((event, span, pending))
            for event, span, pending in sent:
                awaited += 1
                if not await self._await_ack(pending, span):
                    return awaited - 1
                self._note_acked(event)
            return awaited
        finally:
            for _, span, pending in sent[awaited:]:
                pending.abandon()
                span.end()

    async def _send(self, bus: PipelinedBus, event: OutboxEvent, span: Span) -> PendingAck | None:
        try:
            return await bus.send(event, _traceparent(span) or event.traceparent)
        except BusError as error:
            self._failed_publish(span, error)
            if isinstance(error, BusClosed):
                raise
            return None
        except BaseException:
            span.end()
            raise

    async def _await_ack(self, pending: PendingAck, span: Span) -> bool:
        try:
            await pending.acked()
        except BusError as error:
            self._failed_publish(span, error)
            if isinstance(error, BusClosed):
                raise
            return False
        except BaseException:
            pending.abandon()
            span.end()
            raise
        span.end()
        return True

    def _failed_publish(self, span: Span, error: BusError) -> None:
        if span.is_recording():
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, describe(error)))
        span.end()
        if not isinstance(error, BusClosed):
            self._failures += 1
            self._last_error = describe(error)

    def _note_acked(self, event: OutboxEvent) -> None:
        self._acked.append(event.id)
        self._published += 1
        self._backlog -= 1

    async def _retry_until_published(self, event: OutboxEvent) -> None:
        self._state = RelayState.BACKING_OFF
        attempt = 0
        while True:
            await sleep(self._clock, self._backoff.delay(attempt, self._rng))
            if await self._attempt(event):
                self._state = RelayState.RUNNING
                return
            attempt += 1

    async def _attempt(self, event: OutboxEvent) -> bool:
        """One publish in a `publish {subject}` span parented to the event's trace; False if
        the bus could not take it now."""
        span = self._publish_span(event)
        try:
            if span.get_span_context().is_valid:  # current, so the bus can pass it on
                with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                    await self._bus.publish(event.cloud_event())
            else:
                await self._bus.publish(event.cloud_event())
        except BusError as error:
            self._failed_publish(span, error)
            if isinstance(error, BusClosed):
                raise
            return False
        except BaseException:
            span.end()
            raise
        span.end()
        return True

    def _publish_span(self, event: OutboxEvent) -> Span:
        """A started `publish {subject}` span, a child of the event's trace (not current)."""
        if event.traceparent != self._parent_of:  # a sync's events share one trace
            self._parent_of = event.traceparent
            self._parent = context_from_traceparent(event.traceparent)
        subject = event.subject
        span = self._tracer.start_span(
            f"publish {subject}", context=self._parent, kind=SpanKind.PRODUCER
        )
        if span.is_recording():
            span.set_attributes(
                {
                    "messaging.system": self._bus.messaging_system,
                    "messaging.operation.name": "publish",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": subject,
                    "messaging.message.id": event.id,
                    "cloudevents.event_id": event.id,
                    "cloudevents.event_source": event.source,
                    "cloudevents.event_type": event.type,
                }
            )
        return span

    def _take_acked(self) -> list[str]:
        """The acknowledged ids, now to be marked (known until marked, for a cancellation)."""
        ids, self._acked = self._acked, []
        if ids:
            self._marking.append(ids)
        return ids

    async def _mark_ids(self, ids: list[str]) -> None:
        if ids:
            await self._source.mark_sent(ids, self._wall_clock())
            self._marking = [marking for marking in self._marking if marking is not ids]


def _traceparent(span: Span) -> str | None:
    """The W3C `traceparent` naming `span`; None for a span that is not valid (no tracing)."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
