"""A server's rate-limit signals, read without I/O.

Servers announce their limits in several dialects: `Retry-After` (RFC 9110), the IETF
structured fields `RateLimit` / `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-08+),
that draft's older forms, and the de-facto `X-RateLimit-*` headers. These functions reduce them
to one `RateLimitInfo`, and `rate_limit_pause` turns that into a decision (seconds to pause)
which the limiter only carries out. Headers come from outside: a malformed value is ignored,
never raised.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

# A "reset" beyond these is no delta but a Unix timestamp (a delta of 1e9 s is ~31 years).
_EPOCH_SECONDS = 1e9
_EPOCH_MILLISECONDS = 1e12

_COUNT = re.compile(r"\d{1,15}")
_SECONDS = re.compile(r"\d{1,15}(?:\.\d{1,9})?")
_MEMBER_SPLITTERS = {sep: re.compile(rf'(?:"(?:[^"\\]|\\.)*"|[^"{sep}])+') for sep in (",", ";")}


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What a response said about the rate limit; each part is None when it was not said."""

    limit: int | None = None
    remaining: int | None = None
    reset_after: float | None = None
    retry_after: float | None = None


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), None if garbage."""
    text = value.strip()
    seconds = _seconds(text)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, (_aware(when) - _aware(now)).total_seconds())


def parse_rate_limit_headers(headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
    """The rate-limit state a response announced, from whichever dialect it speaks.

    The IETF `RateLimit` field wins over `RateLimit-Limit/-Remaining/-Reset`, which win over
    `X-RateLimit-*`; `Retry-After` is read beside any of them. None when nothing usable is there.
    """
    fields = {name.lower(): value for name, value in headers.items()}
    info = (
        _structured(fields, now)
        or _separate(fields, "ratelimit-", now)
        or _separate(fields, "x-ratelimit-", now)
        or RateLimitInfo()
    )
    retry_after = fields.get("retry-after")
    if retry_after is not None:
        info = replace(info, retry_after=parse_retry_after(retry_after, now))
    return None if info == RateLimitInfo() else info


def rate_limit_pause(info: RateLimitInfo) -> float | None:
    """How long the limiter must pause: Retry-After wins, then an exhausted quota's reset."""
    if info.retry_after is not None:
        return info.retry_after
    if info.remaining == 0 and info.reset_after is not None:
        return info.reset_after
    return None


def _structured(fields: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
    value = fields.get("ratelimit")
    if value is None:
        return None
    members = _members(value)
    pairs = dict(_key_value(head) for head, _ in members if "=" in head)
    if pairs:
        return _info(pairs.get("limit"), pairs.get("remaining"), pairs.get("reset"), now)
    policies = [(_unquote(head), params) for head, params in members if "=" not in head]
    if not policies:
        return None
    name, params = min(policies, key=lambda policy: _restrictiveness(policy[1], now))
    quotas = {
        _unquote(head): params for head, params in _members(fields.get("ratelimit-policy", ""))
    }
    return _info(quotas.get(name, {}).get("q"), params.get("r"), params.get("t"), now)


def _restrictiveness(params: Mapping[str, str], now: datetime) -> tuple[float, float]:
    """Sort key: fewest remaining first, then the longest reset (an exhausted daily quota)."""
    remaining = _count(params.get("r"))
    reset = _reset(params.get("t"), now)
    return (math.inf if remaining is None else remaining, -(reset or 0.0))


def _separate(fields: Mapping[str, str], prefix: str, now: datetime) -> RateLimitInfo | None:
    return _info(
        _first_item(fields.get(f"{prefix}limit")),
        _first_item(fields.get(f"{prefix}remaining")),
        _first_item(fields.get(f"{prefix}reset")),
        now,
    )


def _info(
    limit: str | None, remaining: str | None, reset: str | None, now: datetime
) -> RateLimitInfo | None:
    info = RateLimitInfo(
        limit=_count(limit), remaining=_count(remaining), reset_after=_reset(reset, now)
    )
    return None if info == RateLimitInfo() else info


def _members(value: str) -> list[tuple[str, dict[str, str]]]:
    """A structured-field list or dictionary as (item or key=value, parameters) pairs."""
    if re.sub(r"\\.", "", value).count('"') % 2:
        return []
    members = []
    for member in _split(value, ","):
        head, *params = _split(member, ";")
        members.append((head, dict(_key_value(param) for param in params if "=" in param)))
    return members


def _split(text: str, sep: str) -> list[str]:
    parts = (part.strip() for part in _MEMBER_SPLITTERS[sep].findall(text))
    return [part for part in parts if part] or [""]


def _key_value(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key.strip().lower(), value.strip()


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _first_item(value: str | None) -> str | None:
    """`100` from `100, 100;w=60` (the draft's limit-with-policies form)."""
    return None if value is None else _split(_split(value, ",")[0], ";")[0]


def _count(text: str | None) -> int | None:
    if text is None or not _COUNT.fullmatch(text.strip()):
        return None
    return int(text)


def _seconds(text: str | None) -> float | None:
    if text is None or not _SECONDS.fullmatch(text.strip()):
        return None
    return float(text)


def _reset(text: str | None, now: datetime) -> float | None:
    seconds = _seconds(text)
    if seconds is None or seconds <= _EPOCH_SECONDS:
        return seconds
    epoch = seconds / 1000 if seconds > _EPOCH_MILLISECONDS else seconds
    return max(0.0, epoch - _aware(now).timestamp())


def _aware(moment: datetime) -> datetime:
    """Naive datetimes (an HTTP-date with `-0000`, a caller's `utcnow()`) are taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
