"""The bus's errors, grouped by what the caller does about them.

BusError                   the bus could not do what was asked
├── BusUnavailable         cannot reach the broker or get its ack now: keep the event, retry later
└── BusClosed              the bus was closed: stop using it
InvalidEvent (ValueError)  not a valid hub CloudEvent (bad JSON, a missing or malformed field)

No `nats` exception crosses `runtime.bus`'s public interface: `_nats.py` maps them onto these.
"""

from __future__ import annotations


class BusError(Exception):
    """Base of the errors raised by an `EventBus`."""


class BusUnavailable(BusError):
    """The broker cannot take the event now; it may or may not have stored it. Retry later
    with the same event: the broker deduplicates by event id."""


class BusClosed(BusError):
    def __init__(self) -> None:
        super().__init__("the event bus is closed")


class InvalidEvent(ValueError):
    """An event (or its JSON) breaks the hub's CloudEvents rules; the message names the field."""
