"""The dashboard over HTTP, without a browser: sign-in, sessions, CSRF, escaping, secrets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import unquote

import aiohttp
import pytest

from adapters import Registry, imap
from api._auth import SESSION_COOKIE
from runtime.testing import wait_for
from tests.api.browser import WEBHOOK_SECRET, CrmPeer, crm_input, registry
from tests.api.served import TOKEN, ServedHub, served_hub

PAGES = ("/", "/integrations/new", "/integrations/new?type=crm")
SECRET = "sup3r-secret-crm-key"


@asynccontextmanager
async def browser_session(served: ServedHub) -> AsyncIterator[aiohttp.ClientSession]:
    """A client holding the session cookie, as a signed-in browser does."""
    cookies = {SESSION_COOKIE: served.auth.session_value}
    async with aiohttp.ClientSession(served.base_url, cookies=cookies) as session:
        yield session


def fresh_browser(served: ServedHub) -> aiohttp.ClientSession:
    """A client that keeps cookies as a browser does (also for 127.0.0.1), none set yet."""
    return aiohttp.ClientSession(served.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def anonymous_get(served: ServedHub, path: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession(served.base_url) as anonymous:
        response = await anonymous.get(path, allow_redirects=False)
        await response.read()
        return response


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/integrations/new",
        "/integrations/demo",
        "/integrations/demo/card",
        "/integrations/demo/status",
        "/fragments/activity",
    ],
)
async def test_pages_redirect_to_sign_in_without_a_session(tmp_path: Path, path: str) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        response = await anonymous_get(served, path)
        assert response.status == 303
        location = response.headers["Location"]
        assert location.startswith("/login?next=")
        assert unquote(location.removeprefix("/login?next=")) == path


async def test_printed_url_signs_in_and_takes_the_token_out_of_the_address(
    tmp_path: Path,
) -> None:
    async with (
        served_hub(tmp_path, demo=False) as served,
        fresh_browser(served) as browser,
    ):
        response = await browser.get(
            f"/login?token={TOKEN}&next=/integrations/new", allow_redirects=False
        )
        assert response.status == 303
        assert response.headers["Location"] == "/integrations/new"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        cookie = response.cookies[SESSION_COOKIE]
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"
        assert cookie.value == served.auth.session_value
        page = await browser.get("/", allow_redirects=False)
        assert page.status == 200
        assert "Active Integrations" in await page.text()


async def test_sign_in_refuses_a_wrong_token(tmp_path: Path) -> None:
    async with (
        served_hub(tmp_path, demo=False) as served,
        fresh_browser(served) as browser,
    ):
        by_url = await browser.get("/login?token=wrong", allow_redirects=False)
        assert by_url.status == 401
        assert "That token is not right" in await by_url.text()
        assert SESSION_COOKIE not in by_url.cookies
        by_form = await browser.post(
            "/login", data={"token": "wrong", "next": "/"}, allow_redirects=False
        )
        assert by_form.status == 401
        assert 'name="token"' in await by_form.text()
        assert SESSION_COOKIE not in by_form.cookies
        still_out = await browser.get("/", allow_redirects=False)
        assert still_out.status == 303


async def test_sign_in_form_and_only_local_next(tmp_path: Path) -> None:
    async with (
        served_hub(tmp_path, demo=False) as served,
        fresh_browser(served) as browser,
    ):
        form = await browser.get("/login?next=/integrations/demo")
        assert form.status == 200
        assert 'value="/integrations/demo"' in await form.text()
        response = await browser.post(
            "/login", data={"token": TOKEN, "next": "//evil.example/"}, allow_redirects=False
        )
        assert response.status == 303
        assert response.headers["Location"] == "/"
        assert response.cookies[SESSION_COOKIE].value == served.auth.session_value


async def test_sign_out_is_a_form_post_that_needs_the_csrf_token(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served, browser_session(served) as browser:
        page = await (await browser.get("/")).text()
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
        assert found is not None
        assert found.group(1) == served.auth.csrf_token
        refused = await browser.post("/logout", data={}, allow_redirects=False)
        assert refused.status == 403
        wrong = await browser.post("/logout", data={"csrf_token": "0" * 64}, allow_redirects=False)
        assert wrong.status == 403
        done = await browser.post(
            "/logout", data={"csrf_token": found.group(1)}, allow_redirects=False
        )
        assert done.status == 303
        assert done.headers["Location"] == "/login"
        assert done.cookies[SESSION_COOKIE].value == ""


async def test_user_supplied_names_are_shown_as_text(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>"
    async with served_hub(tmp_path, demo=False) as served, browser_session(served) as browser:
        created = await served.client.post(
            "/api/integrations",
            json={
                "id": "hostile",
                "name": hostile,
                "description": '"><img src=x onerror=alert(2)>',
                "type": "REST",
                "adapter": "demo",
                "entities": ["customers"],
            },
        )
        assert created.status == 201, await created.text()
        for path in ("/", "/integrations/hostile", "/integrations/hostile/card"):
            response = await browser.get(path)
            assert response.status == 200
            text = await response.text()
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
            assert hostile not in text, path
            assert "<img src=x" not in text, path
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_no_secret_in_any_page(tmp_path: Path) -> None:
    peer = CrmPeer(api_key=SECRET)
    async with (
        served_hub(tmp_path, registry=registry(peer)) as served,
        browser_session(served) as browser,
    ):
        body = crm_input("crm", SECRET, webhooks=True)
        created = await served.client.post("/api/integrations", json=body)
        assert created.status == 201, await created.text()
        wrong = await served.client.post(
            "/api/integrations", json=crm_input("broken", "not-" + SECRET, name="Broken CRM")
        )
        assert wrong.status == 201, await wrong.text()
        paths = [
            *PAGES,
            "/login",
            *(
                f"/integrations/{i}{part}"
                for i in ("crm", "broken", "demo")
                for part in ("", "/card", "/status", "/history", "/logs", "/records", "/webhooks")
            ),
            "/fragments/activity",
            "/fragments/counts",
        ]
        for path in paths:
            response = await browser.get(path)
            assert response.status == 200, path
            text = await response.text()
            assert SECRET not in text, path
            assert WEBHOOK_SECRET not in text, path
            assert WEBHOOK_SECRET.removeprefix("whsec_") not in text, path
            assert TOKEN not in text, path
            assert served.auth.session_value not in text, path


async def test_unknown_integration_is_a_page_saying_so(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served, browser_session(served) as browser:
        page = await browser.get("/integrations/no-such-thing")
        assert page.status == 404
        assert "No such integration" in await page.text()
        fragment = await browser.get("/integrations/no-such-thing/card")
        assert fragment.status == 404


async def test_overview_shows_cards_catalog_and_activity(tmp_path: Path) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer)) as served,
        browser_session(served) as browser,
    ):
        broken = await served.client.post(
            "/api/integrations", json=crm_input("broken", "wrong-key", name="Broken CRM")
        )
        assert broken.status == 201
        text = await (await browser.get("/")).text()
        assert 'id="card-demo"' in text
        assert 'id="card-broken"' in text
        assert 'data-action="reconnect" data-integration="broken"' in text
        assert "Auth error: the CRM refused the api_key (HTTP 401)" in text
        assert 'Issues (<span data-count="issues">1</span>)' in text
        assert 'href="/integrations/new?type=crm"' in text
        assert "coming soon" in text
        assert 'href="/integrations/new?type=phone"' not in text  # coming: not clickable
        counts = await (await browser.get("/fragments/counts")).text()
        assert 'data-count="active">2<' in counts


async def test_wizard_builds_the_connection_form_from_the_settings_schema(
    tmp_path: Path,
) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browser_session(served) as browser,
    ):
        text = await (await browser.get("/integrations/new?type=crm")).text()
        assert 'data-chosen="crm"' in text
        assert 'data-field="settings.base_url"' in text
        assert 'type="url"' in text
        assert 'data-field="settings.page_size" data-type="integer" value="10"' in text
        assert 'data-field="credentials.api_key" data-type="string" value="" required' in text
        assert 'value="phone" disabled' in text
        hint = await (await browser.get("/fragments/cron-hint?cron=*/5 * * * *")).text()
        assert "Every 5 minutes" in hint
        bad = await (await browser.get("/fragments/cron-hint?cron=nope")).text()
        assert "not a valid cron expression" in bad


async def test_wizard_asks_for_one_of_alternative_credentials_and_offers_webhooks(
    tmp_path: Path,
) -> None:
    async with (
        served_hub(tmp_path, registry=Registry((imap.SPEC,)), demo=False) as served,
        browser_session(served) as browser,
    ):
        text = await (await browser.get("/integrations/new?type=imap")).text()
        for name in ("password", "access_token"):
            field = re.search(rf'<input [^>]*data-field="credentials.{name}"[^>]*>', text)
            assert field is not None
            assert " required" not in field.group()
            assert 'data-one-of="password access_token"' in field.group()
            assert 'data-one-of-message="Fill in ' in field.group()
        assert 'Access token <span class="opt">(or Password)</span>' in text
        assert "instead of the password" in text
        assert 'data-field="credentials.webhook_secret"' in text
        assert '<option value="standard" selected>Standard Webhooks</option>' in text
        assert '<option value="shopify">Shopify</option>' in text


async def test_the_webhook_panel_gives_the_address_and_never_the_secret(tmp_path: Path) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browser_session(served) as browser,
    ):
        for body in (crm_input("crm", peer.api_key, webhooks=True), crm_input("quiet", "k")):
            created = await served.client.post("/api/integrations", json=body)
            assert created.status == 201, await created.text()
        panel = await (await browser.get("/integrations/crm/webhooks")).text()
        assert f'<code id="webhook-url">{served.base_url}/webhooks/crm</code>' in panel
        assert "signed with Standard Webhooks" in panel
        assert "kept in the vault, never shown again" in panel
        assert WEBHOOK_SECRET not in panel
        quiet = await (await browser.get("/integrations/quiet/webhooks")).text()
        assert "takes no inbound webhooks" in quiet
        assert "webhook-url" not in quiet


async def test_records_browser_pages_and_refuses_a_bad_cursor(tmp_path: Path) -> None:
    peer = CrmPeer()
    async with (
        served_hub(tmp_path, registry=registry(peer), demo=False) as served,
        browser_session(served) as browser,
    ):
        created = await served.client.post(
            "/api/integrations", json=crm_input("crm", "open-sesame")
        )
        assert created.status == 201

        async def synced() -> bool:  # the first sync starts on connect
            counts = await served.running.services.store.count_records("crm")
            return counts.get("contacts") == peer.contacts

        await wait_for(synced, what="the first sync of contacts")
        first = await (await browser.get("/integrations/crm/records?entity=contacts")).text()
        assert "C0001" in first
        assert "C0021" not in first
        found = re.search(r'data-query="([^"]+)" data-next-page', first)
        assert found is not None
        second = await (
            await browser.get(f"/integrations/crm/records?{found.group(1).replace('&amp;', '&')}")
        ).text()
        assert "C0021" in second
        assert "C0001" not in second
        assert "address" in second
        assert "München" in second
        bad = await browser.get("/integrations/crm/records?entity=contacts&after=nonsense")
        assert bad.status == 400


async def test_static_files_are_public(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        for name, kind in (("hub.css", "text/css"), ("hub.js", "javascript")):
            response = await anonymous_get(served, f"/static/{name}")
            assert response.status == 200
            assert kind in response.headers["Content-Type"]
