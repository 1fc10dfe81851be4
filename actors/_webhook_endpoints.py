"""Which integrations take webhooks, and their verifiers, cached: no database work per delivery.

An integration takes webhooks when it exists, is enabled, has a `webhook` configuration and a
`webhook_secret` credential. What its verifier needs (scheme, tolerance, the opened secret) is
read once and kept with the integration's `version`, which every change of its configuration
or credentials raises. A cached answer is trusted for `revalidate_after` seconds; then one
request looks at the version again (one primary-key read) while the others go on with the
cached answer, and only a changed version reloads the secret. A change so takes effect within
`revalidate_after` seconds plus one read. Unknown ids are cached too (as "no endpoint"), so a
flood of made-up ids costs one read per id per period, and the cache is emptied when it holds
`max_entries`. (An integration deleted and created again under its id starts at version 1
again: its creation time is compared too.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from actors._integrations import IntegrationService
from adapters import WebhookVerifier
from config import IntegrationConfig
from runtime.store import IntegrationRow, NotFound, Store

log = logging.getLogger("actors.webhooks")

SECRET_FIELD = "webhook_secret"


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    integration_id: str
    version: int
    verifier: WebhookVerifier


Version = tuple[datetime, int]  # (created_at, version): an integration deleted and created
# again under the same id starts at version 1 again


@dataclass(frozen=True, slots=True)
class _Entry:
    endpoint: WebhookEndpoint | None
    version: Version | None  # None: no such integration
    checked_at: float


class WebhookEndpoints:
    def __init__(
        self,
        store: Store,
        integrations: IntegrationService,
        *,
        revalidate_after: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self._store = store
        self._integrations = integrations
        self._ttl = revalidate_after
        self._clock = clock
        self._max = max_entries
        self._entries: dict[str, _Entry] = {}

    async def get(self, integration_id: str) -> WebhookEndpoint | None:
        """The integration's endpoint, or None when it takes no webhooks (or is unknown)."""
        entry = self._entries.get(integration_id)
        now = self._clock()
        if entry is not None and now - entry.checked_at < self._ttl:
            return entry.endpoint
        if entry is not None:  # the others keep using it while this request looks
            self._entries[integration_id] = replace(entry, checked_at=now)
        try:
            row = await self._store.get_integration(integration_id)
        except NotFound:
            return self._keep(integration_id, _Entry(None, None, now))
        version = (row.created_at, row.version)
        if entry is not None and entry.version == version:
            return entry.endpoint
        return self._keep(integration_id, _Entry(await self._load(row), version, now))

    def _keep(self, integration_id: str, entry: _Entry) -> WebhookEndpoint | None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[integration_id] = entry
        return entry.endpoint

    async def _load(self, row: IntegrationRow) -> WebhookEndpoint | None:
        config = IntegrationConfig.model_validate(row.config)
        if not config.enabled or config.webhook is None:
            return None
        secret = (await self._integrations.credentials(row.id)).get(SECRET_FIELD)
        if secret is None:
            log.warning(
                "integration %s: webhooks configured but no %r credential; refusing its deliveries",
                row.id,
                SECRET_FIELD,
            )
            return None
        webhook = config.webhook
        try:
            verifier = WebhookVerifier.from_secret(
                webhook.scheme, secret.reveal(), webhook.tolerance_seconds
            )
        except ValueError as error:  # the message names the problem, never the secret
            log.warning("integration %s: %s; refusing its deliveries", row.id, error)
            return None
        return WebhookEndpoint(row.id, row.version, verifier)
