"""`POST /webhooks/{integration_id}`: inbound webhooks, verified on the raw body, stored, then
processed by the integration's actor.

In order, each step answering before the next costs anything:
1. the integration must take webhooks (exists, enabled, `webhook` configured, a
   `webhook_secret` set): else 404, the same for every reason, so the answer tells a stranger
   nothing about which integrations exist;
2. the body is read up to `webhook_max_body_bytes` (Content-Length is checked first, but the
   bytes are counted as they arrive, so a chunked or lying body is cut off too): else 413;
3. the signature is checked on the raw bytes, nothing parsed yet: else 401 with one generic
   detail, the reason going to our log only;
4. the delivery is stored (group commit) before anything is answered: 202 for a new one, 200
   for a duplicate delivery id (stored before, not processed again), 503 (with Retry-After)
   when it could not be stored, so the sender sends it again.

Nothing a sender sent is echoed, and no log line carries a header value, the body or the
secret.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from aiohttp import web
from multidict import CIMultiDictProxy

from actors._webhook_endpoints import WebhookEndpoint
from actors._webhook_intake import IntakeUnavailable, IntegrationGone
from actors._webhook_service import WebhookService
from adapters import SignatureError
from api import _app
from api._problems import Problem
from runtime.store import StoreError

log = logging.getLogger("api.webhooks")

ROUTE = "/webhooks/{integration_id}"
CHUNK = 64 * 1024
RETRY_AFTER = "5"  # seconds, when a delivery could not be stored
_INTEGRATION_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Headers that are never stored with a delivery: credentials of the sender's own.
_NOT_STORED = frozenset({"authorization", "cookie", "proxy-authorization"})


def _not_found() -> Problem:
    return Problem(404, "no webhook endpoint here")


def _unverified() -> Problem:
    return Problem(401, "the webhook signature could not be verified", title="Unauthorized")


def setup(app: web.Application) -> None:
    """Register this part's routes."""
    app.router.add_post(ROUTE, receive)


async def receive(request: web.Request) -> web.Response:
    running = _app.state_of(request).running
    webhooks = running.webhooks
    integration_id = request.match_info["integration_id"]
    if not _INTEGRATION_ID.fullmatch(integration_id):
        raise _not_found()
    endpoint = await _endpoint(webhooks, integration_id)
    body = await read_limited(request, running.services.settings.webhook_max_body_bytes)
    try:
        verified = endpoint.verifier.verify(request.headers, body, now=time.time())
    except SignatureError as error:
        log.warning("webhook for %s refused: %s", integration_id, error.reason)
        raise _unverified() from None
    try:
        new = await webhooks.accept(
            integration_id, verified.delivery_id, stored_headers(request.headers), body
        )
    except IntegrationGone:
        raise _not_found() from None
    except IntakeUnavailable as error:
        log.warning("webhook for %s not stored: %s", integration_id, error)
        raise Problem(
            503, "the delivery could not be stored; send it again", headers=_retry()
        ) from None
    return web.Response(status=202 if new else 200)


async def _endpoint(webhooks: WebhookService, integration_id: str) -> WebhookEndpoint:
    try:
        endpoint = await webhooks.endpoint(integration_id)
    except StoreError as error:
        log.warning("webhook for %s: endpoint not readable: %s", integration_id, error)
        raise Problem(503, "webhooks cannot be taken right now", headers=_retry()) from None
    if endpoint is None:
        raise _not_found()
    return endpoint


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to be longer than `limit` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    if declared is not None and not request.headers.get("Transfer-Encoding"):
        # The parser hands over exactly Content-Length bytes, never more.
        try:
            return await request.content.readexactly(declared)
        except asyncio.IncompleteReadError:
            raise Problem(400, "the body ended before its Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def stored_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """The headers kept with a delivery (lower-case names; a repeated one's first value)."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in _NOT_STORED:
            kept.setdefault(lowered, value)
    return kept


def _too_large(limit: int) -> Problem:
    return Problem(413, f"the body is larger than {limit} bytes", title="Content Too Large")


def _retry() -> dict[str, str]:
    return {"Retry-After": RETRY_AFTER}
