"""Each kind of integration created through the setup wizard in a real browser, against a real
peer on loopback: Email (IMAP) against Dovecot, Calendar (CalDAV) against Radicale, the phone
system's webhook-only template (a delivery the test signs), Monday.com (GraphQL) and the
generic SOAP template against the local servers of their adapter tests. Each test ends on the
new integration's page with the integration active and, where it pulls, its first sync's
records shown; the screenshots are kept in test-artifacts/screenshots/ (`kinds-*`).

IMAP and CalDAV run with the installed adapters (the default registry), so the type chosen in
step 1 is the one the catalog offers; a template test's hub has that template alone, loaded
from its file, whether or not its entry point is installed yet. Nothing here sleeps: the
browser waits with `expect`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Page, expect

from adapters import Registry, sign_webhook
from adapters.templates import packaged_template_spec
from config import WebhookScheme
from runtime.testing import serving_locally
from tests.adapters.caldav.ics import day, simple
from tests.adapters.graphql_fake import TOKEN as MONDAY_TOKEN
from tests.adapters.graphql_fake import FakeMonday
from tests.adapters.imap.mail import message
from tests.adapters.soap_fake import PASSWORD as SOAP_PASSWORD
from tests.adapters.soap_fake import USERNAME as SOAP_USER
from tests.adapters.soap_fake import FakeCustomerService
from tests.api.browser import browsing, screenshot, sign_in, wizard_field, wizard_type
from tests.api.served import served_hub
from tests.peers.chromium import chromium_binary
from tests.peers.dovecot import mail_client, running_dovecot
from tests.peers.radicale import running_radicale

SYNC_MS = 15_000  # the first sync, from saving to its records on the page


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip (or, with HUB_REQUIRE_PEERS=1, fail) before a peer and a hub are started."""
    chromium_binary()


async def first_sync_shown(page: Page, integration_id: str, base_url: str) -> None:
    """The wizard saved and went to the integration's page, where the first sync completed."""
    await expect(page).to_have_url(f"{base_url}/integrations/{integration_id}")
    await expect(page.locator("#status [data-badge]")).to_contain_text("Active", timeout=SYNC_MS)
    done = page.locator('#history tr[data-run-status="completed"]')
    await expect(done).not_to_have_count(0, timeout=SYNC_MS)


async def test_email_imap_through_the_wizard(tmp_path: Path) -> None:
    with running_dovecot() as dovecot:
        account = dovecot.add_user("team", "mail-Pw-42")
        async with mail_client(dovecot, account) as mail:
            for n in (1, 2, 3):
                await mail.append(message(n))
        async with served_hub(tmp_path, demo=False) as served, browsing(tmp_path, served) as web:
            page = web.page
            await sign_in(web, "/integrations/new")
            await wizard_type(page, "Email (IMAP)")

            await page.locator("#f-name").fill("Team mail")
            for path, value in {
                "settings.host": "127.0.0.1",
                "settings.port": str(dovecot.port),
                "settings.username": account.username,
                "settings.timeout": "5",
            }.items():
                await wizard_field(page, "imap", path).fill(value)
            await wizard_field(page, "imap", "settings.security").select_option("none")
            # Password or access token: neither alone is required, one of them is.
            password = wizard_field(page, "imap", "credentials.password")
            token = wizard_field(page, "imap", "credentials.access_token")
            await expect(password).not_to_have_attribute("required", "")
            await expect(token).not_to_have_attribute("required", "")
            fields = page.locator('fieldset[data-adapter="imap"]')
            await expect(fields).to_contain_text("Access token (or Password)")
            await expect(fields).to_contain_text("instead of the password")
            await page.get_by_role("button", name="Next: Field Mapping").click()
            error = page.locator('[data-error-for="credentials.password"]:visible')
            await expect(error).to_have_text("Fill in Password or Access token.")
            await password.fill(account.password)
            await page.get_by_role("button", name="Test Connection").click()
            await expect(page.locator("#test-result")).to_contain_text("Connected")
            await screenshot(page, "kinds-imap-1-connection")
            await page.get_by_role("button", name="Next: Field Mapping").click()

            sample = page.locator('.mapping-entity[data-entity="messages"]')
            await expect(sample.locator('tr[data-source="subject"]')).to_contain_text("Message 1")
            await page.get_by_role("button", name="Next: Schedule").click()
            await page.get_by_role("button", name="Save integration").click()

            await first_sync_shown(page, "team-mail", web.base_url)
            messages = page.locator('#records tr[data-record^="INBOX/"]')  # folder/uidvalidity/uid
            await expect(messages).to_have_count(3)
            await screenshot(page, "kinds-imap-2-synced")


# -- Calendar (CalDAV) -------------------------------------------------------------------------


async def _put_events(url: str, user: str, password: str) -> None:
    """A calendar `work` with two events, as another calendar app would make them."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    calendar = f"{url}{user}/work/"
    mkcalendar = (
        '<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Work'
        "</d:displayname></d:prop></d:set></c:mkcalendar>"
    )
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as session:
        async with session.request("MKCALENDAR", calendar, data=mkcalendar) as made:
            assert made.status == 201, await made.text()
        for n, summary in enumerate(("Sprint review", "Team lunch"), start=1):
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            text = simple(f"event-{n}", day(n), summary)
            async with session.put(f"{calendar}e{n}.ics", data=text, headers=headers) as put:
                assert put.status in (201, 204), await put.text()


async def test_calendar_caldav_through_the_wizard(tmp_path: Path) -> None:
    with running_radicale() as radicale:
        user, password = "planner", f"pw-{uuid.uuid4().hex[:12]}"
        radicale.add_user(user, password)
        await _put_events(radicale.url, user, password)
        async with served_hub(tmp_path, demo=False) as served, browsing(tmp_path, served) as web:
            page = web.page
            await sign_in(web, "/integrations/new")
            await wizard_type(page, "Calendar (CalDAV)")

            await page.locator("#f-name").fill("Team calendar")
            await wizard_field(page, "caldav", "settings.url").fill(radicale.url)
            await wizard_field(page, "caldav", "settings.username").fill(user)
            await wizard_field(page, "caldav", "credentials.password").fill(password)
            fields = page.locator('fieldset[data-adapter="caldav"]')
            await expect(fields).to_contain_text("Token (or Password)")
            await expect(fields).to_contain_text("Or a bearer token instead of")
            await page.get_by_role("button", name="Test Connection").click()
            await expect(page.locator("#test-result")).to_contain_text("Connected")
            await screenshot(page, "kinds-caldav-1-connection")
            await page.get_by_role("button", name="Next: Field Mapping").click()

            sample = page.locator('.mapping-entity[data-entity="events"]')
            await expect(sample.locator('tr[data-source="summary"]')).to_be_visible()
            await page.get_by_role("button", name="Next: Schedule").click()
            await page.get_by_role("button", name="Save integration").click()

            await first_sync_shown(page, "team-calendar", web.base_url)
            events = page.locator("#records tr[data-record]")  # by href (the external id)
            await expect(events).to_have_count(2)
            for n in (1, 2):
                event = page.locator(f'#records tr[data-record="/{user}/work/e{n}.ics"]')
                await expect(event).to_be_visible()
            await screenshot(page, "kinds-caldav-2-synced")


# -- templates: a webhook-only one, GraphQL ---------------------------------------------------


def template(filename: str) -> Registry:
    """A registry of one built-in template, however the installed entry points stand."""
    return Registry((packaged_template_spec("adapters.templates", filename),))


CALL = {
    "type": "call.ended",
    "timestamp": "2026-03-02T09:15:40Z",
    "data": {
        "call_id": "c-1001",
        "direction": "inbound",
        "from": "+4930123456",
        "to": "+4989654321",
        "duration": 213,
        "status": "completed",
    },
}


async def test_phone_webhooks_through_the_wizard(tmp_path: Path) -> None:
    async with (
        served_hub(tmp_path, registry=template("phone.yaml"), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        page = web.page
        await sign_in(web, "/integrations/new")
        await wizard_type(page, "Phone system")

        # 2: a type that only receives asks for the webhook with its connection, always on.
        await page.locator("#f-name").fill("Front desk")
        await expect(page.get_by_label("Enable webhooks")).to_be_hidden()
        await expect(page.locator("#webhook-always")).to_be_visible()
        await expect(page.get_by_label("Signature scheme")).to_have_value("standard")
        await page.get_by_role("button", name="Generate one").click()
        secret = await page.get_by_label("Signing secret").input_value()
        await page.get_by_role("button", name="Test Connection").click()
        await expect(page.locator("#test-result")).to_contain_text("Connected")
        await screenshot(page, "kinds-phone-1-connection")
        await page.get_by_role("button", name="Next: Field Mapping").click()
        await expect(page.locator("#mapping")).to_contain_text("nothing to sample")
        await page.get_by_role("button", name="Next: Schedule").click()
        await expect(page.locator("#schedule-none")).to_be_visible()
        await expect(page.get_by_label("Enable automatic sync")).to_be_hidden()
        await page.get_by_role("button", name="Save integration").click()

        # The page gives the address; a delivery the phone system signs becomes a record.
        await expect(page).to_have_url(f"{web.base_url}/integrations/front-desk")
        await expect(page.locator("#status [data-badge]")).to_contain_text("Active")
        address = page.locator("#webhook-url")
        await expect(address).to_have_text(f"{web.base_url}/webhooks/front-desk")
        assert secret not in await page.content()
        body = json.dumps(CALL).encode()
        headers = sign_webhook(
            WebhookScheme.STANDARD, secret, body, delivery_id="evt_1", timestamp=time.time()
        )
        async with aiohttp.ClientSession() as phone_system:
            sent = await phone_system.post(await address.inner_text(), data=body, headers=headers)
            assert sent.status == 202, await sent.text()
        delivery = page.locator('#webhooks tr[data-delivery="evt_1"]')
        await expect(delivery).to_have_attribute("data-delivery-status", "processed")
        call = page.locator('#records tr[data-record="c-1001"]')
        await expect(call).to_contain_text("inbound")
        await screenshot(page, "kinds-phone-2-delivered")


async def test_monday_graphql_through_the_wizard(tmp_path: Path) -> None:
    monday = FakeMonday()
    async with (
        serving_locally(monday.app()) as upstream,
        served_hub(tmp_path, registry=template("monday.yaml"), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        page = web.page
        await sign_in(web, "/integrations/new")
        await wizard_type(page, "Monday.com")

        await page.locator("#f-name").fill("Projects")
        await wizard_field(page, "monday", "settings.api_url").fill(f"{upstream}/v2")
        await wizard_field(page, "monday", "settings.page_size").fill("5")
        await wizard_field(page, "monday", "credentials.api_token").fill(MONDAY_TOKEN)
        await page.get_by_role("button", name="Test Connection").click()
        await expect(page.locator("#test-result")).to_contain_text("Connected")
        await screenshot(page, "kinds-monday-1-connection")
        await page.get_by_role("button", name="Next: Field Mapping").click()
        items = page.locator('.mapping-entity[data-entity="items"]')
        await expect(items.locator('tr[data-source="board_id"]')).to_be_visible()
        await page.get_by_role("button", name="Next: Schedule").click()
        await page.get_by_role("button", name="Save integration").click()

        await first_sync_shown(page, "projects", web.base_url)
        await expect(page.locator('#history tr[data-run-status="completed"]')).to_have_count(2)
        counts = page.locator("#status [data-records]")
        await expect(counts).to_contain_text("boards: 3")
        await expect(counts).to_contain_text("items: 16")
        await page.locator("#records-entity").select_option("items")
        await expect(page.locator("#records tr[data-record]")).to_have_count(16)
        await screenshot(page, "kinds-monday-2-synced")


async def test_soap_service_through_the_wizard(tmp_path: Path) -> None:
    service = FakeCustomerService(auth="basic")
    async with (
        service.serving(),
        served_hub(tmp_path, registry=template("soap_service.yaml"), demo=False) as served,
        browsing(tmp_path, served) as web,
    ):
        page = web.page
        await sign_in(web, "/integrations/new")
        await wizard_type(page, "SOAP web service")

        await page.locator("#f-name").fill("Customer service")
        for path, value in {
            "settings.wsdl_url": service.wsdl_url,
            "settings.operation": "GetCustomers",
            "settings.result_path": "customers.customer",
            "settings.page_arg": "page",
            "settings.size_arg": "pageSize",
            "settings.page_size": "5",
            "settings.total_path": "total",
            "credentials.username": SOAP_USER,
            "credentials.password": SOAP_PASSWORD,
        }.items():
            await wizard_field(page, "soap", path).fill(value)
        await wizard_field(page, "soap", "settings.paging").select_option("page_number")
        await page.get_by_role("button", name="Test Connection").click()
        await expect(page.locator("#test-result")).to_contain_text("Connected")
        await screenshot(page, "kinds-soap-1-connection")
        await page.get_by_role("button", name="Next: Field Mapping").click()
        sample = page.locator('.mapping-entity[data-entity="items"]')
        await expect(sample.locator('tr[data-source="address.city"]')).to_contain_text("Bremen")
        await page.get_by_role("button", name="Next: Schedule").click()
        await page.get_by_role("button", name="Save integration").click()

        await first_sync_shown(page, "customer-service", web.base_url)
        await expect(page.locator("#status [data-records]")).to_contain_text("items: 23")
        await expect(page.locator('#records tr[data-record="1"]')).to_be_visible()
        await screenshot(page, "kinds-soap-2-synced")
