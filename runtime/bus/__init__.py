"""Event transport: hub events as CloudEvents, over NATS JetStream or in process.

Everything another package may use is re-exported here; the `_modules` are internal. No
`nats` type or exception appears in this interface.
"""

from runtime.bus._errors import BusClosed, BusError, BusUnavailable, InvalidEvent
from runtime.bus._event import (
    CloudEvent,
    EventName,
    check_integration_id,
    from_json,
    new_event,
    subject_filter,
    subject_for,
    to_json,
)
from runtime.bus._interface import EventBus, Subscription, SubscriptionStatistics
from runtime.bus._memory import InProcessBus, InProcessBusStatistics
from runtime.bus._nats import STREAM_NAME, NatsAck, NatsBus, NatsBusStatistics, NatsOptions
from runtime.bus._open import open_bus
from runtime.bus._relay import (
    DEFAULT_RELAY_BACKOFF,
    OutboxEvent,
    OutboxRelay,
    OutboxSource,
    PendingAck,
    PipelinedBus,
    RelayState,
    RelayStatistics,
)
from runtime.bus._subscription import BufferedSubscription

__all__ = [
    "DEFAULT_RELAY_BACKOFF",
    "STREAM_NAME",
    "BufferedSubscription",
    "BusClosed",
    "BusError",
    "BusUnavailable",
    "CloudEvent",
    "EventBus",
    "EventName",
    "InProcessBus",
    "InProcessBusStatistics",
    "InvalidEvent",
    "NatsAck",
    "NatsBus",
    "NatsBusStatistics",
    "NatsOptions",
    "OutboxEvent",
    "OutboxRelay",
    "OutboxSource",
    "PendingAck",
    "PipelinedBus",
    "RelayState",
    "RelayStatistics",
    "Subscription",
    "SubscriptionStatistics",
    "check_integration_id",
    "from_json",
    "new_event",
    "open_bus",
    "subject_filter",
    "subject_for",
    "to_json",
]
