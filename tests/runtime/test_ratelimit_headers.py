"""Rate-limit header parsing: every dialect, garbage, dates and epochs, without an event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runtime._ratelimit_headers import (
    RateLimitInfo,
    parse_rate_limit_headers,
    parse_retry_after,
    rate_limit_pause,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:59:00 GMT", 0.0),
        ("Wednesday, 01-May-24 12:01:00 GMT", 60.0),
        ("Wed May  1 12:00:10 2024", 10.0),
        ("Wed, 01 May 2024 12:00:05 -0000", 5.0),
        ("Wed, 01 May 2024 14:00:00 +0200", 0.0),
    ],
)
def test_parse_retry_after_valid_values(value: str, expected: float) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "soon", "-5", "1e3", "inf", "nan", "9" * 400, "Wed, 99 May 2024 12:00:00 GMT"],
)
def test_parse_retry_after_garbage_is_none(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


def test_parse_retry_after_naive_now_taken_as_utc() -> None:
    naive_now = NOW.replace(tzinfo=None)
    assert parse_retry_after("Wed, 01 May 2024 12:00:30 GMT", naive_now) == 30.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
            RateLimitInfo(limit=100, remaining=50, reset_after=30.0),
            id="ietf-08",
        ),
        pytest.param(
            {"ratelimit": "default;r=0;t=7"},
            RateLimitInfo(remaining=0, reset_after=7.0),
            id="ietf-08-token-name-no-policy",
        ),
        pytest.param(
            {
                "RateLimit": '"burst";r=10;t=1, "daily";r=0;t=3600',
                "RateLimit-Policy": '"burst";q=100;w=60, "daily";q=1000;w=86400',
            },
            RateLimitInfo(limit=1000, remaining=0, reset_after=3600.0),
            id="ietf-08-most-restrictive-policy",
        ),
        pytest.param(
            {"RateLimit": '"a";r=5;t=10, "b";r=5;t=20'},
            RateLimitInfo(remaining=5, reset_after=20.0),
            id="ietf-08-tie-takes-longest-reset",
        ),
        pytest.param(
            {"RateLimit": "limit=100, remaining=0, reset=30"},
            RateLimitInfo(limit=100, remaining=0, reset_after=30.0),
            id="older-draft-dictionary",
        ),
        pytest.param(
            {"RateLimit-Limit": "100", "RateLimit-Remaining": "3", "RateLimit-Reset": "12"},
            RateLimitInfo(limit=100, remaining=3, reset_after=12.0),
            id="separate-headers",
        ),
        pytest.param(
            {"RateLimit-Limit": "100, 100;w=60, 1000;w=3600", "RateLimit-Remaining": "0"},
            RateLimitInfo(limit=100, remaining=0),
            id="separate-limit-with-policies",
        ),
        pytest.param(
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "x-ratelimit-reset": "42"},
            RateLimitInfo(limit=5000, remaining=0, reset_after=42.0),
            id="x-headers-delta-reset",
        ),
        pytest.param(
            {"X-RATELIMIT-REMAINING": "0", "X-RateLimit-Reset": str(NOW_EPOCH + 90)},
            RateLimitInfo(remaining=0, reset_after=90.0),
            id="x-headers-epoch-reset",
        ),
        pytest.param(
            {"X-RateLimit-Reset": str((NOW_EPOCH + 15) * 1000)},
            RateLimitInfo(reset_after=15.0),
            id="x-headers-epoch-milliseconds-reset",
        ),
        pytest.param(
            {"X-RateLimit-Reset": str(NOW_EPOCH - 60)},
            RateLimitInfo(reset_after=0.0),
            id="x-headers-epoch-reset-in-past",
        ),
        pytest.param(
            {"Retry-After": "30"},
            RateLimitInfo(retry_after=30.0),
            id="retry-after-only",
        ),
        pytest.param(
            {"retry-after": "Wed, 01 May 2024 12:02:00 GMT", "X-RateLimit-Remaining": "0"},
            RateLimitInfo(remaining=0, retry_after=120.0),
            id="retry-after-date-beside-x-headers",
        ),
    ],
)
def test_parse_rate_limit_headers_dialects(
    headers: dict[str, str], expected: RateLimitInfo
) -> None:
    assert parse_rate_limit_headers(headers, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {
                "RateLimit": '"default";r=1;t=5',
                "RateLimit-Remaining": "9",
                "X-RateLimit-Remaining": "8",
            },
            RateLimitInfo(remaining=1, reset_after=5.0),
            id="ietf-field-first",
        ),
        pytest.param(
            {"RateLimit-Remaining": "9", "X-RateLimit-Remaining": "8"},
            RateLimitInfo(remaining=9),
            id="standard-names-before-x",
        ),
        pytest.param(
            {"RateLimit": "garbage", "X-RateLimit-Remaining": "8"},
            RateLimitInfo(remaining=8),
            id="unusable-field-falls-through",
        ),
    ],
)
def test_parse_rate_limit_headers_precedence(
    headers: dict[str, str], expected: RateLimitInfo
) -> None:
    assert parse_rate_limit_headers(headers, NOW) == expected


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/json"},
        {"Retry-After": "later"},
        {"RateLimit": ""},
        {"RateLimit": '"unterminated;r=5'},
        {"RateLimit": '"default";r=-1;t=abc'},
        {"RateLimit": "limit=lots, remaining=?1"},
        {"RateLimit-Policy": '"default";q=100;w=60'},
        {"X-RateLimit-Limit": "-1", "X-RateLimit-Remaining": "1.5", "X-RateLimit-Reset": "x"},
        {"X-RateLimit-Remaining": "9" * 5000},
    ],
)
def test_parse_rate_limit_headers_garbage_is_none(headers: dict[str, str]) -> None:
    assert parse_rate_limit_headers(headers, NOW) is None


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (RateLimitInfo(retry_after=5.0, remaining=0, reset_after=60.0), 5.0),
        (RateLimitInfo(remaining=0, reset_after=60.0), 60.0),
        (RateLimitInfo(remaining=0), None),
        (RateLimitInfo(remaining=3, reset_after=60.0), None),
        (RateLimitInfo(limit=100), None),
        (RateLimitInfo(), None),
    ],
)
def test_rate_limit_pause_decision(info: RateLimitInfo, expected: float | None) -> None:
    assert rate_limit_pause(info) == expected


def test_rate_limit_pause_retry_after_date_in_past_is_zero() -> None:
    past = (NOW - timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    info = parse_rate_limit_headers({"Retry-After": past}, NOW)
    assert info is not None
    assert rate_limit_pause(info) == 0.0
