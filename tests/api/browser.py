"""What the browser tests share: a test CRM adapter the test holds in its hand, a signed-in
page in a fresh Chromium, and screenshots kept as test artifacts.

The CRM wants an `api_key` credential equal to `CrmPeer.api_key` (else `AuthError` on connect,
as a real one answers 401), has two entities of nested records, and pages slowly when its
`page_delay` setting says so, so a sync can be watched in progress.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from playwright.async_api import Locator, Page, expect
from pydantic import BaseModel, ConfigDict, Field

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    AdapterStatus,
    AuthError,
    Batch,
    ConnectionInfo,
    HealthStatus,
    PermanentError,
    Registry,
    SourceRecord,
    SyncRequest,
    WebhookRequest,
    WebhookResult,
)
from adapters import demo as demo_adapter
from config import IntegrationType
from runtime import sleep
from tests.api.served import TOKEN, ServedHub
from tests.peers.chromium import chromium

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000
KEY_FIELD = "api_key"
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Leipzig")
STAGES = ("lead", "proposal", "won", "lost")

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class CrmPeer:
    """The outside system; the test changes the key it accepts to break and mend it."""

    api_key: str = "open-sesame"
    contacts: int = 30
    deals: int = 12
    connects: int = 0
    webhooks_understood: bool = True  # False: every delivery is refused for good

    def records(self, entity: str) -> list[SourceRecord]:
        if entity == "contacts":
            return [
                SourceRecord(
                    f"C{n:04d}",
                    {
                        "name": f"Contact {n}",
                        "email": f"contact{n}@crm.example",
                        "address": {"city": CITIES[n % len(CITIES)], "country": "DE"},
                        "score": n * 7 % 100,
                    },
                )
                for n in range(1, self.contacts + 1)
            ]
        return [
            SourceRecord(
                f"D{n:04d}",
                {"title": f"Deal {n}", "amount": 1000 + n * 250, "stage": STAGES[n % 4]},
            )
            for n in range(1, self.deals + 1)
        ]


class CrmSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", title="Test CRM settings")

    base_url: str = Field(
        "https://crm.example/api",
        description="Where the CRM answers.",
        json_schema_extra={"format": "uri"},
    )
    page_size: int = Field(10, ge=1, le=1000, description="Records per page.")
    page_delay: float = Field(0.0, ge=0, le=10, description="Seconds before each page.")


class CrmAdapter(Adapter):
    name = "crm"

    def __init__(self, context: AdapterContext, peer: CrmPeer) -> None:
        super().__init__(context)
        self.peer = peer
        self.settings = CrmSettings.model_validate(dict(context.settings))

    def _check_key(self) -> None:
        if self.context.credential(KEY_FIELD).reveal() != self.peer.api_key:
            raise AuthError(f"the CRM refused the {KEY_FIELD} (HTTP 401)")

    async def connect(self) -> ConnectionInfo:
        self.peer.connects += 1
        await sleep(self.context.clock, 0)
        self._check_key()
        return ConnectionInfo(peer=self.settings.base_url, account="test")

    async def health_check(self) -> HealthStatus:
        await sleep(self.context.clock, 0)
        self._check_key()
        return HealthStatus(True, 0.001, f"CRM at {self.settings.base_url} answers")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        size = self.settings.page_size
        for entity in request.entities:
            records = self.peer.records(entity)
            cursor = request.checkpoint(entity) or {"done": True}
            offset = 0 if cursor.get("done") else int(cast(int, cursor["offset"]))
            while True:
                await sleep(self.context.clock, self.settings.page_delay)
                end = min(len(records), offset + size)
                done = end >= len(records)
                page = tuple(records[offset:end])
                yield Batch(entity, page, {"offset": end, "done": done}, complete=done)
                if done:
                    break
                offset = end

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """`{"contact": {"id": ..., ...}}`: one contact the CRM changed."""
        await sleep(self.context.clock, 0)
        if not self.peer.webhooks_understood:
            raise PermanentError("the CRM sent a payload this version cannot read")
        contact = json.loads(request.body)["contact"]
        record = SourceRecord(str(contact.pop("id")), contact)
        return WebhookResult(records={"contacts": (record,)})


def crm_spec(peer: CrmPeer) -> AdapterSpec:
    return AdapterSpec(
        name="crm",
        title="Test CRM",
        description="Contacts and deals from a CRM the test controls.",
        icon="🎯",
        kind=IntegrationType.REST,
        factory=lambda context: CrmAdapter(context, peer),
        settings_schema=CrmSettings.model_json_schema(),
        credential_fields=(KEY_FIELD,),
        entities=("contacts", "deals"),
    )


COMING = AdapterSpec(
    name="phone",
    title="Phone system",
    description="Calls and voicemail (not built yet).",
    icon="📞",
    kind=IntegrationType.REST,
    factory=lambda context: cast(Adapter, None),
    settings_schema={"type": "object"},
    status=AdapterStatus.COMING,
)


def registry(peer: CrmPeer) -> Registry:
    return Registry((demo_adapter.SPEC, crm_spec(peer), COMING))


WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"crm-test-webhook-signing-key-32b").decode()


def crm_input(
    integration_id: str,
    api_key: str,
    *,
    name: str = "Sales CRM",
    page_delay: float = 0.0,
    webhooks: bool = False,
) -> dict[str, object]:
    """An integration of the test CRM as the API takes it; `webhooks`: Standard Webhooks
    signed with `WEBHOOK_SECRET`."""
    credentials = {KEY_FIELD: api_key}
    body: dict[str, object] = {
        "id": integration_id,
        "name": name,
        "type": "REST",
        "adapter": "crm",
        "settings": {"page_delay": page_delay, "page_size": 5},
        "credentials": credentials,
        "schedule": {"enabled": False},
    }
    if webhooks:
        credentials["webhook_secret"] = WEBHOOK_SECRET
        body["webhook"] = {"scheme": "standard"}
    return body


# -- the browser ----------------------------------------------------------------------------------


@dataclass
class Browsing:
    page: Page
    base_url: str
    errors: list[str]  # uncaught script errors: a test fails on any


@asynccontextmanager
async def browsing(tmp_path: Path, served: ServedHub) -> AsyncIterator[Browsing]:
    """A fresh Chromium and one page; fails the test if any page script threw."""
    async with chromium(tmp_path) as context:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.pages[0] if context.pages else await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield Browsing(page, served.base_url, errors)
        assert not errors, f"script errors in the page: {errors}"


async def sign_in(browsing: Browsing, next_path: str = "/") -> None:
    """As a newcomer does: open the URL the hub printed (`/login?token=…`)."""
    page = browsing.page
    query = f"?token={TOKEN}" + (f"&next={next_path}" if next_path != "/" else "")
    await page.goto(f"{browsing.base_url}/login{query}")
    await expect(page).to_have_url(f"{browsing.base_url}{next_path}")


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


# -- the setup wizard -----------------------------------------------------------------------------


async def wizard_type(page: Page, title: str) -> None:
    """Step 1 of the wizard (open): choose the type shown as `title`, which must be available,
    and go on to its connection form."""
    choice = page.get_by_role("radio", name=title)
    await expect(choice).to_be_enabled()
    await choice.check()
    await page.get_by_role("button", name="Next: Connection").click()
    await expect(page.locator("#step-label")).to_have_text("Step 2 of 4")


def wizard_field(page: Page, adapter: str, path: str) -> Locator:
    """The input of the connection form of `adapter` for `path` (`settings.url`,
    `credentials.password`), as the API's errors name it."""
    return page.locator(f'fieldset[data-adapter="{adapter}"] [data-field="{path}"]')
