"""What the API and the dashboard show about integrations: one read model for both.

A summary joins the stored configuration and status with the latest run, the record counts,
the planned next sync and, from the running actor, the sync in progress. An integration whose
actor is not running (disabled, parked, just removed) simply has no sync in progress.

Pages follow the store's order (creation time, then id) with the same kind of opaque cursor
the store's own listings use: the last item's key, so a page never repeats or skips an
integration when others are added or deleted in between.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio

from actors._hub import Hub
from actors._integrations import IntegrationService, IntegrationView
from actors._messages import SyncState
from runtime.store import InvalidValue, Page, Store, SyncRun

SYNC_STATE_TIMEOUT = 2.0  # seconds; a busy actor must not hold up a page of the dashboard
_CURSOR_KIND = "integrations"


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
        return await self._gather(await self._integrations.list())

    async def page(self, *, limit: int, after: str | None = None) -> Page[IntegrationSummary]:
        """Up to `limit` integrations after the cursor `after` (the previous page's
        `next_cursor`); `runtime.store.InvalidValue` for a cursor that is not one of these."""
        if limit < 1:
            raise InvalidValue(f"limit must be at least 1, got {limit}")
        views = await self._integrations.list()
        if after is not None:
            key = decode_cursor(after)
            views = [view for view in views if _key(view) > key]
        chosen = views[:limit]
        more = len(views) > limit
        return Page(tuple(await self._gather(chosen)), encode_cursor(chosen[-1]) if more else None)

    async def _gather(self, views: Sequence[IntegrationView]) -> list[IntegrationSummary]:
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


def _key(view: IntegrationView) -> tuple[str, str]:
    """Fixed-width UTC text, so that text order is time order."""
    return view.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), view.config.id


def encode_cursor(view: IntegrationView) -> str:
    raw = json.dumps([_CURSOR_KIND, *_key(view)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, created_at, integration_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidValue("not a valid cursor") from None
    if kind != _CURSOR_KIND or not all(isinstance(v, str) for v in (created_at, integration_id)):
        raise InvalidValue("not a cursor of integrations")
    return created_at, integration_id
