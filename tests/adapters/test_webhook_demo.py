"""The demo adapter's webhooks: a JSON body of customers and invoices becomes their records;
a body that is not one is a permanent error (retrying it would not help)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from adapters import PermanentError, SourceRecord, WebhookEvent, WebhookRequest
from adapters.demo import DemoAdapter
from tests.adapters.test_demo import _context


async def _handle(body: bytes) -> tuple[dict[str, tuple[SourceRecord, ...]], tuple[object, ...]]:
    adapter = DemoAdapter(_context())
    result = await adapter.handle_webhook(WebhookRequest({}, body, datetime.now(UTC)))
    return dict(result.records), result.events


async def test_demo_webhook_records_deletions_and_event_are_read() -> None:
    body = orjson.dumps(
        {
            "event": "customer.updated",
            "customers": [{"id": "K10001", "name": "Muster GmbH"}, {"id": 7, "name": "Seven"}],
            "deleted": {"invoices": ["R-1"], "customers": ["K10002"]},
        }
    )

    records, events = await _handle(body)

    assert records == {
        "customers": (
            SourceRecord("K10001", {"id": "K10001", "name": "Muster GmbH"}),
            SourceRecord("7", {"id": 7, "name": "Seven"}),
            SourceRecord("K10002", {}, deleted=True),
        ),
        "invoices": (SourceRecord("R-1", {}, deleted=True),),
    }
    assert events == (WebhookEvent("customer.updated"),)


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"not json", "(body)"),
        (b'{"suppliers": []}', "suppliers"),
        (b'{"customers": [{"name": "no id"}]}', "needs an id"),
        (b'{"customers": [{"id": ""}]}', "needs an id"),
        (b'{"customers": [{"id": true}]}', "needs an id"),
        (b'{"deleted": {"suppliers": ["x"]}}', "deleted"),
    ],
)
async def test_demo_webhook_that_is_not_one_is_a_permanent_error(body: bytes, names: str) -> None:
    with pytest.raises(PermanentError) as refused:
        await _handle(body)

    assert names in str(refused.value)
    assert b"no id" not in str(refused.value).encode()
