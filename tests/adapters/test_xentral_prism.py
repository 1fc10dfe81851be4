"""The Xentral template against Prism serving Xentral's published OpenAPI description: every
request the template sends is one the real API accepts, answers become records, Test
Connection works, and a missing token is a clear AuthError.

Prism runs once for the module (~2-5 s to start). `sl-violations` is checked on every
response: no entry may be about our request. (Prism also lists where its own random answers
break the description, e.g. currency codes outside the spec's enum; those are the mock's, not
ours, and are left alone.) The description is kept beside this test (`specs/`, unchanged
from Xentral's published file) so that CI needs nothing outside the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters import (
    AdapterContext,
    AdapterSpec,
    AiohttpTransport,
    AuthError,
    HttpClient,
    HttpRequest,
    HttpResponse,
    JsonValue,
    RetryPolicy,
    SyncKind,
    SyncRequest,
    load_template,
    template_spec,
)
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from runtime.vault import Secret
from tests.adapters.conformance import collect
from tests.adapters.test_xentral import TEMPLATE_FILE, XENTRAL
from tests.peers import prism as peer
from tests.peers.prism import request_violations, running_prism, violations

SPEC = Path(
    os.environ.get(
        "HUB_XENTRAL_SPEC", Path(__file__).parent / "specs" / "xentral-api.openapi-3.0.0.json"
    )
)
TOKEN = "xpat-prism-Jk4s-token-Qe8w"


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    with running_prism(SPEC, seed=42) as url:
        yield url


class Recorder:
    """The real aiohttp transport, noting each request and its answer (and able to add a
    header, for Prism's `Prefer`)."""

    def __init__(self, extra_headers: Mapping[str, str] | None = None) -> None:
        self.transport = AiohttpTransport()
        self.extra = dict(extra_headers or {})
        self.exchanges: list[tuple[HttpRequest, HttpResponse]] = []

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        request = replace(request, headers={**request.headers, **self.extra})
        response = await self.transport.send(request)
        self.exchanges.append((request, response))
        return response


def prism_context(
    base_url: str, recorder: Recorder, *, token: str | None = TOKEN
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(1000, burst=100), clock=SYSTEM_CLOCK)
    retry = RetryPolicy(max_attempts=2, initial=0.01, max_delay=0.05, total=10)
    http = HttpClient(limiter, send=recorder, retry=retry)
    credentials = {} if token is None else {"token": Secret(token)}
    settings: dict[str, JsonValue] = {"base_url": base_url, "page_size": 50}
    return AdapterContext("xentral-prism", settings, credentials, http, limiter, SYSTEM_CLOCK)


def _data_ids(response: HttpResponse) -> list[str]:
    body = json.loads(response.body)
    return [str(item["id"]) for item in body["data"]]


async def test_xentral_requests_pass_prism_validation_and_answers_become_records(
    prism: str,
) -> None:
    recorder = Recorder()
    adapter = XENTRAL.factory(prism_context(prism, recorder))
    try:
        full = await collect(adapter, SyncRequest(XENTRAL.entities))
        # An incremental pass sends the products' updatedAt filter: Prism checks it too.
        done: dict[str, JsonValue] = {"kind": "full", "done": True, "high": "2026-01-01T00:00:00Z"}
        changes = await collect(
            adapter, SyncRequest(("products",), SyncKind.INCREMENTAL, {"products": done})
        )
    finally:
        await recorder.transport.aclose()
    assert recorder.exchanges
    for request, response in recorder.exchanges:
        assert response.status == 200, (request, response.status, violations(response.headers))
        assert request_violations(response.headers) == [], request
        assert "page[number]=" in request.url
        assert "page[size]=50" in request.url
    sent = {
        request.url.split("?")[0].rsplit("/", 1)[1]: response
        for request, response in recorder.exchanges
    }
    assert set(sent) == set(XENTRAL.entities)
    for entity in XENTRAL.entities:
        answered = [
            _data_ids(r)
            for q, r in recorder.exchanges
            if f"/api/{entity}?" in q.url and "filter" not in q.url
        ]
        got = [[record.external_id for record in b.records] for b in full if b.entity == entity]
        assert got == answered, entity
    assert [b.entity for b in full if b.complete] == list(XENTRAL.entities)
    assert sum(len(b.records) for b in full) > 0  # seed 42: invoices and products have some
    assert "filter[0][key]=updatedAt&filter[0][op]=greaterThan" in recorder.exchanges[-1][0].url
    assert changes[-1].complete


async def test_xentral_examples_become_a_record_for_every_entity(prism: str) -> None:
    """With `Prefer: dynamic=false` Prism answers the description's own examples, which have a
    record in every list (seed 42's random customers list happens to be empty)."""
    recorder = Recorder({"Prefer": "dynamic=false"})
    adapter = XENTRAL.factory(prism_context(prism, recorder))
    try:
        batches = await collect(adapter, SyncRequest(XENTRAL.entities))
    finally:
        await recorder.transport.aclose()
    for entity in XENTRAL.entities:
        records = [r for b in batches if b.entity == entity for r in b.records]
        assert [r.external_id for r in records] == ["17"], entity
        assert records[0].data["id"] == "17"
    for _, response in recorder.exchanges:
        assert request_violations(response.headers) == []


async def test_xentral_test_connection_against_prism(prism: str) -> None:
    recorder = Recorder()
    adapter = XENTRAL.factory(prism_context(prism, recorder))
    try:
        info = await adapter.connect()
        status = await adapter.health_check()
    finally:
        await recorder.transport.aclose()
    assert info.peer == prism.removeprefix("http://")
    assert (status.ok, status.detail) == (True, "the first page of customers answered")
    assert all(request_violations(r.headers) == [] for _, r in recorder.exchanges)


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_xentral_missing_token_is_a_clear_auth_error_before_anything_is_sent(
    prism: str, token: str | None
) -> None:
    recorder = Recorder()
    adapter = XENTRAL.factory(prism_context(prism, recorder, token=token))
    with pytest.raises(
        AuthError, match=r"the credential 'token' is missing or empty; enter it and reconnect"
    ):
        await adapter.connect()
    with pytest.raises(AuthError):
        await adapter.health_check()
    assert recorder.exchanges == []
    await recorder.transport.aclose()


async def test_xentral_request_without_bearer_refused_by_prism_as_auth_error(prism: str) -> None:
    """The same template with its auth taken out: Prism (the description) answers 401, which
    the template reports as AuthError."""
    document: dict[str, Any] = yaml.safe_load(TEMPLATE_FILE.read_text(encoding="utf-8"))
    document["auth"] = {"type": "none"}
    spec: AdapterSpec = template_spec(load_template(yaml.safe_dump(document), "no-auth.yaml"))
    recorder = Recorder()
    adapter = spec.factory(prism_context(prism, recorder, token=None))
    try:
        with pytest.raises(AuthError, match="HTTP 401 Unauthorized: the credentials were refused"):
            await adapter.connect()
    finally:
        await recorder.transport.aclose()
    [(_, response)] = recorder.exchanges
    assert response.status == 401
    assert request_violations(response.headers)[0]["message"] == "Invalid security scheme used"


def test_prism_missing_skips_with_the_install_hint_or_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(peer, "PRISM", Path("/nonexistent/prism"))
    monkeypatch.delenv("HUB_REQUIRE_PEERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"npm ci --prefix tests/peers"):
        peer.prism_command()
    monkeypatch.setenv("HUB_REQUIRE_PEERS", "1")
    with pytest.raises(
        pytest.fail.Exception, match=r"required peer missing: Prism is not installed"
    ):
        peer.prism_command()
