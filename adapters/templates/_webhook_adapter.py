"""The adapter a webhook-only template runs as: nothing to pull, deliveries to read.

`connect` needs no network (there is no peer to reach: the peer calls us), `health_check`
is always ok ("waiting for deliveries"), and `sync` has nothing to fetch: each requested
entity gets one empty, complete batch, which is what the contract and the actor expect of a
pass. The records come from `handle_webhook`, which the integration's actor calls with
each delivery the hub has verified and stored (`_webhook_mapping` reads it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import ClassVar

import anyio.lowlevel

from adapters._contract import Adapter, AdapterSpec
from adapters._values import (
    Batch,
    ConnectionInfo,
    HealthStatus,
    SyncRequest,
    WebhookRequest,
    WebhookResult,
)
from adapters.templates._catalog import catalog_spec, require_entities
from adapters.templates._settings import check_settings
from adapters.templates._webhook_mapping import webhook_result
from adapters.templates._webhook_model import CompiledWebhook
from config import IntegrationType

_SCHEME_TITLES = {
    "standard": "Standard Webhooks",
    "github": "GitHub",
    "stripe": "Stripe",
    "shopify": "Shopify",
}


class WebhookTemplateAdapter(Adapter):
    """Runs one webhook-only template for one integration (`webhook_template_spec` makes a
    subclass per template, named after it)."""

    template: ClassVar[CompiledWebhook]

    async def connect(self) -> ConnectionInfo:
        self._check_settings()
        await anyio.lowlevel.checkpoint()
        scheme = _SCHEME_TITLES.get(self.template.scheme.value, self.template.scheme.value)
        return ConnectionInfo(peer=f"inbound webhooks ({scheme} signatures)")

    async def health_check(self) -> HealthStatus:
        started = self.context.clock.now()
        self._check_settings()
        await anyio.lowlevel.checkpoint()
        return HealthStatus(True, self.context.clock.now() - started, "waiting for deliveries")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        """Nothing to pull: one empty, complete batch per entity."""
        entities = self.template.template.entities
        require_entities(self.name, request.entities, entities)
        for entity in request.entities:
            await anyio.lowlevel.checkpoint()
            yield Batch(entity, (), {"kind": request.kind.value, "done": True}, complete=True)

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """The records and events of a delivery the hub has verified."""
        await anyio.lowlevel.checkpoint()
        return webhook_result(self.template.template, request.body)

    def _check_settings(self) -> None:
        check_settings(
            self.template.settings_model,
            self.context.settings,
            adapter=self.name,
            integration=self.context.integration_id,
        )


def webhook_template_spec(compiled: CompiledWebhook) -> AdapterSpec:
    """The catalog entry and factory of a webhook-only template."""
    return catalog_spec(
        compiled, WebhookTemplateAdapter, IntegrationType.WEBHOOK, compiled.template.entities
    )
