"""Choosing the bus: NATS when a URL is configured, the in-process bus otherwise."""

from __future__ import annotations

from runtime._clock import SYSTEM_CLOCK, Clock
from runtime.bus._interface import EventBus
from runtime.bus._memory import InProcessBus
from runtime.bus._nats import NatsBus, NatsOptions


async def open_bus(
    nats_url: str | None, *, options: NatsOptions | None = None, clock: Clock = SYSTEM_CLOCK
) -> EventBus:
    """`InProcessBus` for None (or ""), else a connected `NatsBus`; `BusUnavailable` if NATS
    cannot be reached within `options.connect_timeout`."""
    if not nats_url:
        return InProcessBus()
    return await NatsBus.connect(nats_url, options, clock=clock)
