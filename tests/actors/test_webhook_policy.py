"""Webhook retry decisions as data: backoff doubling to a cap, the peer's hint, dead after the
last attempt or at once when retrying cannot help."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from actors._webhook_policy import NextStep, WebhookOptions, after_failure, retry_delay
from adapters import AuthError, ConfigError, PermanentError, RateLimited, TransientError
from api._hub import webhook_options
from config import load_settings
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


def test_settings_give_the_options_an_operator_tunes_and_leave_the_others() -> None:
    settings = load_settings(
        env={
            "HUB_WEBHOOK_MAX_ATTEMPTS": "8",
            "HUB_WEBHOOK_RETRY_SECONDS": "10",
            "HUB_WEBHOOK_RETRY_MAX_SECONDS": "120",
        }
    )

    options = webhook_options(settings)

    assert options == replace(WebhookOptions(), max_attempts=8, retry_base=10.0, retry_cap=120.0)
    assert [retry_delay(n, options) for n in range(1, 6)] == [10.0, 20.0, 40.0, 80.0, 120.0]
    assert after_failure(TransientError("503"), 8, options, NOW) == NextStep(WebhookStatus.DEAD)
    assert webhook_options(load_settings()) == WebhookOptions()  # the same defaults
