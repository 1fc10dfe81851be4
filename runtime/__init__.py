"""The platform under the integrations: actors, supervision, rate limits, health, time.

Everything another package may use is re-exported here; the `_modules` are internal.
"""

from runtime._actor import (
    Actor,
    ActorCell,
    ActorContext,
    ActorOptions,
    ActorRef,
    ActorStatistics,
    Control,
    Request,
)
from runtime._breaker import (
    BreakerEvent,
    BreakerOptions,
    BreakerState,
    BreakerStatistics,
    BreakerTransitionError,
    CircuitBreaker,
    next_state,
)
from runtime._clock import (
    SYSTEM_CLOCK,
    Clock,
    SystemClock,
    TimerHandle,
    fail_after,
    move_on_after,
    sleep,
)
from runtime._errors import (
    ActorCrashed,
    ActorError,
    ActorUnavailable,
    AskTimeout,
    MailboxFull,
    MessageDropped,
    SupervisorEscalation,
    describe,
    sole_error,
)
from runtime._health import HealthLoop, HealthOptions, HealthReport, HealthStatistics
from runtime._ids import random_uuid
from runtime._json import load_json
from runtime._lifecycle import IllegalTransition, Lifecycle, check_transition
from runtime._mailbox import Mailbox, MailboxOptions, MailboxStatistics, Overflow
from runtime._ratelimit import Priority, RateLimit, RateLimiter, RateLimiterStatistics
from runtime._ratelimit_headers import (
    RateLimitInfo,
    parse_rate_limit_headers,
    parse_retry_after,
    rate_limit_pause,
)
from runtime._service import Service
from runtime._supervision import (
    Backoff,
    ChildSpec,
    Intensity,
    OnIntensity,
    Restart,
    RestartHistory,
    Runnable,
    Strategy,
    SupervisorOptions,
    affected_children,
    next_attempt,
    should_restart,
)
from runtime._supervisor import ChildChange, ChildInfo, Supervisor, SupervisorStatistics
from runtime._timers import Timers

__all__ = [
    "SYSTEM_CLOCK",
    "Actor",
    "ActorCell",
    "ActorContext",
    "ActorCrashed",
    "ActorError",
    "ActorOptions",
    "ActorRef",
    "ActorStatistics",
    "ActorUnavailable",
    "AskTimeout",
    "Backoff",
    "BreakerEvent",
    "BreakerOptions",
    "BreakerState",
    "BreakerStatistics",
    "BreakerTransitionError",
    "ChildChange",
    "ChildInfo",
    "ChildSpec",
    "CircuitBreaker",
    "Clock",
    "Control",
    "HealthLoop",
    "HealthOptions",
    "HealthReport",
    "HealthStatistics",
    "IllegalTransition",
    "Intensity",
    "Lifecycle",
    "Mailbox",
    "MailboxFull",
    "MailboxOptions",
    "MailboxStatistics",
    "MessageDropped",
    "OnIntensity",
    "Overflow",
    "Priority",
    "RateLimit",
    "RateLimitInfo",
    "RateLimiter",
    "RateLimiterStatistics",
    "Request",
    "Restart",
    "RestartHistory",
    "Runnable",
    "Service",
    "Strategy",
    "Supervisor",
    "SupervisorEscalation",
    "SupervisorOptions",
    "SupervisorStatistics",
    "SystemClock",
    "TimerHandle",
    "Timers",
    "affected_children",
    "check_transition",
    "describe",
    "fail_after",
    "load_json",
    "move_on_after",
    "next_attempt",
    "next_state",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "random_uuid",
    "rate_limit_pause",
    "should_restart",
    "sleep",
    "sole_error",
]
