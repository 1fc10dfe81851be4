"""Templates under fire, over real loopback HTTP:

1. 10,000 Xentral customers through the whole hub (integration actor, SQLite store) from a
   fake Xentral that fails ~15 % of page requests (5xx, 429 with `Retry-After`, no answer
   within the request timeout): each failed page is retried on its own, a page that keeps
   failing interrupts the run, and the next sync resumes at its checkpoint; at the end the
   store holds exactly the upstream's records, each counted once.
2. An OAuth2 access token that expires in the middle of a sync is renewed once, ahead of its
   expiry, and the sync goes on; the rotated refresh token reaches the vault through
   `AdapterContext.save_credentials` (wired here as the actor layer would wire it).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import aclosing
from pathlib import Path

from adapters import (
    AdapterContext,
    HttpClient,
    Registry,
    SyncRequest,
    load_template,
    template_spec,
)
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from runtime.store import RunKind, RunStatus, Store, SyncRun
from runtime.testing import MockClock, wait_for
from runtime.vault import Secret
from tests.adapters.notes_fake import CLIENT_ID, CLIENT_SECRET, REFRESH, FakeNotes, notes_template
from tests.adapters.test_xentral import XENTRAL
from tests.adapters.xentral_fake import FAULTS, HANG, OK, TOKEN, FakeXentral

RECORDS = 10_000


async def runs_of(store: Store, integration_id: str) -> list[SyncRun]:
    return list(reversed((await store.list_runs(integration_id, limit=1000)).items))


async def stored_records(
    store: Store, integration_id: str, entity: str
) -> dict[str, dict[str, object]]:
    records: dict[str, dict[str, object]] = {}
    after: str | None = None
    while True:
        page = await store.list_records(integration_id, entity, limit=1000, after=after)
        for record in page.items:
            assert record.external_id not in records, f"{record.external_id} twice"
            records[record.external_id] = dict(record.data)
        if page.next_cursor is None:
            return records
        after = page.next_cursor


async def _idle(hub: RunningHub, integration_id: str) -> bool:
    runs = await runs_of(hub.services.store, integration_id)
    return bool(runs) and not (await hub.hub.sync_state(integration_id)).running


async def test_xentral_10k_records_through_the_hub_with_faults_exact_set(tmp_path: Path) -> None:
    fake = FakeXentral(customers=RECORDS, invoices=0, products=0, seed=5, fault_rate=0.15)
    fake.hang_for = 3.0
    # Scripted before the dice: the first request (connect's check, the first customers page)
    # is rate limited for 1 s; a hundred requests later one page fails three times (every
    # attempt the policy allows), so the first run is interrupted there.
    fake.script.extend([("429", "1"), *[(OK, "")] * 100, ("500", ""), ("503", "0"), (HANG, "")])
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with (
        fake.serving() as base_url,
        open_services(settings, registry=Registry((XENTRAL,))) as services,
    ):
        await services.integrations.create(
            {
                "id": "erp",
                "name": "Xentral",
                "type": "REST",
                "adapter": "xentral",
                "entities": ["customers"],
                "schedule": {"enabled": False},
                "settings": {"base_url": base_url, "page_size": 50, "timeout": 1},
                "retry_policy": {"max_attempts": 3, "initial_backoff": 0.01, "max_backoff": 0.05},
                "credentials": {"token": TOKEN},
            },
            origin="test",
        )
        async with running_hub(services, demo=False, clock=SYSTEM_CLOCK) as hub:
            store = services.store
            await wait_for(lambda: _idle(hub, "erp"), timeout=60, what="the first sync")
            syncs = 1
            while (await runs_of(store, "erp"))[-1].status is not RunStatus.COMPLETED:
                assert syncs < 20, await runs_of(store, "erp")
                assert await hub.hub.sync_now("erp") is True
                await wait_for(lambda: _idle(hub, "erp"), timeout=60, what="a resumed sync")
                syncs += 1
            runs = await runs_of(store, "erp")
            records = await stored_records(store, "erp", "customers")
    assert records == fake.snapshot("customers")
    assert len(records) == RECORDS
    # One run: interrupted, resumed (not replaced) until it completed; every
    # record was counted once, none twice, though pages were asked for again.
    [run] = runs
    assert (run.status, run.kind, run.added, run.updated, run.unchanged) == (
        RunStatus.COMPLETED,
        RunKind.FULL,
        RECORDS,
        0,
        0,
    )
    assert syncs >= 2
    first, second = fake.hits[0], fake.hits[1]
    assert (first.outcome, second.url) == ("429", first.url)  # the same page again...
    assert second.at - first.at >= 0.99  # ...no sooner than Retry-After said
    assert set(fake.outcomes) == {OK, *FAULTS}  # every kind of fault happened
    failed = sum(n for outcome, n in fake.outcomes.items() if outcome != OK)
    assert 0.08 < failed / len(fake.hits) < 0.25
    assert fake.refused == {}  # no request was malformed or unauthorised


async def test_oauth_token_expiring_mid_sync_renewed_once_and_rotated_token_stored(
    tmp_path: Path,
) -> None:
    clock = MockClock()
    fake = FakeNotes(paging="cursor", auth="refresh", count=60, now=clock.now, lifetime=300)
    spec = template_spec(load_template(notes_template("cursor", "refresh"), "notes.yaml"))
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with (
        fake.serving() as base_url,
        open_services(settings, registry=Registry((spec,))) as services,
    ):
        integrations = services.integrations
        await integrations.create(
            {
                "id": "notes",
                "name": "Notes",
                "type": "REST",
                "adapter": spec.name,
                "schedule": {"enabled": False},
                "settings": {"base_url": base_url, "page_size": 10},
                "credentials": {
                    "refresh_token": REFRESH,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            },
            origin="test",
        )

        async def save(rotated: Mapping[str, Secret[str]]) -> None:
            """What the actor layer wires in: the vault, through the integration service."""
            values = {name: secret.reveal() for name, secret in rotated.items()}
            await integrations.update("notes", {"credentials": values}, origin="token rotation")

        limiter = RateLimiter(RateLimit(1000, burst=1000), clock=clock)
        http = HttpClient(limiter, clock=clock)
        context = AdapterContext(
            "notes",
            {"base_url": base_url, "page_size": 10},
            await integrations.credentials("notes"),
            http,
            limiter,
            clock,
            save_credentials=save,
        )
        adapter = spec.factory(context)
        seen: list[str] = []
        try:
            async with aclosing(adapter.sync(SyncRequest(("notes",)))) as batches:
                async for batch in batches:
                    seen += [record.external_id for record in batch.records]
                    if len(seen) == 30:  # half way: the token has 30 s left (renewed at 60 s)
                        await clock.advance(270)
        finally:
            await http.aclose()
        stored = await integrations.credentials("notes")
    assert seen == [str(n) for n in range(1, 61)]
    assert fake.issued == 2  # the first token, and one renewal in the middle
    assert fake.refused == 0  # renewed ahead of expiry: no request was refused
    assert [form["grant_type"] for form in fake.token_requests] == ["refresh_token"] * 2
    assert stored["refresh_token"].reveal() == fake.refresh_token == "rt-2-Gh3n-refresh-Zq7L"
