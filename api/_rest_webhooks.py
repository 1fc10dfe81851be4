"""An integration's inbound webhook deliveries: list them, replay one.

Deliveries are stored before they are answered (`api._webhooks`) and processed by the
integration's actor; `actors.WebhookService` lists them (newest first, by status) and replays
one from its first attempt. The list shows a delivery's state, never its payload or headers:
those are the sender's, and may carry what the sender considers secret.
"""

from __future__ import annotations

import re

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from actors._webhook_service import WebhookSummary
from api._openapi_ops import INTEGRATION_ID, PAGE, Operation, Param, Reply
from api._problems import FieldError, Problem, invalid
from api._rest_io import (
    bad_cursor,
    integration_id,
    query_cursor,
    query_limit,
    respond,
    rest_of,
    translated,
)
from api._schemas import Time
from runtime.store import Conflict, InvalidValue, NotFound, WebhookStatus

_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,256}")  # as senders send them: printable ASCII


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(description="The hub's id of the delivery.")
    delivery_id: str = Field(description="The sender's id (it deduplicates).")
    received_at: Time
    status: WebhookStatus
    attempts: int
    last_error: str | None
    processed_at: Time | None
    next_attempt_at: Time | None = Field(description="When it is tried (again), if it will be.")
    payload_kept: bool = Field(description="False once retention dropped the body: no replay.")


class WebhookPage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    items: list[WebhookDelivery]
    next_cursor: str | None


def delivery_out(summary: WebhookSummary) -> WebhookDelivery:
    return WebhookDelivery(
        id=summary.id,
        delivery_id=summary.delivery_id,
        received_at=summary.received_at,
        status=summary.status,
        attempts=summary.attempts,
        last_error=summary.last_error,
        processed_at=summary.processed_at,
        next_attempt_at=summary.next_attempt_at,
        payload_kept=summary.payload_kept,
    )


@translated
async def list_webhooks(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    limit, cursor = query_limit(request), query_cursor(request)
    status = _status(request)
    try:
        page = await rest.state.running.webhooks.list(
            target, status=status, limit=limit, before=cursor
        )
    except InvalidValue:
        raise bad_cursor() from None
    items = [delivery_out(summary) for summary in page.items]
    return respond(WebhookPage(items=items, next_cursor=page.next_cursor))


@translated
async def replay_webhook(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    delivery_id = request.match_info["delivery_id"]
    await rest.state.integrations.get(target)
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise _no_delivery()
    try:
        summary = await rest.state.running.webhooks.replay(target, delivery_id)
    except NotFound:
        raise _no_delivery() from None
    except Conflict:
        raise Problem(
            409, "retention has dropped this delivery's payload: it cannot be replayed"
        ) from None
    return respond(delivery_out(summary), 202)


def _no_delivery() -> Problem:
    return Problem(404, "this integration has no webhook delivery with this id")


def _status(request: web.Request) -> WebhookStatus | None:
    values = request.query.getall("status", [])
    if len(values) > 1:
        raise invalid([FieldError("status", "must be given at most once")])
    if not values:
        return None
    try:
        return WebhookStatus(values[0])
    except ValueError:
        known = ", ".join(WebhookStatus)
        raise invalid([FieldError("status", f"must be one of {known}")]) from None


STATUS = Param(
    "status",
    "query",
    {"type": "string", "enum": [str(status) for status in WebhookStatus]},
    "Only deliveries in this state.",
)
DELIVERY_ID = Param(
    "delivery_id",
    "path",
    {"type": "string", "pattern": r"^[\x21-\x7e]{1,256}$"},
    "The sender's delivery id (e.g. the webhook-id header).",
    required=True,
)

OPERATIONS = (
    Operation(
        "GET",
        "/api/integrations/{id}/webhooks",
        "listWebhooks",
        "Inbound webhook deliveries and their processing state, newest first",
        "webhooks",
        {200: Reply("A page of deliveries (no payloads).", WebhookPage)},
        errors=(404, 422),
        handler=list_webhooks,
        params=(INTEGRATION_ID, STATUS, *PAGE),
    ),
    Operation(
        "POST",
        "/api/integrations/{id}/webhooks/{delivery_id}/replay",
        "replayWebhook",
        "Process a delivery again, from its first attempt (any status)",
        "webhooks",
        {202: Reply("Queued for its integration's actor.", WebhookDelivery)},
        errors=(404, 409),
        handler=replay_webhook,
        params=(INTEGRATION_ID, DELIVERY_ID),
    ),
)
