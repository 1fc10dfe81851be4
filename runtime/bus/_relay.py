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

`notify()` wakes the relay at once when new events are committed (low latency without tight
polling); a slow safety poll catches a notify that never came (another process wrote them,
or the hub restarted with a backlog). Store errors are not retried here: they propagate, and
the relay's supervisor restarts it, which then resends what was not yet marked.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import anyio
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from runtime._clock import SYSTEM_CLOCK, Clock, move_on_after, sleep
from runtime._errors import describe
from runtime._supervision import Backoff
from runtime.bus._errors import BusClosed, BusError
from runtime.bus._event import CloudEvent, subject_for
from runtime.bus._interface import EventBus
from runtime.telemetry import context_from_traceparent

# 0.2 s doubling to 5 s, +/- 20 %, so relays of several hubs do not retry in lockstep.
DEFAULT_RELAY_BACKOFF = Backoff(initial=0.2, factor=2.0, cap=5.0, jitter=0.2, immediate_first=False)
_MARK_ON_CANCEL_TIMEOUT = 5.0


class OutboxSource(Protocol):
    """The outbox as the relay sees it (the store implements it)."""

    async def pending(self, limit: int) -> Sequence[CloudEvent]:
        """Up to `limit` unsent events, oldest first."""

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

    async def send(self, event: CloudEvent) -> PendingAck: ...


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
        self._wakeup: anyio.Event | None = None
        self._state = RelayState.STOPPED
        self._published = 0
        self._failures = 0
        self._last_error: str | None = None
        self._backlog = 0

    def notify(self) -> None:
        """New events were committed: look now rather than at the next poll."""
        if self._wakeup is not None:
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
        try:
            while True:
                self._wakeup = anyio.Event()
                batch = await self._source.pending(self._batch_size)
                self._backlog = len(batch)
                if batch:
                    await self._relay(batch)
                    if len(batch) >= self._batch_size:
                        await anyio.lowlevel.checkpoint()
                        continue
                with move_on_after(self._clock, self._poll_interval):
                    await self._wakeup.wait()
        finally:
            self._wakeup = None
            self._state = RelayState.STOPPED

    async def _relay(self, batch: Sequence[CloudEvent]) -> None:
        acked: list[str] = []
        try:
            if isinstance(self._bus, PipelinedBus):
                await self._relay_pipelined(self._bus, batch, acked)
            else:
                await self._relay_one_by_one(batch, acked)
        except anyio.get_cancelled_exc_class():
            with (
                anyio.CancelScope(shield=True),
                move_on_after(self._clock, _MARK_ON_CANCEL_TIMEOUT),
            ):
                await self._mark(acked)
            raise
        await self._mark(acked)

    async def _relay_one_by_one(self, batch: Sequence[CloudEvent], acked: list[str]) -> None:
        for event in batch:
            if not await self._attempt(event):
                await self._mark(acked)
                await self._retry_until_published(event)
            self._acked(event, acked)

    async def _relay_pipelined(
        self, bus: PipelinedBus, batch: Sequence[CloudEvent], acked: list[str]
    ) -> None:
        """Pipeline the batch; from a failure on, retry that event alone, then go on."""
        rest = batch
        while rest:
            done = await self._pipeline(bus, rest, acked)
            if done == len(rest):
                return
            await self._mark(acked)
            await self._retry_until_published(rest[done])
            self._acked(rest[done], acked)
            rest = rest[done + 1 :]

    async def _pipeline(
        self, bus: PipelinedBus, events: Sequence[CloudEvent], acked: list[str]
    ) -> int:
        """Send every event, then await the acks in order; returns how many were acked before
        the first failure (the events after it are abandoned, to be sent again)."""
        sent: deque[tuple[CloudEvent, Span, PendingAck]] = deque()
        done = 0
        try:
            for event in events:
                span = self._publish_span(event)
                pending = await self._send(bus, event, span)
                if pending is None:
                    break
                sent.append((event, span, pending))
            while sent:
                event, span, pending = sent.popleft()
                if not await self._await_ack(pending, span):
                    return done
                self._acked(event, acked)
                done += 1
            return done
        finally:
            for _, span, pending in sent:
                pending.abandon()
                span.end()

    async def _send(self, bus: PipelinedBus, event: CloudEvent, span: Span) -> PendingAck | None:
        try:
            with trace.use_span(span, end_on_exit=False):
                return await bus.send(event)
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
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, describe(error)))
        span.end()
        if not isinstance(error, BusClosed):
            self._failures += 1
            self._last_error = describe(error)

    def _acked(self, event: CloudEvent, acked: list[str]) -> None:
        acked.append(event.id)
        self._published += 1
        self._backlog -= 1

    async def _retry_until_published(self, event: CloudEvent) -> None:
        self._state = RelayState.BACKING_OFF
        attempt = 0
        while True:
            await sleep(self._clock, self._backoff.delay(attempt, self._rng))
            if await self._attempt(event):
                self._state = RelayState.RUNNING
                return
            attempt += 1

    async def _attempt(self, event: CloudEvent) -> bool:
        """One publish in a `publish {subject}` span parented to the event's trace; False if
        the bus could not take it now."""
        try:
            with trace.use_span(self._publish_span(event), end_on_exit=True):
                await self._bus.publish(event)
        except BusClosed:
            raise
        except BusError as error:
            self._failures += 1
            self._last_error = describe(error)
            return False
        return True

    def _publish_span(self, event: CloudEvent) -> Span:
        """A started `publish {subject}` span, a child of the event's trace (not current)."""
        subject = subject_for(event)
        return self._tracer.start_span(
            f"publish {subject}",
            context=context_from_traceparent(event.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": self._bus.messaging_system,
                "messaging.operation.name": "publish",
                "messaging.operation.type": "send",
                "messaging.destination.name": subject,
                "messaging.message.id": event.id,
                "cloudevents.event_id": event.id,
                "cloudevents.event_source": event.source,
                "cloudevents.event_type": event.type,
            },
        )

    async def _mark(self, ids: list[str]) -> None:
        if ids:
            await self._source.mark_sent(list(ids), self._wall_clock())
            ids.clear()
