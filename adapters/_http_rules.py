"""The HTTP client's decisions, as plain functions over plain data (no sockets, no clock).

Which status means which error, how long the limiter pauses after a response, whether and
how long to wait before the next attempt, and what of a request may be shown. `HttpClient`
only carries these out, so they are tested with tables, not servers.
"""

from __future__ import annotations

import http
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from adapters._errors import (
    AuthError,
    IntegrationError,
    PermanentError,
    RateLimited,
    TransientError,
)
from config import RetryConfig
from runtime import RateLimitInfo, parse_rate_limit_headers, parse_retry_after, rate_limit_pause

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_PAUSING_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most `max_attempts` tries within `total` seconds; backoff doubles from `initial` up to
    `max_delay`, and `jitter` (0..1) is the share of each wait that is random. Responses with a
    status in `retry_on_status` are transient errors (the same default as `config.RetryConfig`)."""

    max_attempts: int = 5
    initial: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    total: float = 120.0
    retry_on_status: frozenset[int] = RETRY_STATUSES

    @classmethod
    def from_config(cls, config: RetryConfig, *, total: float = 120.0) -> RetryPolicy:
        """The policy an integration's `retry_policy` configures (jitter stays the default)."""
        return cls(
            max_attempts=config.max_attempts,
            initial=config.initial_backoff,
            max_delay=config.max_backoff,
            total=total,
            retry_on_status=frozenset(config.retry_on_status),
        )

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts!r}")
        for name in ("initial", "max_delay", "total"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RetryPolicy.{name} must be a finite number >= 0, got {value!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"RetryPolicy.jitter must be within 0..1, got {self.jitter!r}")


def backoff(policy: RetryPolicy, failures: int, rand: float) -> float:
    """The wait after the `failures`-th failed attempt (1-based); `rand` is uniform in [0, 1)."""
    ceiling = min(policy.max_delay, policy.initial * 2.0 ** (failures - 1))
    return ceiling * (1.0 - policy.jitter * rand)


def retry_wait(policy: RetryPolicy, failures: int, retry_after: float | None, rand: float) -> float:
    """Backoff, but never shorter than the peer's `Retry-After`."""
    wait = backoff(policy, failures, rand)
    return wait if retry_after is None else max(wait, retry_after)


def give_up(policy: RetryPolicy, failures: int, elapsed: float, wait: float) -> bool:
    """True when the attempts are spent or waiting `wait` more would overrun `policy.total`."""
    return failures >= policy.max_attempts or elapsed + wait > policy.total


def may_retry(method: str, error: BaseException, idempotent: bool | None = None) -> bool:
    """Transient errors are retried for idempotent requests; any other request is retried only
    when the peer refused it outright (rate limited), since it may otherwise have been applied."""
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    if idempotent:
        return isinstance(error, TransientError)
    return isinstance(error, RateLimited)


def classify_status(
    status: int,
    headers: Mapping[str, str],
    now: datetime,
    *,
    context: str = "",
    retry_on: Collection[int] = RETRY_STATUSES,
) -> IntegrationError | None:
    """The error a response's status stands for, or None when the response is a result.

    429 is rate limited, and so is a 403 that says the quota is exhausted (GitHub's way); other
    401/403 refuse the credentials, whatever `retry_on` says; a status in `retry_on` is
    transient (with the peer's `Retry-After` as a hint); any other 4xx or 5xx is permanent.
    """
    if status < 400:
        return None
    info = parse_rate_limit_headers(headers, now)
    label = f"{context}HTTP {status}{_reason(status)}"
    if status == 429 or (status == 403 and _quota_exhausted(info)):
        wait = None if info is None else rate_limit_pause(info)
        return RateLimited(wait, f"{label}: rate limited" + _after(wait))
    if status in (401, 403):
        return AuthError(f"{label}: the credentials were refused; reconnect the integration")
    if status in retry_on:
        retry_after = _retry_after(headers, now)
        return TransientError(label + _after(retry_after), retry_after=retry_after)
    return PermanentError(label)


def limiter_pause(status: int, headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the integration's limiter must pause after this response, or None.

    429 and 503 pause for their `Retry-After` (or an exhausted quota's reset); any other
    response pauses only when it says the quota is used up, so the next request is not wasted.
    """
    info = parse_rate_limit_headers(headers, now)
    if info is None:
        return None
    if status in _PAUSING_STATUSES or (status == 403 and _quota_exhausted(info)):
        return rate_limit_pause(info)
    if info.remaining == 0 and info.reset_after is not None:
        return info.reset_after
    return None


def error_type(error: BaseException) -> str:
    """The span's `error.type`: `timeout`, or the exception's qualified class name."""
    if isinstance(error, TimeoutError):
        return "timeout"
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


def server_address(url: str) -> tuple[str, int | None]:
    """Host and port a request goes to (the scheme's default port when none is given)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "", None
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.hostname or "", port if port is not None else default


def _quota_exhausted(info: RateLimitInfo | None) -> bool:
    return info is not None and (info.remaining == 0 or info.retry_after is not None)


def _retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            return parse_retry_after(value, now)
    return None


def _after(seconds: float | None) -> str:
    return "" if seconds is None else f" (retry after {seconds:g} s)"


def _reason(status: int) -> str:
    try:
        return f" {http.HTTPStatus(status).phrase}"
    except ValueError:
        return ""


def join_url(base_url: str, url: str) -> str:
    """`url` if it is absolute, else `url` under `base_url` (exactly one slash between)."""
    if urlsplit(url).scheme or not base_url:
        return url
    return f"{base_url.rstrip('/')}/{url.lstrip('/')}"


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    """`url` with `pairs` appended to its query string."""
    if not pairs:
        return url
    separator = "&" if urlsplit(url).query else ("" if url.endswith("?") else "?")
    return f"{url}{separator}{urlencode(pairs)}"


def param_text(value: str | int | float | bool) -> str:
    """A query parameter's text: booleans as `true`/`false`, as most APIs expect."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
