"""What the API and the dashboard show about integrations: one read model for both.

A summary joins the stored configuration and status with the latest run, the record counts,
the planned next sync and, from the running actor, the sync in progress. An integration whose
actor is not running (disabled, parked, just removed) simply has no sync in progress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import anyio

from actors._hub import Hub
from actors._integrations import IntegrationService, IntegrationView
from actors._messages import SyncState
from runtime.store import Store, SyncRun

SYNC_STATE_TIMEOUT = 2.0  # seconds; a busy actor must not hold up a page of the dashboard


@dataclass(frozen=True, slots=True)
class IntegrationSummary:
    view: IntegrationView
    last_run: SyncRun | None
    records: Mapping[str, int]
    next_sync_at: datetime | None
    sync: SyncState | None  # None: no sync in progress

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


class Overview:
    def __init__(self, store: Store, integrations: IntegrationService, hub: Hub) -> None:
        self._store = store
        self._integrations = integrations
        self._hub = hub

    async def summary(self, integration_id: str) -> IntegrationSummary:
        """`runtime.store.NotFound` if there is no such integration."""
        return await self._summarise(await self._integrations.get(integration_id))

    async def summaries(self) -> list[IntegrationSummary]:
        """Every integration, in the store's order, gathered concurrently."""
        views = await self._integrations.list()
        results: list[IntegrationSummary | None] = [None] * len(views)

        async def one(index: int, view: IntegrationView) -> None:
            results[index] = await self._summarise(view)

        async with anyio.create_task_group() as tg:
            for index, view in enumerate(views):
                tg.start_soon(one, index, view)
        return [summary for summary in results if summary is not None]

    async def _summarise(self, view: IntegrationView) -> IntegrationSummary:
        integration_id = view.config.id
        runs = await self._store.list_runs(integration_id, limit=1)
        return IntegrationSummary(
            view=view,
            last_run=runs.items[0] if runs.items else None,
            records=await self._store.count_records(integration_id),
            next_sync_at=await self._store.next_sync(integration_id),
            sync=await self._sync_in_progress(integration_id),
        )

    async def _sync_in_progress(self, integration_id: str) -> SyncState | None:
        if integration_id not in self._hub.refs:
            return None
        with anyio.move_on_after(SYNC_STATE_TIMEOUT):
            try:
                state = await self._hub.sync_state(integration_id)
            except Exception:  # the actor is restarting or gone: nothing in progress to show
                return None
            return state if state.running else None
        return None
