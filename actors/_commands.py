"""What users ask of integrations, carried out in order: store the change, then move the hub.

Every change is stored first (`IntegrationService`: validated, audited, announced), then the
hub follows it: a new enabled integration gets an actor, an edited one restarts with its new
configuration, a disabled one stops; a deleted one is stopped *before* it is deleted, so no
actor writes runs for an integration that is gone. One lock serialises these sequences, so two
changes never interleave their store write and their hub move.

Asking a running integration for something (sync, test, reconnect) may be refused for a
reason the caller can act on; `Refused.reason` says which, and the API turns it into a status
and an instruction.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import anyio

from actors._hub import Hub
from actors._integrations import IntegrationService, IntegrationView
from actors._messages import SyncRefusal, SyncReply, TestResult
from adapters import SyncKind
from runtime import ActorError


class Refusal(StrEnum):
    DISABLED = "disabled"  # the configuration says enabled: false
    NOT_CONNECTED = "not_connected"  # credentials or configuration refused: fix, reconnect
    RESTARTING = "restarting"  # restarting or parked after crashes: retried automatically
    SYNC_RUNNING = "sync_running"  # a sync of this integration is running


class Refused(Exception):
    def __init__(self, integration_id: str, reason: Refusal) -> None:
        super().__init__(f"integration {integration_id!r}: {reason}")
        self.integration_id = integration_id
        self.reason = reason


_SYNC_REFUSALS = {
    SyncRefusal.ALREADY_RUNNING: Refusal.SYNC_RUNNING,
    SyncRefusal.NOT_CONNECTED: Refusal.NOT_CONNECTED,
}


class IntegrationCommands:
    def __init__(self, integrations: IntegrationService, hub: Hub) -> None:
        self._integrations = integrations
        self._hub = hub
        self._lock = anyio.Lock()

    async def create(self, data: Mapping[str, object], *, origin: str) -> IntegrationView:
        """`InvalidIntegration` for bad input, `runtime.store.Conflict` if the id exists."""
        async with self._lock:
            view = await self._integrations.create(data, origin=origin)
            self._hub.deps.notify()  # its config_changed event is in the outbox: relay it now
            await self._hub.apply(view.config.id, enabled=view.config.enabled)
            return await self._integrations.get(view.config.id)

    async def update(
        self,
        integration_id: str,
        changes: Mapping[str, object],
        *,
        origin: str,
        expected_version: int | None = None,
    ) -> IntegrationView:
        """A JSON merge patch; `Conflict` when `expected_version` is not the stored one."""
        async with self._lock:
            view = await self._integrations.update(
                integration_id, changes, origin=origin, expected_version=expected_version
            )
            self._hub.deps.notify()
            await self._hub.apply(integration_id, enabled=view.config.enabled)
            return await self._integrations.get(integration_id)

    async def delete(self, integration_id: str, *, origin: str) -> None:
        """Stop the actor, then delete; if the delete fails, the actor is started again."""
        async with self._lock:
            view = await self._integrations.get(integration_id)
            await self._hub.remove(integration_id)
            try:
                await self._integrations.delete(integration_id, origin=origin)
            except Exception:
                await self._hub.apply(integration_id, enabled=view.config.enabled)
                raise
            self._hub.deps.notify()

    async def reconnect(self, integration_id: str) -> IntegrationView:
        """Start the integration over now (no backoff); its view after the first attempt."""
        async with self._lock:
            view = await self._integrations.get(integration_id)
            if not view.config.enabled:
                raise Refused(integration_id, Refusal.DISABLED)
            await self._hub.reconnect(integration_id)
            return await self._integrations.get(integration_id)

    async def sync(self, integration_id: str, kind: SyncKind = SyncKind.FULL) -> SyncReply:
        """Start a sync; the reply names the first run. `Refused` when it cannot start."""
        await self._require_running(integration_id)
        try:
            reply = await self._hub.start_sync(integration_id, kind)
        except (KeyError, ActorError):
            raise Refused(integration_id, Refusal.RESTARTING) from None
        if reply.refused is not None:
            raise Refused(integration_id, _SYNC_REFUSALS[reply.refused])
        return reply

    async def test(self, integration_id: str) -> TestResult:
        """Test the running integration's connection (before the background work)."""
        await self._require_running(integration_id)
        try:
            return await self._hub.test_connection(integration_id)
        except (KeyError, ActorError):
            raise Refused(integration_id, Refusal.RESTARTING) from None

    async def _require_running(self, integration_id: str) -> None:
        view = await self._integrations.get(integration_id)
        if not view.config.enabled:
            raise Refused(integration_id, Refusal.DISABLED)
        if not self._hub.is_running(integration_id):
            raise Refused(integration_id, Refusal.RESTARTING)
