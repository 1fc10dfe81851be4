"""The webhook-only template kind: `phone.yaml` in the catalog's shape, how a delivery's JSON
becomes records and events (no socket, no hub), loading errors with lines, and the contract
suite for an adapter that only receives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    ConfigError,
    HttpClient,
    HttpRequest,
    HttpResponse,
    PermanentError,
    SourceRecord,
    SyncKind,
    SyncRequest,
    TemplateError,
    WebhookEvent,
    WebhookRequest,
    WebhookResult,
)
from adapters.templates import (
    load_webhook_template,
    packaged_template_spec,
    template_text_spec,
    webhook_result,
)
from config import IntegrationType, WebhookScheme
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from tests.adapters.conformance import AdapterConformance, collect

PHONE = packaged_template_spec("adapters.templates", "phone.yaml")
PHONE_TEXT = resources.files("adapters.templates").joinpath("phone.yaml").read_text("utf-8")
PHONE_TEMPLATE = load_webhook_template(PHONE_TEXT, "phone.yaml").template


def call(event: str, call_id: str = "c-1001", **data: Any) -> dict[str, Any]:
    """A phone system's delivery: the event type, when it was sent, the call as it is now."""
    fields = {
        "call_id": call_id,
        "direction": "inbound",
        "from": "+4930123456",
        "to": "+4989654321",
        "started_at": "2026-03-02T09:12:00Z",
        "answered_at": None,
        "ended_at": None,
        "duration": 0,
        "status": "ringing",
        **data,
    }
    return {"type": event, "timestamp": "2026-03-02T09:15:40Z", "data": fields}


def result_of(*payloads: dict[str, Any], batch: bool = False) -> WebhookResult:
    body = json.dumps(list(payloads) if batch else payloads[0]).encode()
    return webhook_result(PHONE_TEMPLATE, body)


async def _refuse(request: HttpRequest) -> HttpResponse:
    raise AssertionError(f"a webhook-only adapter sent {request!r}")


def phone_context() -> AdapterContext:
    limiter = RateLimiter(RateLimit(10, burst=10), clock=SYSTEM_CLOCK)
    http = HttpClient(limiter, send=_refuse)  # it must never be used
    return AdapterContext("phone-1", {}, {}, http, limiter, SYSTEM_CLOCK)


# -- the template ---------------------------------------------------------------------------------


def test_phone_is_a_webhook_template_in_the_catalog_shape() -> None:
    assert PHONE.kind is IntegrationType.WEBHOOK
    assert (PHONE.name, PHONE.title, PHONE.entities) == ("phone", "Phone system", ("calls",))
    assert PHONE.credential_fields == ("webhook_secret",)  # what the hub verifies with
    assert PHONE.settings_schema["properties"] == {}
    assert PHONE_TEMPLATE.webhook.scheme is WebhookScheme.STANDARD


# -- deliveries -> records and events ------------------------------------------------------------


def test_a_call_event_becomes_the_calls_record_and_an_event() -> None:
    ended = call(
        "call.ended",
        answered_at="2026-03-02T09:12:07Z",
        ended_at="2026-03-02T09:15:40Z",
        duration=213,
        status="completed",
    )
    result = result_of(ended)
    assert result.records == {
        "calls": (
            SourceRecord(
                "c-1001",
                {
                    "call_id": "c-1001",
                    "direction": "inbound",
                    "from": "+4930123456",
                    "to": "+4989654321",
                    "started_at": "2026-03-02T09:12:00Z",
                    "answered_at": "2026-03-02T09:12:07Z",
                    "ended_at": "2026-03-02T09:15:40Z",
                    "duration": 213,
                    "status": "completed",
                    "event": "call.ended",
                    "event_at": "2026-03-02T09:15:40Z",
                },
            ),
        )
    }
    assert result.events == (
        WebhookEvent(
            "call.ended",
            {
                "call_id": "c-1001",
                "direction": "inbound",
                "from": "+4930123456",
                "to": "+4989654321",
                "status": "completed",
            },
        ),
    )


def test_a_batch_of_events_keeps_the_last_word_per_call() -> None:
    result = result_of(
        call("call.ringing", "c-1"),
        call("call.ringing", "c-2"),
        call("call.answered", "c-1", status="in_progress"),
        batch=True,
    )
    calls = result.records["calls"]
    assert [(r.external_id, r.data["status"]) for r in calls] == [
        ("c-2", "ringing"),
        ("c-1", "in_progress"),
    ]
    assert [e.type for e in result.events] == ["call.ringing", "call.ringing", "call.answered"]


def test_a_deleted_call_is_a_tombstone() -> None:
    result = result_of(call("call.deleted", "c-9"))
    assert result.records == {"calls": (SourceRecord("c-9", {}, deleted=True),)}
    assert [e.type for e in result.events] == ["call.deleted"]


def test_a_delivery_the_template_does_not_know_carries_nothing() -> None:
    result = result_of({"type": "agent.logged_in", "data": {"agent": "a-7"}})
    assert result == WebhookResult()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<xml/>", "phone webhook: the body is not JSON"),
        (b"[1]", "phone webhook: item 0 of the body is not a JSON object"),
        (b'"call"', "phone webhook: the body is not a JSON object"),
        (b'{"type": "call.ended", "data": {"status": "x"}}', "a record has no usable call_id"),
        (b'{"type": "call.ended", "data": [7]}', "a record is not a JSON object"),
    ],
)
def test_a_delivery_that_cannot_be_read_is_a_permanent_error(body: bytes, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        webhook_result(PHONE_TEMPLATE, body)


# -- loading -------------------------------------------------------------------------------------

TINY = """\
kind: webhook
name: tiny-hooks
title: Tiny hooks
description: Orders pushed by a shop.
entities:
  orders:
    records: order
    deleted: {path: status, equals: cancelled}
events:
  type: topic
"""


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(TemplateError) as caught:
        template_text_spec(text, "t.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_small_webhook_template_with_defaults() -> None:
    spec = template_text_spec(TINY)
    assert (spec.kind, spec.entities) == (IntegrationType.WEBHOOK, ("orders",))
    template = load_webhook_template(TINY).template
    body = b'{"topic": "orders/paid", "order": {"id": 5, "status": "paid", "total": 12.5}}'
    assert webhook_result(template, body) == WebhookResult(
        {"orders": (SourceRecord("5", {"id": 5, "status": "paid", "total": 12.5}),)},
        (WebhookEvent("orders/paid"),),
    )
    cancelled = b'{"topic": "orders/cancelled", "order": {"id": 5, "status": "cancelled"}}'
    assert webhook_result(template, cancelled).records["orders"][0].deleted


def test_webhook_template_problems_name_field_and_line() -> None:
    text = TINY.replace("equals: cancelled}", "equals: cancelled, prefix: can}")
    text = text.replace("  type: topic\n", "  type: topic\n  colour: red\n")
    text = text.replace("webhook\n", "webhook\nwebhook: {scheme: carrier-pigeon}\n")
    assert _problems(text) == [
        (2, "webhook.scheme", "Input should be 'standard', 'github', 'stripe' or 'shopify'"),
        (9, "entities.orders.deleted", "give exactly one of equals, in and prefix"),
        (12, "events.colour", "unknown field"),
    ]


# -- the adapter -------------------------------------------------------------------------------


async def test_the_adapter_only_waits_for_deliveries() -> None:
    adapter = PHONE.factory(phone_context())
    assert (await adapter.connect()).peer == "inbound webhooks (Standard Webhooks signatures)"
    status = await adapter.health_check()
    assert (status.ok, status.detail) == (True, "waiting for deliveries")
    for kind in SyncKind:
        batches = await collect(adapter, SyncRequest(("calls",), kind))
        assert [(b.entity, b.records, b.complete) for b in batches] == [("calls", (), True)]
    delivery = WebhookRequest({}, json.dumps(call("call.missed")).encode(), datetime.now(UTC))
    handled = await adapter.handle_webhook(delivery)
    assert [e.type for e in handled.events] == ["call.missed"]


async def test_the_adapter_refuses_settings_it_does_not_have() -> None:
    context = phone_context()
    adapter = PHONE.factory(
        AdapterContext("phone-1", {"host": "x"}, {}, context.http, context.limiter, context.clock)
    )
    with pytest.raises(ConfigError, match="phone settings of 'phone-1': host"):
        await adapter.connect()


class TestPhoneConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return PHONE

    @pytest.fixture
    def context(self) -> AdapterContext:
        return phone_context()


async def test_connect_needs_no_network_even_when_there_is_none() -> None:
    with anyio.fail_after(1):
        await PHONE.factory(phone_context()).connect()


def test_the_webhook_example_in_the_docs_loads_and_reads_a_delivery() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
    blocks = docs.read_text(encoding="utf-8").split("```yaml\n")[1:]
    [example] = [text for text in (b.split("```", 1)[0] for b in blocks) if "kind: webhook" in text]
    assert template_text_spec(example, "shop-orders.yaml").entities == ("orders",)
    template = load_webhook_template(example).template
    body = {
        "topic": "order.paid",
        "order": {"id": "o-1", "total": {"amount": 12.5}, "customer": {"email": "a@b.example"}},
    }
    result = webhook_result(template, json.dumps(body).encode())
    assert result.records["orders"][0].data == {
        "id": "o-1",
        "total": 12.5,
        "customer": "a@b.example",
        "topic": "order.paid",
    }
    assert result.events == (WebhookEvent("order.paid", {"order": "o-1"}),)
