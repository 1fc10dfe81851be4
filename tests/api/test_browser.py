"""The dashboard in a real browser (Debian's Chromium through Playwright's async API): what a
newcomer does on the first day, each step kept as a screenshot in test-artifacts/screenshots/.

Nothing here sleeps: every wait is Playwright's `expect` (or `wait_for` on the hub's side)
with a timeout. "Without a reload" is checked with a marker set on `window`, which a reload
or a navigation would wipe out.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from adapters import sign_webhook
from config import WebhookScheme
from runtime.store import RunStatus
from runtime.testing import wait_for
from tests.api.browser import (
    SCREENSHOTS,
    WEBHOOK_SECRET,
    CrmPeer,
    browsing,
    crm_input,
    registry,
    screenshot,
    sign_in,
)
from tests.api.served import ServedHub, served_hub
from tests.peers.chromium import chromium_binary

MARK = "window.__stillTheSamePage"
TIMINGS = SCREENSHOTS.parent / "timings.jsonl"


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip (or, with HUB_REQUIRE_PEERS=1, fail) before a hub is started for nothing."""
    chromium_binary()


async def mark(page: Page) -> None:
    await page.evaluate(f"{MARK} = true")


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate(f"{MARK} === true"), "the page was reloaded"


async def completed_runs(served: ServedHub, integration_id: str) -> int:
    runs = await served.running.services.store.list_runs(integration_id, limit=100)
    return sum(1 for run in runs.items if run.status is RunStatus.COMPLETED)


async def create(served: ServedHub, body: object) -> None:
    response = await served.client.post("/api/integrations", json=body)
    assert response.status == 201, await response.text()


async def test_sign_in_and_watch_the_demo_integration_sync(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served, browsing(tmp_path, served) as web:
        page = web.page
        await page.goto(f"{web.base_url}/login")
        await expect(page.get_by_label("API token")).to_be_visible()
        await screenshot(page, "01-sign-in")
        await sign_in(web)
        card = page.locator("#card-demo")
        await expect(card).to_contain_text("Demo shop")
        await expect(page.locator("#counts")).to_contain_text("Active Integrations (1)")

        await wait_for(lambda: _runs_at_least(served, 2), what="the demo's first sync")
        # What the store holds: 700 after the first sync, 707 if the demo's every-minute
        # schedule has already run its second (the card follows either live).
        records = sum((await served.running.services.store.count_records("demo")).values())
        await expect(card.locator(".records")).to_have_text(str(records))
        await mark(page)
        await served.running.hub.sync_now("demo")  # or a scheduled one runs: either will do
        await wait_for(lambda: _runs_at_least(served, 4), what="the demo's second sync")
        latest = (await served.running.services.store.list_runs("demo", limit=1)).items[0]
        await expect(card).to_have_attribute("data-last-run", latest.id)
        await expect(card).to_have_attribute("data-syncing", "false")
        await expect(card.locator(".last-sync")).to_have_text("just now")
        activity = page.locator("#activity")
        await expect(activity.get_by_text("Demo shop sync started")).not_to_have_count(0)
        await expect(activity.get_by_text("Demo shop sync completed (invoices)")).not_to_have_count(
            0
        )
        await assert_not_reloaded(page)
        await screenshot(page, "02-dashboard")


async def _runs_at_least(served: ServedHub, count: int) -> bool:
    return await completed_runs(served, "demo") >= count


async def test_wizard_adds_an_integration_that_syncs(tmp_path: Path) -> None:
    peer = CrmPeer(api_key="open-sesame")
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        page = web.page
        await sign_in(web)
        await page.locator("#add-new").click()
        await expect(page).to_have_url(f"{web.base_url}/integrations/new")
        started = time.monotonic()  # the empty form is on the screen

        # 1: the type. The coming one cannot be chosen.
        await expect(page.get_by_role("radio", name="Phone system")).to_be_disabled()
        await page.get_by_text("Test CRM", exact=True).click()
        await screenshot(page, "03-wizard-1-type")
        await page.get_by_role("button", name="Next: Connection").click()

        # 2: the connection, tested with a wrong key first.
        await expect(page.locator("#step-label")).to_have_text("Step 2 of 4")
        await page.locator("#f-name").fill("Sales CRM")
        await expect(page.locator("#f-id")).to_have_value("sales-crm")
        key = page.get_by_label("API key")
        await key.fill("wrong-key")
        await page.get_by_role("button", name="Test Connection").click()
        result = page.locator("#test-result")
        await expect(result).to_contain_text("Failed")
        await expect(result).to_contain_text("the CRM refused the api_key")
        await screenshot(page, "04-wizard-2-connection-failed")
        await key.fill("open-sesame")
        await page.get_by_role("button", name="Test Connection").click()
        await expect(result).to_contain_text("Connected")
        await screenshot(page, "05-wizard-2-connection-ok")
        await page.get_by_role("button", name="Next: Field Mapping").click()

        # 3: field mapping from a sample: contacts mapped, deals kept as they come.
        contacts = page.locator('.mapping-entity[data-entity="contacts"]')
        await expect(contacts.locator('tr[data-source="address.city"]')).to_contain_text("Hamburg")
        await contacts.get_by_label("Map the fields of contacts").check()
        await contacts.get_by_label("Target name for name", exact=True).fill("full_name")
        await contacts.get_by_label("Target name for address.city").fill("city")
        await contacts.get_by_label("Use score").uncheck()
        await contacts.get_by_label("Transform for email").select_option("upper")
        await screenshot(page, "06-wizard-3-mapping")
        await page.get_by_role("button", name="Next: Schedule").click()

        # 4: schedule; a bad one comes back from the API next to its field.
        cron = page.get_by_label("Schedule (cron")
        await cron.fill("61 * * * *")
        await expect(page.locator("#cron-hint")).to_contain_text("not a valid cron expression")
        await page.get_by_role("button", name="Save integration").click()
        await expect(page.locator('[data-error-for="schedule.cron"]')).to_contain_text(
            "not a valid cron expression"
        )
        await screenshot(page, "07-wizard-4-schedule-error")
        await cron.fill("*/5 * * * *")
        await expect(page.locator("#cron-hint")).to_contain_text("Every 5 minutes")
        await page.get_by_role("button", name="Save integration").click()

        # The new integration's page; its first sync runs at once.
        await expect(page).to_have_url(f"{web.base_url}/integrations/sales-crm")
        done = page.locator('#history tr[data-run-status="completed"]')
        await expect(done).to_have_count(2)
        seconds = time.monotonic() - started
        print(f"\nwizard: empty form to first completed sync in {seconds:.1f} s")
        with TIMINGS.open("a") as timings:  # for BENCHMARKS.md
            line = {"name": "wizard_to_first_sync", "seconds": round(seconds, 2)}
            timings.write(json.dumps(line) + "\n")
        await expect(page.locator("#status")).to_have_attribute("data-syncing", "false")
        await expect(page.locator("#status [data-records]")).to_contain_text("contacts: 30")
        records = page.locator("#records")
        for column in ("full_name", "email", "city"):
            await expect(records.locator("thead")).to_contain_text(column)
        await expect(records).to_contain_text("CONTACT1@CRM.EXAMPLE")
        await expect(records).not_to_contain_text("score")
        await screenshot(page, "08-integration-after-wizard")


async def test_sync_from_the_page_shows_progress_and_completion(tmp_path: Path) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        await create(served, crm_input("crm", peer.api_key, page_delay=0.2))
        await wait_for(lambda: _crm_runs(served, 2), what="the first sync", timeout=20)
        page = web.page
        await sign_in(web, "/integrations/crm")
        await expect(page.locator("#history tr[data-run]")).to_have_count(2)
        await mark(page)

        await page.get_by_role("button", name="Sync now").click()
        await expect(page.locator("#action-result")).to_have_text("Sync started.")
        bar = page.locator("#status progress")
        await expect(bar).to_be_visible()
        await expect(page.locator("#status .progress-text")).to_contain_text("of ~42 records")
        await screenshot(page, "09-integration-syncing")
        await expect(bar).to_have_count(0, timeout=20_000)
        await expect(page.locator('#history tr[data-run-status="completed"]')).to_have_count(4)
        await expect(page.locator("#history svg rect.bar")).to_have_count(4)
        await assert_not_reloaded(page)

        await page.get_by_role("button", name="Test connection").click()
        await expect(page.locator("#action-result")).to_contain_text("Connection OK")
        await page.locator("#records-entity").select_option("deals")
        await expect(page.locator("#records")).to_contain_text("D0012")
        await screenshot(page, "10-integration-synced")


async def _crm_runs(served: ServedHub, count: int) -> bool:
    return await completed_runs(served, "crm") >= count


async def test_an_error_and_reconnect(tmp_path: Path) -> None:
    peer = CrmPeer(api_key="rotated-key")  # the CRM no longer takes the key the hub has
    async with (
        served_hub(tmp_path, registry=registry(peer)) as served,
        browsing(tmp_path, served) as web,
    ):
        await create(served, crm_input("crm", "old-key"))
        page = web.page
        await sign_in(web)
        card = page.locator("#card-crm")
        await expect(card.locator("[data-badge]")).to_contain_text("Error")
        await expect(card.locator(".problem")).to_contain_text("Auth error")
        await expect(page.locator("#counts")).to_contain_text("Issues (1)")
        await screenshot(page, "11-dashboard-error")
        await mark(page)

        peer.api_key = "old-key"  # the key is valid again (e.g. restored at the CRM)
        await card.get_by_role("button", name="Reconnect").click()
        await expect(card.locator("[data-badge]")).to_contain_text("Active")
        await expect(card.get_by_role("button", name="Reconnect")).to_have_count(0)
        await expect(page.locator("#counts")).to_contain_text("Issues (0)")
        await expect(page.locator("#activity")).to_contain_text("Sales CRM connected")
        await assert_not_reloaded(page)
        await screenshot(page, "12-dashboard-recovered")


async def test_webhook_deliveries_and_replay(tmp_path: Path) -> None:
    peer = CrmPeer(webhooks_understood=False)  # an old version of the CRM's payload at first
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        await create(served, crm_input("crm", peer.api_key, webhooks=True))
        body = json.dumps({"contact": {"id": "C0000", "name": "From a webhook"}}).encode()
        headers = sign_webhook(
            WebhookScheme.STANDARD, WEBHOOK_SECRET, body, delivery_id="msg_1", timestamp=time.time()
        )
        sent = await served.client.post("/webhooks/crm", data=body, headers=headers)
        assert sent.status == 202, await sent.text()
        page = web.page
        await sign_in(web, "/integrations/crm")
        delivery = page.locator('#webhooks tr[data-delivery="msg_1"]')
        await expect(delivery).to_have_attribute("data-delivery-status", "dead")
        await expect(delivery).to_contain_text("cannot read")
        await screenshot(page, "13-integration-webhook-dead")
        await mark(page)

        peer.webhooks_understood = True  # the CRM's new version is supported now
        await delivery.get_by_role("button", name="Replay").click()
        await expect(page.locator("#action-result")).to_contain_text("msg_1 queued again")
        await expect(delivery).to_have_attribute("data-delivery-status", "processed")
        await expect(page.locator("#records")).to_contain_text("From a webhook")
        await assert_not_reloaded(page)
        await screenshot(page, "14-integration-webhook-replayed")


async def test_wizard_enables_webhooks_and_the_page_gives_the_address(tmp_path: Path) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        page = web.page
        await sign_in(web, "/integrations/new?type=crm")
        await page.get_by_label("API key").fill(peer.api_key)
        await page.get_by_role("button", name="Next: Field Mapping").click()
        await page.get_by_role("button", name="Next: Schedule").click()

        # 4: webhooks are a choice; the signing secret is checked before anything is sent.
        secret = page.get_by_label("Signing secret")
        await expect(secret).to_be_hidden()
        await page.get_by_label("Enable webhooks").check()
        await expect(page.get_by_label("Signature scheme")).to_have_value("standard")
        await secret.fill("not base64!")
        await page.get_by_role("button", name="Save integration").click()
        error = page.locator('[data-error-for="credentials.webhook_secret"]')
        await expect(error).to_contain_text("whsec_ followed by base64")
        await page.get_by_role("button", name="Generate one").click()
        await expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$"))
        generated = await secret.input_value()
        await screenshot(page, "15-wizard-4-webhooks")
        await page.get_by_role("button", name="Save integration").click()

        # The page gives the address for the sender, and never the secret again.
        await expect(page).to_have_url(f"{web.base_url}/integrations/test-crm")
        address = page.locator("#webhook-url")
        await expect(address).to_have_text(f"{web.base_url}/webhooks/test-crm")
        await expect(page.locator("#webhooks")).to_contain_text("Standard Webhooks")
        assert generated not in await page.content()
        await mark(page)
        body = json.dumps({"contact": {"id": "C0000", "name": "From a webhook"}}).encode()
        headers = sign_webhook(
            WebhookScheme.STANDARD, generated, body, delivery_id="msg_1", timestamp=time.time()
        )
        async with aiohttp.ClientSession() as sender:  # as the CRM would, without a hub token
            sent = await sender.post(await address.inner_text(), data=body, headers=headers)
            assert sent.status == 202, await sent.text()
        delivery = page.locator('#webhooks tr[data-delivery="msg_1"]')
        await expect(delivery).to_have_attribute("data-delivery-status", "processed")
        await expect(page.locator("#records")).to_contain_text("From a webhook")
        await assert_not_reloaded(page)
        await screenshot(page, "16-integration-webhook-address")
