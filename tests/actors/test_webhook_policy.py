"""Webhook retry decisions as data: backoff doubling to a cap, the peer's hint, dead after the
last attempt or at once when retrying cannot help."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actors._webhook_policy import NextStep, WebhookOptions, after_failure, retry_delay
from adapters import AuthError, ConfigError, PermanentError, RateLimited, TransientError
from runtime.store import WebhookStatus

NOW = datetime(2030, 1, 1, tzinfo=UTC)
OPTIONS = WebhookOptions(max_attempts=5, retry_base=30.0, retry_cap=100.0)


def test_retry_delay_doubles_from_the_base_up_to_the_cap() -> None:
    assert [retry_delay(n, OPTIONS) for n in range(1, 6)] == [30.0, 60.0, 100.0, 100.0, 100.0]
    assert retry_delay(10_000, OPTIONS) == 100.0


@pytest.mark.parametrize(
    ("error", "attempts", "expected"),
    [
        (TransientError("503"), 1, NextStep(WebhookStatus.FAILED, NOW + timedelta(seconds=30))),
        (TransientError("503"), 2, NextStep(WebhookStatus.FAILED, NOW + timedelta(seconds=60))),
        (RateLimited(90.0), 1, NextStep(WebhookStatus.FAILED, NOW + timedelta(seconds=90))),
        (AuthError("expired"), 1, NextStep(WebhookStatus.FAILED, NOW + timedelta(seconds=30))),
        (RuntimeError("a bug"), 4, NextStep(WebhookStatus.FAILED, NOW + timedelta(seconds=100))),
        (TransientError("503"), 5, NextStep(WebhookStatus.DEAD)),
        (ConfigError("no such entity"), 1, NextStep(WebhookStatus.DEAD)),
        (PermanentError("not JSON"), 1, NextStep(WebhookStatus.DEAD)),
    ],
)
def test_after_failure_decides_by_error_and_attempts(
    error: Exception, attempts: int, expected: NextStep
) -> None:
    assert after_failure(error, attempts, OPTIONS, NOW) == expected


@pytest.mark.parametrize(
    "options",
    [
        {"max_attempts": 0},
        {"retry_base": 0},
        {"scan_interval": -1},
        {"lease": 0},
        {"commit_batch": 0},
        {"max_waiting": 0},
    ],
)
def test_webhook_options_refuse_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        WebhookOptions(**options)  # type: ignore[arg-type]
