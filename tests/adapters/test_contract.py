"""The contract's values and defaults: validation, webhook defaults, secrets that stay hidden."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    Batch,
    ConfigError,
    ConnectionInfo,
    HealthStatus,
    HttpClient,
    SourceRecord,
    SyncKind,
    SyncRequest,
    WebhookRequest,
)
from config import IntegrationType
from runtime import RateLimit, RateLimiter
from runtime.testing import MockClock
from runtime.vault import Secret


class _Minimal(Adapter):
    name = "minimal"

    async def connect(self) -> ConnectionInfo:
        return ConnectionInfo("minimal")

    async def health_check(self) -> HealthStatus:
        return HealthStatus(True, 0.0)

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        yield Batch("things", (), {"done": True}, complete=True)


def _context(credentials: dict[str, Secret[str]] | None = None) -> AdapterContext:
    clock = MockClock()
    limiter = RateLimiter(RateLimit(rate=1), clock=clock)
    return AdapterContext(
        "crm-7",
        {"region": "eu"},
        credentials or {},
        HttpClient(limiter, clock=clock),
        limiter,
        clock,
    )


def _delivery() -> WebhookRequest:
    return WebhookRequest({"Webhook-Id": "msg_1"}, b"{}", datetime(2025, 1, 1, tzinfo=UTC))


async def test_adapter_defaults_refuse_webhooks_and_disconnect_quietly() -> None:
    adapter = _Minimal(_context())
    assert adapter.verify_webhook(_delivery()) is False
    with pytest.raises(ConfigError, match="the minimal adapter does not accept webhooks"):
        await adapter.handle_webhook(_delivery())
    await adapter.disconnect()


def test_context_credentials_print_redacted() -> None:
    context = _context({"api_token": Secret("tok-123456")})
    assert "tok-123456" not in repr(context)
    assert context.credential("api_token").reveal() == "tok-123456"


def test_context_missing_credential_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"integration 'crm-7' has no credential 'password'"):
        _context().credential("password")


def test_webhook_request_header_names_lower_cased() -> None:
    assert dict(_delivery().headers) == {"webhook-id": "msg_1"}


@pytest.mark.parametrize(
    ("entities", "checkpoints", "match"),
    [
        ((), {}, "not empty"),
        (("a", "a"), {}, "distinct"),
        (("a",), {"b": None}, "not requested"),
    ],
)
def test_sync_request_invalid_rejected(
    entities: tuple[str, ...], checkpoints: dict[str, None], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        SyncRequest(entities, SyncKind.FULL, checkpoints)


def test_sync_request_checkpoint_defaults_to_none() -> None:
    request = SyncRequest(("a", "b"), checkpoints={"a": {"page": 1}})
    assert (request.checkpoint("a"), request.checkpoint("b")) == ({"page": 1}, None)


def test_values_reject_malformed() -> None:
    with pytest.raises(ValueError, match="external_id"):
        SourceRecord("", {})
    with pytest.raises(TypeError, match="tuple"):
        Batch("a", [SourceRecord("1", {})], {})  # type: ignore[arg-type]  # the mistake tested


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"name": "Has Spaces"}, "lower-case"),
        ({"settings_schema": {"type": "array"}}, "object"),
        ({"entities": ["a"]}, "tuple"),
        ({"credential_fields": ("key", "key")}, "distinct"),
        (
            {"credential_fields": ("key",), "required_credentials": (("nope",),)},
            "required_credentials",
        ),
        ({"credential_fields": ("key",), "credential_help": {"nope": "x"}}, "credential_help"),
    ],
)
def test_adapter_spec_invalid_rejected(changes: dict[str, object], match: str) -> None:
    fields: dict[str, object] = {
        "name": "ok",
        "title": "Ok",
        "description": "d",
        "icon": "x",
        "kind": IntegrationType.REST,
        "factory": _Minimal,
        "settings_schema": {"type": "object"},
    }
    with pytest.raises(ValueError, match=match):
        AdapterSpec(**{**fields, **changes})  # type: ignore[arg-type]  # fields built as data
