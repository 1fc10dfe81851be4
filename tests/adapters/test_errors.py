"""The error taxonomy: each class's decision as data, and messages safe to show."""

from __future__ import annotations

import pytest

from adapters import (
    Action,
    AuthError,
    ConfigError,
    IntegrationError,
    PermanentError,
    RateLimited,
    Resolution,
    TransientError,
    classify,
)
from runtime import ActorCrashed, describe


class _PluginError(IntegrationError):
    """A plugin's own subclass of the base: it names no action."""


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransientError("connection reset"), Resolution(Action.RETRY)),
        (TransientError("503", retry_after=4), Resolution(Action.RETRY, 4.0)),
        (RateLimited(12.5), Resolution(Action.PAUSE, 12.5)),
        (RateLimited(None), Resolution(Action.PAUSE, None)),
        (AuthError("token expired"), Resolution(Action.STOP_AUTH)),
        (ConfigError("no such entity"), Resolution(Action.REJECT)),
        (PermanentError("404"), Resolution(Action.FAIL)),
        (IntegrationError("unspecific"), Resolution(Action.CRASH)),
        (_PluginError("unspecific"), Resolution(Action.CRASH)),
        (ValueError("bug"), Resolution(Action.CRASH)),
        (KeyError("bug"), Resolution(Action.CRASH)),
        (ActorCrashed("a", ValueError()), Resolution(Action.CRASH)),
        (TimeoutError(), Resolution(Action.CRASH)),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_classify_each_error_class_maps_to_its_action(
    error: BaseException, expected: Resolution
) -> None:
    assert classify(error) == expected


def test_classify_rate_limited_is_also_transient() -> None:
    error = RateLimited(3)
    assert isinstance(error, TransientError)
    assert error.retry_after == 3.0
    assert str(error) == "rate limited by the peer (retry after 3 s)"


def test_rate_limited_without_hint_message_says_so() -> None:
    assert str(RateLimited(None)) == "rate limited by the peer"
    assert str(RateLimited(1, "HTTP 429")) == "HTTP 429"


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_retry_after_invalid_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="retry_after"):
        TransientError("x", retry_after=bad)


SECRET_TEXTS = [
    ("Authorization: Bearer abcdef0123456789", "abcdef0123456789"),
    ("request failed, headers {'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
    ("GET https://api.example.com/v1?api_key=k3y-value&page=2", "k3y-value"),
    ("GET https://user:hunter2@api.example.com/", "hunter2"),
    ("login as bob with password=correct-horse failed", "correct-horse"),
    ("webhook secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw was refused", "MfKQ9r8GKYqrTwjU"),
    ("stripe key sk_live_51HqLyjWDarjtT1zdp7dc refused", "51HqLyjWDarjtT1zdp7dc"),
    ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912E771"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired", "c2lnbmF0dXJl"),
    ("cookie=session=s3ss10n-id; other", "s3ss10n-id"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_TEXTS)
@pytest.mark.parametrize(
    "make",
    [
        IntegrationError,
        TransientError,
        AuthError,
        ConfigError,
        PermanentError,
        lambda text: RateLimited(1, text),
    ],
)
def test_error_message_with_credential_shape_is_redacted(
    make: type[IntegrationError], text: str, secret: str
) -> None:
    error = make(text)
    for shown in (str(error), repr(error), describe(error), error.message, *map(str, error.args)):
        assert secret not in shown
    assert "REDACTED" in str(error)


def test_error_message_without_credentials_unchanged() -> None:
    text = "GET https://api.example.com/v1/orders?page=2: HTTP 404 Not Found"
    assert str(PermanentError(text)) == text
