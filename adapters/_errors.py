"""The errors an adapter raises, grouped by what the runtime must do about them.

IntegrationError        something went wrong talking to an outside system
├── TransientError      try again later, with backoff (network, 5xx, timeouts)
│   └── RateLimited     the peer asked us to slow down: pause the limiter `retry_after` s
├── AuthError           credentials refused or expired: stop, status `error`, ask to reconnect
├── ConfigError         the integration's configuration is wrong: reject it, never restart
└── PermanentError      this one operation cannot succeed (404, 422): fail it, no retry, no crash

Anything else an adapter lets escape is a bug and crashes the actor (its supervisor restarts it).
`classify` turns an error into that decision, as data (`Resolution`); the runtime carries it out.

Every message is meant to be shown to a user and logged: it passes through `scrub_text`, and the
code that raises these never puts headers, bodies or credential values in the text.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from adapters._redact import scrub_text


class IntegrationError(Exception):
    """Base of what adapters raise; the base itself names no action, so it classifies as CRASH."""

    def __init__(self, message: str) -> None:
        super().__init__(scrub_text(message))

    @property
    def message(self) -> str:
        return str(self.args[0])


class TransientError(IntegrationError):
    """Worth trying again after a backoff; `retry_after` is the peer's own hint, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = _seconds_or_none(retry_after)


class RateLimited(TransientError):
    """The peer refused because of its rate limit; nothing is sent before `retry_after` s."""

    def __init__(self, retry_after: float | None, message: str | None = None) -> None:
        wait = _seconds_or_none(retry_after)
        hint = "" if wait is None else f" (retry after {wait:g} s)"
        super().__init__(message or f"rate limited by the peer{hint}", retry_after=wait)


class AuthError(IntegrationError):
    """The peer refused our credentials: stop and ask the user to reconnect."""


class ConfigError(IntegrationError):
    """The integration's configuration (or a request against it) is wrong: restarting won't help."""


class PermanentError(IntegrationError):
    """This operation cannot succeed as asked; other operations may."""


class Action(enum.Enum):
    RETRY = "retry"
    PAUSE = "pause"
    STOP_AUTH = "stop_auth"
    REJECT = "reject"
    FAIL = "fail"
    CRASH = "crash"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What to do about an error; `after` is how long to wait first, when the peer said."""

    action: Action
    after: float | None = None


_ACTIONS: tuple[tuple[type[IntegrationError], Action], ...] = (
    (RateLimited, Action.PAUSE),
    (TransientError, Action.RETRY),
    (AuthError, Action.STOP_AUTH),
    (ConfigError, Action.REJECT),
    (PermanentError, Action.FAIL),
)


def classify(error: BaseException) -> Resolution:
    """The decision for `error`: most specific class first; anything unknown is a crash."""
    for kind, action in _ACTIONS:
        if isinstance(error, kind):
            after = error.retry_after if isinstance(error, TransientError) else None
            return Resolution(action, after)
    return Resolution(Action.CRASH)


def _seconds_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"retry_after must be a finite number >= 0 or None, got {value!r}")
    return float(value)
