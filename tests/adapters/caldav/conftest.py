"""Fixtures of the CalDAV tests: one Radicale for the session, one fresh user per test.

`account` is a user of its own on the shared server (so tests never see each other's
calendars) with a small WebDAV client to put the test's data in: MKCALENDAR, PUT, DELETE.
`caldav_context` builds the adapter's context over real HTTP; the caller closes its client.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass

import aiohttp
import pytest

from adapters import DEFAULT_RETRY, AdapterContext, HttpClient, JsonValue, RetryPolicy
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from runtime.vault import Secret
from tests.peers.radicale import RadicaleServer, running_radicale

_MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>
<d:displayname>{name}</d:displayname>
<c:supported-calendar-component-set>{components}</c:supported-calendar-component-set>
</d:prop></d:set></c:mkcalendar>"""


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    with running_radicale() as server:
        yield server


@dataclass
class DavAccount:
    """A Radicale user and a client to change its calendars as another app would."""

    server: RadicaleServer
    user: str
    password: str
    session: aiohttp.ClientSession

    @property
    def home(self) -> str:
        return f"{self.server.url}{self.user}/"

    def calendar_url(self, slug: str) -> str:
        return f"{self.home}{slug}/"

    def href(self, slug: str, name: str) -> str:
        """The path Radicale names an object by (the adapter's external id for it)."""
        return f"/{self.user}/{slug}/{name}"

    async def mkcalendar(
        self, slug: str, name: str, components: tuple[str, ...] = ("VEVENT",)
    ) -> None:
        comps = "".join(f'<c:comp name="{component}"/>' for component in components)
        body = _MKCALENDAR.format(name=name, components=comps)
        async with self.session.request("MKCALENDAR", self.calendar_url(slug), data=body) as r:
            assert r.status == 201, (r.status, await r.text())

    async def put(self, slug: str, name: str, text: str) -> None:
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        url = f"{self.calendar_url(slug)}{name}"
        async with self.session.put(url, data=text.encode(), headers=headers) as response:
            assert response.status in (201, 204), (response.status, await response.text())

    async def delete(self, slug: str, name: str) -> None:
        async with self.session.delete(f"{self.calendar_url(slug)}{name}") as response:
            assert response.status in (200, 204), response.status


@pytest.fixture
async def account(radicale: RadicaleServer) -> AsyncIterator[DavAccount]:
    user = f"u{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    radicale.add_user(user, password)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as session:
        yield DavAccount(radicale, user, password, session)


def caldav_context(
    url: str,
    credentials: Mapping[str, str],
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    **settings: JsonValue,
) -> AdapterContext:
    """A context over real HTTP on the system clock; close `context.http` after use."""
    return _context(url, credentials, settings, retry)


def account_context(account: DavAccount, **settings: JsonValue) -> AdapterContext:
    """The adapter's context for `account`, starting from the server's root."""
    chosen = {"username": account.user, **settings}
    return _context(account.server.url, {"password": account.password}, chosen, DEFAULT_RETRY)


def _context(
    url: str,
    credentials: Mapping[str, str],
    settings: Mapping[str, JsonValue],
    retry: RetryPolicy,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(rate=1000, burst=100), clock=SYSTEM_CLOCK)
    return AdapterContext(
        integration_id="cal-1",
        settings={"url": url, **settings},
        credentials={name: Secret(value) for name, value in credentials.items()},
        http=HttpClient(limiter, clock=SYSTEM_CLOCK, retry=retry),
        limiter=limiter,
        clock=SYSTEM_CLOCK,
    )
