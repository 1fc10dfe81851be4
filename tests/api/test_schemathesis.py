"""Generated requests against the served app's own OpenAPI document (schemathesis 4's engine,
as `schemathesis run --checks all` drives it): no 5xx, every status code documented, every
response matching its schema and content type, schema-invalid input refused, the token
required.

The engine is synchronous (`requests`), so it runs in a worker thread while the app serves on
the test's event loop. Seeded and deterministic, with few examples per operation, in two
halves (the integrations' own routes, and the rest) so that each stays well inside the
suite's 60 s timeout on a busy machine.

Left out, each for a reason:
- `GET /api/events` is an endless stream; `tests/api/test_events.py` covers it.
- The stateful phase: the document declares no links between operations.
- `negative_data_rejection` also accepts 412 (and no 5xx): a stale `If-Match` is refused
  before the body is looked at.
- `positive_data_acceptance` also accepts 412 and 422: a schema cannot say that a cursor must
  be one the API gave out, nor the configuration's cross-field rules (a health timeout within
  its interval, mapped entities among the entities, an adapter that is installed), and an
  `If-Match` can name an old version. It still fails a valid request refused with 400, 413 or
  415 (our own parsing), which is what it can find here.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.api.served import AUTH, served_hub

SEED = 20240501
NEGATIVE_DEFAULT = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
EXAMPLES = 8
# What each half leaves out: the operations not tagged `integrations`, or those tagged so.
HALVES = {
    "integrations": {"exclude-tag": "integrations"},
    "the rest": {"include-tag": "integrations"},
}


def _config(base_url: str, left_out: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": dict(AUTH),
            "request-timeout": 10,
            "generation": {
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                "enabled": True,
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "422"]
                },
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE_DEFAULT, "412"]},
            },
            "operations": [
                {"include-path": "/api/events", "enabled": False},
                {**left_out, "enabled": False},
            ],
        }
    )


def _run(base_url: str, half: dict[str, str]) -> tuple[int, list[str]]:
    """(scenarios run, failures described): the engine's events, as the CLI reads them."""
    config = _config(base_url, half)
    schema = schemathesis.openapi.from_url(
        f"{base_url}/api/openapi.json", config=config, headers=dict(AUTH)
    )
    scenarios = 0
    failures: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += event.status is not Status.SKIP
            failures.extend(_failures(event))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"engine error: {event}")
    return scenarios, failures


def _failures(event: events.ScenarioFinished) -> list[str]:
    found = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status is Status.FAILURE and check.failure_info is not None:
                case = event.recorder.cases[case_id].value
                request = f"{case.method} {case.formatted_path} {case.query} {case.body!r}"[:300]
                failure = str(check.failure_info.failure)[:500]
                found.append(f"{event.label} [{check.name}] {request}\n{failure}")
    return found


@pytest.mark.parametrize("half", list(HALVES))
async def test_generated_requests_get_documented_answers(tmp_path: Path, half: str) -> None:
    async with served_hub(tmp_path) as served:
        scenarios, failures = await anyio.to_thread.run_sync(_run, served.base_url, HALVES[half])
    assert scenarios >= 5
    distinct = sorted(set(failures))
    assert not distinct, f"{len(distinct)} failures:\n\n" + "\n\n".join(distinct[:10])
