"""What the dashboard's pages are made of, gathered from the running hub.

Each function here asks the store, the integration service or the actors for the facts one
part of a page needs (an integration's card, the counts, recent activity, the status panel)
and hands them to `api._dashboard_views` for the wording. The page handlers and the fragment
handlers (what the browser re-fetches on a live event) call the same functions, so a card
re-fetched after an event is exactly the card the page was rendered with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from actors._overview import IntegrationSummary, Overview
from adapters import AdapterSpec, ConfigError
from api._dashboard_views import (
    Activity,
    Badge,
    LastSync,
    Progress,
    activity,
    ago,
    badge,
    expected_records,
    is_issue,
    last_sync,
    latest_of,
    plain,
    progress,
    shown_events,
)
from config import IntegrationConfig
from runtime.bus import EventName
from runtime.store import EventRow, SyncRun

if TYPE_CHECKING:  # api._app imports this package's routes: no import cycle at run time
    from api._app import AppState

ACTIVITY_LINES = 12
ACTIVITY_SCAN = 500  # recent events read to find ACTIVITY_LINES that are not per-record ones
ISSUE_SCAN = 50  # an integration's recent events searched for why it is in trouble
DEFAULT_ICON = "🔌"

_BREAKER_WORDS = {
    "closed": "Healthy (circuit closed)",
    "open": "Failing (circuit open)",
    "half_open": "Recovering (circuit half-open)",
}


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    name: str
    icon: str
    adapter: str
    status: str
    badge: Badge
    issue: bool
    last_sync: LastSync
    records: int
    next_sync: str
    progress: Progress | None
    problem: str  # why it is in trouble, for an issue


@dataclass(frozen=True, slots=True)
class Counts:
    active: int
    issues: int
    total: int


def overview(state: AppState) -> Overview:
    return Overview(state.store, state.integrations, state.hub)


def now_of(state: AppState) -> datetime:
    """The hub's wall clock (injectable in tests), so pages and the scheduler agree."""
    return state.hub.deps.now()


def spec_of(state: AppState, adapter: str) -> AdapterSpec | None:
    try:
        return state.running.services.registry.get(adapter)
    except ConfigError:  # its plugin is gone; the integration still shows
        return None


def entities_of(state: AppState, config: IntegrationConfig) -> tuple[str, ...]:
    """The configured entities, else the adapter's (as the integration actor syncs them)."""
    if config.entities:
        return config.entities
    spec = spec_of(state, config.adapter)
    return spec.entities if spec is not None else ()


async def sync_progress(
    state: AppState, summary: IntegrationSummary, runs: Sequence[SyncRun] | None = None
) -> Progress | None:
    sync = summary.sync
    if sync is None:
        return None
    config = summary.view.config
    entities = entities_of(state, config)
    if runs is None:
        runs = (await state.store.list_runs(config.id, limit=4 * max(1, len(entities)))).items
    processed = sync.added + sync.updated + sync.unchanged
    return progress(sync.entity, processed, expected_records(runs, entities))


async def card(state: AppState, summary: IntegrationSummary, now: datetime) -> Card:
    view = summary.view
    config = view.config
    spec = spec_of(state, config.adapter)
    problem = ""
    if is_issue(view.status):
        problem = await trouble(state, config.id)
    return Card(
        id=config.id,
        name=config.name,
        icon=spec.icon if spec is not None else DEFAULT_ICON,
        adapter=spec.title if spec is not None else config.adapter,
        status=view.status,
        badge=badge(view.status),
        issue=is_issue(view.status),
        last_sync=last_sync(summary.last_run, now),
        records=summary.total_records,
        next_sync=ago(summary.next_sync_at, now) if summary.next_sync_at else "",
        progress=await sync_progress(state, summary),
        problem=problem,
    )


async def cards(state: AppState) -> list[Card]:
    now = now_of(state)
    return [await card(state, summary, now) for summary in await overview(state).summaries()]


async def trouble(state: AppState, integration_id: str) -> str:
    """Why an integration is in error or parked: its latest error event's detail."""
    events = await state.store.recent_events(ISSUE_SCAN, integration_id)
    event = latest_of(events, EventName.ERROR, EventName.PARKED)
    if event is None:
        return ""
    kind = event.data.get("kind")
    detail = plain(str(event.data.get("detail") or event.data.get("error") or ""))
    prefix = f"{str(kind).capitalize()} error" if kind else "Failed"
    return f"{prefix}: {detail}" if detail else prefix


async def counts(state: AppState) -> Counts:
    views = await state.integrations.list()
    return Counts(
        active=sum(1 for view in views if view.config.enabled),
        issues=sum(1 for view in views if is_issue(view.status)),
        total=len(views),
    )


async def names(state: AppState) -> dict[str, str]:
    return {view.config.id: view.config.name for view in await state.integrations.list()}


async def recent_activity(
    state: AppState, integration_id: str | None = None, limit: int = ACTIVITY_LINES
) -> list[Activity]:
    events = await state.store.recent_events(ACTIVITY_SCAN, integration_id)
    known = await names(state)
    return [activity(event, known) for event in shown_events(events, limit)]


# -- the integration page's status panel ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    card: Card
    config: IntegrationConfig
    records: Mapping[str, int]
    health: str
    health_at: datetime | None
    rate_limit: str
    rate_limited: str
    rate_limited_at: datetime | None


async def status(state: AppState, summary: IntegrationSummary) -> Status:
    config = summary.view.config
    now = now_of(state)
    events = await state.store.recent_events(ACTIVITY_SCAN, config.id)
    health = latest_of(events, EventName.HEALTH_CHANGED)
    limited = latest_of(events, EventName.RATE_LIMITED)
    return Status(
        card=await card(state, summary, now),
        config=config,
        records={
            entity: summary.records.get(entity, 0)
            for entity in (*entities_of(state, config), *summary.records)
        },
        health=_health(summary.view.status, health),
        health_at=health.time if health is not None else None,
        rate_limit=_limit_text(config),
        rate_limited=_limited_text(limited),
        rate_limited_at=limited.time if limited is not None else None,
    )


def _health(status: str, event: EventRow | None) -> str:
    if event is not None:
        state = str(event.data.get("to", ""))
        return _BREAKER_WORDS.get(state, state or "unknown")
    if status == "active":
        return _BREAKER_WORDS["closed"]
    return "Not checked (not connected)"


def _limit_text(config: IntegrationConfig) -> str:
    limits = config.rate_limits
    if limits is None:
        return "No limit configured"
    per = "s" if limits.period == 1 else f"{limits.period:g} s"
    return f"{limits.rate:g} requests per {per}, burst {limits.burst}"


def _limited_text(event: EventRow | None) -> str:
    if event is None:
        return "Never rate limited"
    detail = str(event.data.get("detail") or "")
    return f"Rate limited: {detail}" if detail else "Rate limited"
