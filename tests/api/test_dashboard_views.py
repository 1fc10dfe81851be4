"""What the dashboard says, as pure functions: times, progress, activity lines, the chart,
the wizard's form from a settings schema and the schedule hint. No server, no browser."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest
from pydantic import BaseModel, Field

from adapters import AdapterSpec, demo
from adapters import imap as imap_adapter
from api._dashboard_chart import chart
from api._dashboard_form import (
    credential_fields,
    cron_hint,
    describe_cron,
    form_fields,
    humanize,
)
from api._dashboard_views import (
    WEBHOOK_SCHEMES,
    activity,
    ago,
    badge,
    cell,
    duration,
    expected_records,
    last_sync,
    progress,
    record_columns,
    shown_events,
)
from config import IntegrationType, WebhookScheme
from runtime.store import EventRow, RunKind, RunStatus, SyncRun

NOW = datetime(2026, 3, 2, 14, 23, tzinfo=UTC)


def run(
    entity: str = "customers",
    status: RunStatus = RunStatus.COMPLETED,
    *,
    seen: int = 100,
    seconds: float | None = 2.0,
    minutes_ago: float = 5,
) -> SyncRun:
    started = NOW - timedelta(minutes=minutes_ago)
    return SyncRun(
        id=f"run-{entity}-{minutes_ago}",
        integration_id="demo",
        entity=entity,
        kind=RunKind.FULL,
        status=status,
        started_at=started,
        finished_at=None if seconds is None else started + timedelta(seconds=seconds),
        last_progress_at=started,
        added=seen // 2,
        updated=seen // 4,
        unchanged=seen - seen // 2 - seen // 4,
        deleted=3,
        error=None,
    )


def event(name: str, data: dict[str, object], integration_id: str = "demo") -> EventRow:
    return EventRow(
        seq=1,
        id=f"event-{name}",
        integration_id=integration_id,
        type=f"hub.integration.{name}",
        source=f"/integrations/{integration_id}",
        time=NOW,
        data=data,
        traceparent=None,
        sent_at=None,
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(minutes=59), "59 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=9), "9 days ago"),
        (timedelta(minutes=-4), "in 4 min"),
        (timedelta(seconds=-20), "in less than a minute"),
    ],
)
def test_ago(delta: timedelta, text: str) -> None:
    assert ago(NOW - delta, NOW) == text


def test_ago_of_nothing_is_never() -> None:
    assert ago(None, NOW) == "never"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0.423, "0.42 s"), (4.56, "4.6 s"), (42, "42 s"), (185, "3 min 5 s"),
     (120, "2 min"), (7440, "2 h 4 min")],
)  # fmt: skip
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_badges_mark_trouble() -> None:
    assert badge("active").css == "ok"
    assert badge("error").css == badge("parked").css == "err"
    assert badge("whatever").label == "Whatever"


def test_last_sync_line() -> None:
    assert last_sync(None, NOW).text == "never"
    assert last_sync(run(minutes_ago=5, seconds=0), NOW).text == "5 min ago"
    failed = last_sync(run(status=RunStatus.FAILED, minutes_ago=90, seconds=0), NOW)
    assert failed.text == "failed 2 h ago"
    assert failed.failed
    running = last_sync(run(status=RunStatus.RUNNING, seconds=None, minutes_ago=1), NOW)
    assert running.text == "started 1 min ago"


def test_expected_records_come_from_each_entitys_latest_completed_run() -> None:
    runs = [  # newest first
        run("invoices", RunStatus.FAILED, seen=10, minutes_ago=1),
        run("invoices", seen=500, minutes_ago=2),
        run("customers", seen=200, minutes_ago=3),
        run("customers", seen=180, minutes_ago=20),
    ]
    assert expected_records(runs, ("customers", "invoices")) == 700
    assert expected_records(runs, ("customers", "invoices", "orders")) is None  # never synced
    assert expected_records([], ()) is None


def test_progress_is_an_estimate_that_never_claims_done() -> None:
    assert progress("invoices", 350, 700).percent == 50
    assert progress("invoices", 900, 700).percent == 99
    unknown = progress("customers", 120, None)
    assert unknown.percent is None
    assert unknown.text == "customers: 120 records so far"
    assert progress("invoices", 1234, 5000).text == "invoices: 1,234 of ~5,000 records"


def test_activity_lines() -> None:
    names = {"demo": "Demo shop"}
    completed = activity(
        event("sync_completed", {"entity": "invoices", "added": 3, "updated": 231}), names
    )
    assert completed.text == "Demo shop sync completed (invoices): 3 new, 231 updated"
    assert completed.level == "ok"
    auth = activity(event("error", {"kind": "auth", "detail": "AuthError: token expired"}), names)
    assert auth.text == "Demo shop: auth error: token expired"
    assert auth.level == "err"
    gone = activity(event("config_changed", {"change": "deleted"}, "old"), names)
    assert gone.text == "old deleted"
    health = activity(event("health_changed", {"from": "closed", "to": "open"}), names)
    assert health.text == "Demo shop health closed → open"
    unchanged = activity(event("sync_completed", {"entity": "customers"}), names)
    assert unchanged.text.endswith(": no changes")


def test_per_record_events_are_left_out_of_the_activity() -> None:
    events = [event("record_changed", {}), event("sync_started", {}), event("record_changed", {})]
    assert [e.type for e in shown_events(events, 5)] == ["hub.integration.sync_started"]


def test_record_columns_and_cells() -> None:
    rows: list[dict[str, object]] = [
        {"name": "A", "email": "a@x"},
        {"name": "B", "address": {"city": "Kiel"}},
    ]
    assert record_columns(rows) == ["name", "email", "address"]
    assert record_columns(rows, limit=2) == ["name", "email"]
    assert cell({"city": "Kiel"}) == '{"city":"Kiel"}'
    assert cell(None) == ""
    assert cell("x" * 100, width=10) == "x" * 9 + "…"


def test_chart_scales_bars_to_records_and_dots_to_durations() -> None:
    runs = [  # newest first, as the store lists them
        run("invoices", RunStatus.FAILED, seen=50, seconds=4.0, minutes_ago=1),
        run("customers", seen=200, seconds=2.0, minutes_ago=2),
        run("customers", RunStatus.RUNNING, seen=0, seconds=None, minutes_ago=3),
    ]
    drawn = chart(runs)
    assert drawn is not None
    oldest, middle, newest = drawn.bars
    assert oldest.height == 0
    assert oldest.css == "bar-busy"
    assert middle.y == drawn.plot_top  # the tallest bar reaches the top
    assert newest.height == pytest.approx(middle.height / 4, abs=0.01)
    assert newest.css == "bar-err"
    assert len(drawn.dots) == 2  # the running run has no duration yet
    assert drawn.dots[1].y == drawn.plot_top  # the longest run's dot at the top
    assert drawn.max_records == "200"
    assert drawn.max_duration == "4.0 s"
    assert chart([]) is None


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Shape(BaseModel):
    base_url: str = Field(json_schema_extra={"format": "uri"})
    colour: Colour = Colour.BLUE
    limit: int | None = Field(None, ge=1, le=10)
    ratio: float = 0.5
    verbose: bool = True
    tags: list[str] = Field(default_factory=list)


def test_form_fields_follow_the_settings_schema() -> None:
    fields = {f.path: f for f in form_fields(Shape.model_json_schema())}
    assert list(fields) == [
        "settings.base_url",
        "settings.colour",
        "settings.limit",
        "settings.ratio",
        "settings.verbose",
        "settings.tags",
    ]
    assert (fields["settings.base_url"].kind, fields["settings.base_url"].required) == ("url", True)
    colour = fields["settings.colour"]
    assert (colour.kind, colour.options, colour.value) == ("select", ("red", "blue"), "blue")
    limit = fields["settings.limit"]
    assert (limit.kind, limit.json_type, limit.minimum, limit.maximum) == (
        "number",
        "integer",
        "1",
        "10",
    )
    assert not limit.required
    assert fields["settings.ratio"].json_type == "number"
    assert fields["settings.verbose"].checked
    assert fields["settings.tags"].kind == "json"


def test_form_fields_of_the_demo_adapter() -> None:
    fields = {f.path: f for f in form_fields(demo.SPEC.settings_schema)}
    seed = fields["settings.seed"]
    assert (seed.label, seed.value, seed.help) == ("Seed", "42", "Same seed, same data.")
    assert fields["settings.page_size"].label == "Page size"
    assert fields["settings.start_date"].kind == "date"


def test_credentials_are_required_alone_alternatives_in_a_group_else_optional() -> None:
    spec = AdapterSpec(
        name="shop",
        title="Shop",
        description="",
        icon="",
        kind=IntegrationType.REST,
        factory=demo.SPEC.factory,
        settings_schema={"type": "object"},
        credential_fields=("api_key", "password", "token", "note", "webhook_secret"),
        required_credentials=(("api_key",), ("password", "token")),
        credential_help={"token": "Or a bearer token instead of the password."},
    )
    fields = {f.path: f for f in credential_fields(spec)}
    assert list(fields) == [
        "credentials.api_key",
        "credentials.password",
        "credentials.token",
        "credentials.note",
    ]  # the webhook secret is asked for with the webhooks
    key, password, token, note = fields.values()
    assert (key.required, key.one_of, key.kind) == (True, "", "password")
    assert (password.required, password.one_of, password.alternatives) == (
        False,
        "password token",
        ("Token",),
    )
    assert (token.alternatives, token.help) == (
        ("Password",),
        "Or a bearer token instead of the password.",
    )
    assert (note.required, note.one_of) == (False, "")


def test_credentials_of_the_imap_adapter_and_of_a_spec_saying_nothing() -> None:
    password, token = credential_fields(imap_adapter.SPEC)
    assert (password.label, token.label) == ("Password", "Access token")
    assert password.one_of == token.one_of == "password access_token"
    plain = replace(imap_adapter.SPEC, required_credentials=None, credential_help={})
    assert [(f.required, f.one_of, f.help) for f in credential_fields(plain)] == [
        (True, "", ""),
        (True, "", ""),
    ]  # no required_credentials: every one is needed


def test_every_webhook_scheme_has_a_title() -> None:
    assert set(WEBHOOK_SCHEMES) == {scheme.value for scheme in WebhookScheme}


@pytest.mark.parametrize(
    ("name", "label"),
    [("api_key", "API key"), ("base_url", "Base URL"), ("pageSize", "Page size"),
     ("webhook_secret", "Webhook secret")],
)  # fmt: skip
def test_humanize(name: str, label: str) -> None:
    assert humanize(name) == label


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("5 * * * *", "every hour at minute 5"),
        ("0 */2 * * *", "every 2 hours at minute 0"),
        ("30 6 * * *", "every day at 06:30"),
        ("0 8 * * 1-5", "on weekdays at 08:00"),
        ("0 8 * * 1", "every Monday at 08:00"),
        ("0 3 1 * *", "on day 1 of every month at 03:00"),
        ("@daily", "every day at 00:00"),
        ("0 8 * 6 *", "a custom schedule"),
    ],
)
def test_describe_cron(expression: str, words: str) -> None:
    assert describe_cron(expression) == words


def test_cron_hint_names_the_next_runs_or_the_problem() -> None:
    hint = cron_hint("*/15 * * * *", NOW)
    assert hint.ok
    assert hint.text == "Every 15 minutes"
    assert hint.next_runs == ("Mon 14:30", "Mon 14:45", "Mon 15:00")
    bad = cron_hint("61 * * * *", NOW)
    assert not bad.ok
    assert "not a valid cron expression" in bad.text
