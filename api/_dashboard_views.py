"""What the dashboard's templates show, as plain values computed by pure functions.

The handlers gather the facts (summaries, runs, events) and these functions turn them into
what a person reads: "last sync 5 min ago", a status badge, a progress estimate, one line of
activity per event. No I/O here, so every wording and every estimate is tested without a
server; the templates only lay the values out (and escape them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from runtime.bus import EventName
from runtime.store import EventRow, RunStatus, SyncRun

ISSUE_STATUSES = frozenset({"error", "parked"})
TYPE_PREFIX = "hub.integration."
PROGRESS_CAP = 99  # percent: an estimate never claims a running sync is done
MINUTE, HOUR, DAY = 60, 3600, 86400


@dataclass(frozen=True, slots=True)
class Badge:
    css: str  # ok | busy | warn | err | muted
    label: str
    icon: str


_BADGES = {
    "active": Badge("ok", "Active", "✅"),
    "connecting": Badge("busy", "Connecting", "🔄"),
    "inactive": Badge("muted", "Inactive", "⏸"),
    "error": Badge("err", "Error", "⚠️"),
    "parked": Badge("err", "Parked", "⚠️"),
}


def badge(status: str) -> Badge:
    return _BADGES.get(status, Badge("muted", status.capitalize() or "Unknown", "•"))


def is_issue(status: str) -> bool:
    return status in ISSUE_STATUSES


# How a sender signs its webhooks (`config.WebhookScheme`), as the wizard offers them.
WEBHOOK_SCHEMES: Mapping[str, str] = {
    "standard": "Standard Webhooks",
    "github": "GitHub",
    "stripe": "Stripe",
    "shopify": "Shopify",
}


def scheme_title(scheme: str) -> str:
    return WEBHOOK_SCHEMES.get(scheme, scheme)


# -- time --------------------------------------------------------------------------------------


def ago(then: datetime | None, now: datetime) -> str:
    """A time for people: "just now", "5 min ago", "3 h ago"; "in 4 min" ahead."""
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    if seconds < 45:
        return "just now"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    if seconds < 45:
        return "less than a minute"
    if seconds < HOUR:
        return f"{max(1, round(seconds / MINUTE))} min"
    if seconds < DAY:
        return f"{round(seconds / HOUR)} h"
    days = round(seconds / DAY)
    return "1 day" if days == 1 else f"{days} days"


def duration(seconds: float | None) -> str:
    """A length of time for people: "0.42 s", "12 s", "3 min 5 s"; "—" when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < MINUTE:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < HOUR:
        minutes, rest = divmod(round(seconds), MINUTE)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(round(seconds), HOUR)
    return f"{hours} h {rest // MINUTE} min"


def run_seconds(run: SyncRun) -> float | None:
    if run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def number(value: int) -> str:
    return f"{value:,}"


# -- syncs -------------------------------------------------------------------------------------


def seen(run: SyncRun) -> int:
    """Records a run read from the source (deleted ones were not read: they were missing)."""
    return run.added + run.updated + run.unchanged


@dataclass(frozen=True, slots=True)
class Progress:
    """A running sync as a bar: `percent` None when there is nothing to estimate it from."""

    entity: str
    processed: int
    expected: int | None
    percent: int | None

    @property
    def text(self) -> str:
        where = f"{self.entity}: " if self.entity else ""
        if self.expected is None:
            return f"{where}{number(self.processed)} records so far"
        return f"{where}{number(self.processed)} of ~{number(self.expected)} records"


def expected_records(runs: Iterable[SyncRun], entities: Sequence[str]) -> int | None:
    """What a full sync will read, judged by each entity's latest completed run (newest
    first in `runs`); None when an entity has none yet (the first sync)."""
    latest: dict[str, int] = {}
    for run in runs:
        if run.status is RunStatus.COMPLETED and run.entity not in latest:
            latest[run.entity] = seen(run)
    if not entities or any(entity not in latest for entity in entities):
        return None
    return sum(latest[entity] for entity in entities)


def progress(entity: str, processed: int, expected: int | None) -> Progress:
    """The sync's counts are over all its entities so far, so is the estimate."""
    if not expected:
        return Progress(entity, processed, None, None)
    percent = min(PROGRESS_CAP, processed * 100 // expected)
    return Progress(entity, processed, expected, percent)


@dataclass(frozen=True, slots=True)
class LastSync:
    """The card's "Last sync: 5 min ago" line."""

    text: str
    failed: bool
    run_id: str


def last_sync(run: SyncRun | None, now: datetime) -> LastSync:
    if run is None:
        return LastSync("never", failed=False, run_id="")
    at = run.finished_at or run.started_at
    if run.status is RunStatus.RUNNING:
        return LastSync(f"started {ago(at, now)}", failed=False, run_id=run.id)
    failed = run.status is RunStatus.FAILED
    word = "failed " if failed else ""
    return LastSync(f"{word}{ago(at, now)}", failed=failed, run_id=run.id)


# -- events ------------------------------------------------------------------------------------


def event_name(event: EventRow) -> str:
    return event.type.removeprefix(TYPE_PREFIX)


@dataclass(frozen=True, slots=True)
class Activity:
    """One line of "Recent Activity"."""

    id: str
    integration_id: str
    icon: str
    text: str
    time: datetime
    level: str  # ok | info | warn | err


def activity(event: EventRow, names: Mapping[str, str]) -> Activity:
    """`names` maps integration ids to their names (a deleted one shows by its id)."""
    name = names.get(event.integration_id, event.integration_id)
    icon, level, text = _describe(event_name(event), event.data, name)
    return Activity(event.id, event.integration_id, icon, text, event.time, level)


_ACTIVITY: dict[str, tuple[str, str, str]] = {
    EventName.SYNC_COMPLETED: ("✅", "ok", "{name} sync completed{on}: {counts}"),
    EventName.SYNC_STARTED: ("🔄", "info", "{name} sync started{on}{resumed}"),
    EventName.SYNC_FAILED: ("❌", "err", "{name} sync failed{on}{detail}"),
    EventName.ERROR: ("⚠️", "err", "{name}: {kind} error{detail}"),
    EventName.PARKED: ("⚠️", "err", "{name} parked after repeated failures{detail}"),
    EventName.CONNECTED: ("🔌", "ok", "{name} connected"),
    EventName.DISCONNECTED: ("🔌", "warn", "{name} disconnected"),
    EventName.RESTARTED: ("🔁", "warn", "{name} restarted{detail}"),
    EventName.HEALTH_CHANGED: ("🩺", "warn", "{name} health {old} → {new}"),
    EventName.RATE_LIMITED: ("⏳", "warn", "{name} rate limited{detail}"),
    EventName.CONFIG_CHANGED: ("⚙️", "info", "{name} {change}"),
    EventName.WEBHOOK_RECEIVED: ("📨", "info", "{name} webhook received"),
}


def _describe(kind: str, data: Mapping[str, object], name: str) -> tuple[str, str, str]:
    """One table says how each kind of event reads; the event's data fills it in."""
    icon, level, template = _ACTIVITY.get(kind, ("•", "info", "{name}: " + kind.replace("_", " ")))
    entity = _text(data.get("entity"))
    detail = plain(_text(data.get("detail") or data.get("error")))
    parts = {
        "name": name,
        "on": f" ({entity})" if entity else "",
        "detail": f": {detail}" if detail else "",
        "counts": _counts(data),
        "resumed": " (resumed)" if data.get("resumed") else "",
        "kind": _text(data.get("kind")) or "an",
        "old": _text(data.get("from")),
        "new": _text(data.get("to")),
        "change": _text(data.get("change")) or "changed",
    }
    return icon, level, template.format_map(parts)


def _counts(data: Mapping[str, object]) -> str:
    parts = [
        f"{number(value)} {label}"
        for key, label in (("added", "new"), ("updated", "updated"), ("deleted", "deleted"))
        if isinstance(value := data.get(key), int) and not isinstance(value, bool) and value
    ]
    if not parts:
        return "no changes"
    return ", ".join(parts)


def _text(value: object) -> str:
    return "" if value is None else str(value)


_ERROR_CLASS = re.compile(r"^[A-Z][A-Za-z]*(?:Error|Exception|Limited): ")


def plain(detail: str) -> str:
    """An error's detail without the class name `describe` puts first ("AuthError: …"): the
    page says what kind of error it is in words already."""
    return _ERROR_CLASS.sub("", detail, count=1)


def shown_events(events: Iterable[EventRow], limit: int) -> list[EventRow]:
    """The events worth a line: every kind but the per-record ones (a sync makes thousands)."""
    kept = [event for event in events if event_name(event) != EventName.RECORD_CHANGED]
    return kept[:limit]


def latest_of(events: Iterable[EventRow], *kinds: str) -> EventRow | None:
    """The newest event of one of `kinds` (events come newest first)."""
    return next((event for event in events if event_name(event) in kinds), None)


# -- records -----------------------------------------------------------------------------------


def record_columns(records: Iterable[Mapping[str, object]], limit: int = 6) -> list[str]:
    """The first `limit` top-level fields in order of appearance over the page's records."""
    columns: dict[str, None] = {}
    for record in records:
        for key in record:
            columns.setdefault(key, None)
            if len(columns) >= limit:
                return list(columns)
    return list(columns)


def cell(value: object, width: int = 60) -> str:
    """A value in one table cell: text as it is, the rest as compact JSON, cut at `width`."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    else:
        text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= width else text[: width - 1] + "…"
