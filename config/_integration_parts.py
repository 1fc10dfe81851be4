"""The parts an integration's configuration is made of: endpoints, limits, retries, health,
schedule, field mapping, webhook.

Plain frozen values with bounds on every number and length: they arrive from the API and the
setup wizard, are stored as JSON and read by the runtime, so each one is checked once, here,
with a message naming the field. Numbers of seconds are floats unless only whole seconds make
sense; no part knows any adapter.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import StrEnum
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from config._cron import cron_problem
from config._text import Identifier, check_line

MAX_URL_CHARS = 2048
MAX_PATH_SEGMENTS = 32
DEFAULT_RETRY_STATUSES = (408, 425, 429, 500, 502, 503, 504)
_H = TypeVar("_H", bound=Hashable)

FROZEN = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True, allow_inf_nan=False)


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"


class Transform(StrEnum):
    """What happens to a source value on its way to the target field."""

    NONE = "none"
    LOWER = "lower"
    UPPER = "upper"
    STRIP = "strip"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"


class WebhookScheme(StrEnum):
    """How an inbound webhook's signature is checked (see DESIGN.md, Security)."""

    STANDARD = "standard"
    GITHUB = "github"
    STRIPE = "stripe"
    SHOPIFY = "shopify"


def _check_http_url(value: str) -> str:
    check_line(value)
    if any(char.isspace() for char in value):
        raise ValueError("must not contain spaces (percent-encode them as %20)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError("is not a valid URL (check the host and port)") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL (got scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password: put them in credentials")
    return value


def _check_path(value: str) -> str:
    segments = value.split(".")
    if any(not segment.strip() for segment in segments):
        raise ValueError("must be a dotted path of non-empty names, e.g. 'address.city'")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"must have at most {MAX_PATH_SEGMENTS} segments")
    return value


HttpUrl = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_URL_CHARS), AfterValidator(_check_http_url)
]
"""An http(s) URL, kept exactly as written (no normalisation), without user or password."""

EndpointName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
SourcePath = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(check_line),
    AfterValidator(_check_path),
]
Cron = Annotated[str, StringConstraints(max_length=200), AfterValidator(check_line)]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class EndpointConfig(BaseModel):
    """One remote endpoint the adapter talks to, by a name the adapter knows."""

    model_config = FROZEN

    name: EndpointName = Field(description="Name the adapter uses for this endpoint.")
    url: HttpUrl = Field(description="http:// or https:// URL, without credentials.")
    method: HttpMethod = Field(default=HttpMethod.GET, description="HTTP method.")


class RateLimitConfig(BaseModel):
    """`rate` requests per `period` seconds, up to `burst` at once (the runtime's RateLimit)."""

    model_config = FROZEN

    rate: float = Field(gt=0, le=1_000_000, description="Requests per period.")
    period: Seconds = Field(default=1.0, description="Length of the period in seconds.")
    burst: int = Field(default=1, ge=1, le=100_000, description="Requests allowed at once.")


class RetryConfig(BaseModel):
    """Retries of transient failures: exponential backoff from `initial_backoff` up to
    `max_backoff` seconds, at most `max_attempts` tries in all."""

    model_config = FROZEN

    max_attempts: int = Field(
        default=5, ge=1, le=20, description="Tries in all, the first included."
    )
    initial_backoff: float = Field(
        default=1.0, gt=0, le=3600, description="First wait, in seconds."
    )
    max_backoff: float = Field(
        default=60.0, gt=0, le=86_400, description="Longest wait, in seconds."
    )
    retry_on_status: tuple[Annotated[int, Field(ge=100, le=599)], ...] = Field(
        default=DEFAULT_RETRY_STATUSES,
        max_length=100,
        description="HTTP statuses worth another try.",
    )

    @field_validator("max_backoff")
    @classmethod
    def _not_below_initial(cls, value: float, info: ValidationInfo) -> float:
        initial = info.data.get("initial_backoff")
        if initial is not None and value < initial:
            raise ValueError(f"must be at least initial_backoff ({initial})")
        return value

    @field_validator("retry_on_status")
    @classmethod
    def _unique(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return check_unique(value)


class HealthConfig(BaseModel):
    """The health loop: probe every `interval` seconds, give up after `timeout`, open the
    circuit after `failure_threshold` failures in a row."""

    model_config = FROZEN

    interval: Seconds = Field(default=30.0, description="Seconds between probes.")
    timeout: float = Field(default=10.0, gt=0, le=3600, description="Seconds a probe may take.")
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Failures that open the circuit."
    )

    @field_validator("timeout")
    @classmethod
    def _within_interval(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("interval")
        if interval is not None and value > interval:
            raise ValueError(f"must not be longer than interval ({interval})")
        return value


class ScheduleConfig(BaseModel):
    """When the integration syncs. Unset `cron`/`jitter_seconds` follow the hub's settings
    (`default_schedule`, `schedule_jitter_seconds`), so changing those moves every default."""

    model_config = FROZEN

    cron: Cron | None = Field(
        default=None,
        description="Cron expression (five fields); unset: the hub's default schedule.",
    )
    jitter_seconds: int | None = Field(
        default=None, ge=0, le=3600, description="Random delay before each run; unset: the hub's."
    )
    enabled: bool = Field(
        default=True, description="Sync on the schedule (manual syncs always work)."
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and (problem := cron_problem(value)) is not None:
            raise ValueError(problem)
        return value


class FieldMapping(BaseModel):
    """One field of a record: where it comes from in the source, where it goes, how."""

    model_config = FROZEN

    source: SourcePath = Field(description="Dotted path in the source record, e.g. 'address.city'.")
    target: Identifier = Field(description="Field name in the hub's record.")
    transform: Transform = Field(default=Transform.NONE, description="Conversion on the way.")


class WebhookConfig(BaseModel):
    """Inbound webhooks: the signature scheme and the clock tolerance. The signing secret is a
    credential (`webhook_secret`), never part of this."""

    model_config = FROZEN

    scheme: WebhookScheme = Field(default=WebhookScheme.STANDARD, description="Signature scheme.")
    tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, description="Accepted clock difference, both ways."
    )


def check_unique(values: tuple[_H, ...]) -> tuple[_H, ...]:
    """Refuse a repeated item, naming it (items are names and numbers, never secrets)."""
    seen: set[_H] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"lists {value!r} more than once")
        seen.add(value)
    return values
