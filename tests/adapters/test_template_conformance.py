"""The contract suite for the generic REST template, once per paginator and auth kind, against
the Notes fake in memory; then the behaviour the template's options promise."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anyio
import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    HttpClient,
    HttpRequest,
    HttpResponse,
    PermanentError,
    RateLimited,
    SyncKind,
    SyncRequest,
    TransientError,
    load_template,
    template_spec,
)
from runtime import SYSTEM_CLOCK, Clock, RateLimit, RateLimiter
from runtime.testing import MockClock
from runtime.vault import Secret
from tests.adapters.conformance import AdapterConformance, PeerFault, collect, ids
from tests.adapters.notes_fake import (
    API_KEY,
    CREDENTIALS,
    AuthKind,
    FakeNotes,
    Paging,
    notes_template,
)

BASE_URL = "https://notes.example"


def notes_spec(
    paging: Paging = "offset", auth: AuthKind = "api_key_query", **extra: object
) -> AdapterSpec:
    return template_spec(load_template(notes_template(paging, auth, **extra), "notes.yaml"))


def notes_context(
    fake: FakeNotes,
    *,
    credentials: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    page_size: int = 5,
    send: object = None,
    saved: list[dict[str, str]] | None = None,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(10_000, burst=10_000), clock=clock)
    http = HttpClient(limiter, clock=clock, send=send or fake.send)  # type: ignore[arg-type]  # a Send
    given = CREDENTIALS[fake.auth] if credentials is None else credentials
    vault = {name: Secret(value) for name, value in given.items()}

    async def save(rotated: Mapping[str, Secret[str]]) -> None:
        """As the vault would: later adapters of the integration get the rotated token."""
        assert saved is not None
        saved.append({name: secret.reveal() for name, secret in rotated.items()})
        vault.update(rotated)

    return AdapterContext(
        "notes-1",
        {"base_url": BASE_URL, "page_size": page_size},
        vault,
        http,
        limiter,
        clock,
        save_credentials=None if saved is None else save,
    )


async def _hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


VARIANTS: list[tuple[Paging, AuthKind]] = [
    ("offset", "api_key_query"),
    ("cursor", "api_key_header"),
    ("link", "api_key_query"),
    ("page", "basic"),
    ("offset", "bearer"),
    ("cursor", "client_credentials"),
    ("link", "refresh"),
]


@pytest.mark.parametrize(("paging", "auth"), VARIANTS, ids=[f"{p}-{a}" for p, a in VARIANTS])
class TestNotesTemplateConformance(AdapterConformance):
    @pytest.fixture
    def spec(self, paging: Paging, auth: AuthKind) -> AdapterSpec:
        return notes_spec(paging, auth)

    @pytest.fixture
    def context(self, paging: Paging, auth: AuthKind) -> AdapterContext:
        return notes_context(FakeNotes(paging=paging, auth=auth), saved=[])

    @pytest.fixture
    def hanging_context(self, paging: Paging, auth: AuthKind) -> AdapterContext:
        return notes_context(FakeNotes(paging=paging, auth=auth), send=_hang)

    @pytest.fixture
    def peer_faults(self, paging: Paging, auth: AuthKind) -> list[PeerFault]:
        def failing(status: int, **options: object) -> AdapterContext:
            fake = FakeNotes(paging=paging, auth=auth, fail_with=status)
            return notes_context(fake, **options)  # type: ignore[arg-type]  # test options

        wrong = {name: f"wrong-{name}-12345678" for name in CREDENTIALS[auth]}
        return [
            PeerFault("server error", TransientError, lambda: failing(503)),
            PeerFault("rate limited", RateLimited, lambda: failing(429), 7.0),
            PeerFault("own rate-limit status", RateLimited, lambda: failing(420), 7.0),
            PeerFault("conflict listed under fail", PermanentError, lambda: failing(409)),
            PeerFault("credentials refused", AuthError, lambda: failing(200, credentials=wrong)),
            PeerFault("credentials missing", AuthError, lambda: failing(200, credentials={})),
        ]


async def test_template_link_paging_keeps_no_api_key_in_checkpoints() -> None:
    fake = FakeNotes(paging="link", auth="api_key_query", count=12)
    batches = await collect(
        notes_spec("link").factory(notes_context(fake)), SyncRequest(("notes",))
    )
    assert ids(batches) == [str(n) for n in range(1, 13)]
    assert batches[0].checkpoint["next"] == {"url": f"{BASE_URL}/v1/notes?per_page=5&page=2"}
    assert all(API_KEY not in str(batch.checkpoint) for batch in batches)
    assert all(url.count("api_key=") == 1 for url in fake.requests)  # added back, once


async def test_template_ignored_status_ends_the_stream_quietly() -> None:
    fake = FakeNotes(count=12, fail_with=410)  # "gone": listed under errors.ignore
    batches = await collect(notes_spec().factory(notes_context(fake)), SyncRequest(("notes",)))
    assert [(len(b.records), b.complete) for b in batches] == [(0, True)]


async def test_template_field_mapping_shapes_records() -> None:
    fake = FakeNotes(count=2)
    batches = await collect(notes_spec().factory(notes_context(fake)), SyncRequest(("notes",)))
    assert batches[0].records[0].data == {
        "id": 1,
        "title": "Note 1",
        "updated": "2026-03-01T01:00:00Z",
    }


async def test_template_incremental_reads_from_high_water_mark_minus_lookback() -> None:
    fake = FakeNotes(count=10)
    adapter = notes_spec().factory(notes_context(fake))
    first = await collect(adapter, SyncRequest(("notes",)))
    assert first[-1].checkpoint["high"] == "2026-03-01T10:00:00Z"
    request = SyncRequest(("notes",), SyncKind.INCREMENTAL, {"notes": first[-1].checkpoint})
    again = await collect(adapter, request)
    assert ids(again) == ["8", "9", "10"]  # 10:00 - 2 h: from 08:00 on, the bound included
    assert "updated_since=2026-03-01T08%3A00%3A00Z" in fake.requests[-1]


async def test_template_oauth_refresh_token_rotated_and_stored_before_use(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = MockClock()
    fake = FakeNotes(paging="offset", auth="refresh", count=12, now=clock.now, lifetime=600)
    saved: list[dict[str, str]] = []
    adapter = notes_spec("offset", "refresh").factory(notes_context(fake, clock=clock, saved=saved))
    assert (await adapter.connect()).peer == "notes.example"
    assert saved == [{"refresh_token": "rt-1-Gh3n-refresh-Zq7L"}]
    await clock.advance(299)  # not yet due: 600 s tokens are renewed 60 s before expiry
    await collect(adapter, SyncRequest(("notes",)))
    assert fake.issued == 1
    await clock.advance(250)  # now within the last minute of the token's life
    await collect(adapter, SyncRequest(("notes",)))
    assert fake.issued == 2
    assert saved[-1] == {"refresh_token": "rt-2-Gh3n-refresh-Zq7L"}
    assert fake.refused == 0  # refreshed ahead of expiry: the API never saw an expired token
    assert "Zq7L" not in caplog.text
    assert "Hy2M" not in caplog.text


async def test_template_oauth_concurrent_requests_share_one_refresh() -> None:
    clock = MockClock()
    fake = FakeNotes(auth="client_credentials", now=clock.now, lifetime=100)
    adapter = notes_spec("offset", "client_credentials").factory(notes_context(fake, clock=clock))
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(adapter.health_check)
    assert fake.issued == 1
    await clock.advance(60)  # past the renewal point (half of a 100 s life)
    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(adapter.health_check)
    assert fake.issued == 2
    assert [form["grant_type"] for form in fake.token_requests] == ["client_credentials"] * 2


async def test_template_oauth_token_refused_early_is_renewed_once_then_auth_error() -> None:
    fake = FakeNotes(auth="refresh", count=12, uses=2)  # the API drops tokens after 2 uses
    saved: list[dict[str, str]] = []
    context = notes_context(fake, saved=saved)
    spec = notes_spec("offset", "refresh")
    batches = await collect(spec.factory(context), SyncRequest(("notes",)))
    assert ids(batches) == [str(n) for n in range(1, 13)]
    assert (fake.issued, fake.refused) == (2, 1)  # page 3 refused, renewed, asked again
    assert [s["refresh_token"] for s in saved] == [
        "rt-1-Gh3n-refresh-Zq7L",
        "rt-2-Gh3n-refresh-Zq7L",
    ]
    fake.uses = 0  # now every new token is refused at once: renewed once, then given up
    with pytest.raises(AuthError, match="the credentials were refused"):
        await collect(spec.factory(context), SyncRequest(("notes",)))
    assert (fake.issued, fake.refused) == (4, 3)


async def test_template_oauth_used_refresh_token_is_a_clear_auth_error() -> None:
    fake = FakeNotes(auth="refresh")
    fake.refresh_token = "rt-someone-else-used-it"
    adapter = notes_spec("offset", "refresh").factory(notes_context(fake))
    with pytest.raises(AuthError, match=r"refused the refresh token \(invalid_grant\); reconnect"):
        await adapter.connect()


async def test_template_oauth_rotation_without_a_store_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeNotes(auth="refresh")
    adapter = notes_spec("offset", "refresh").factory(notes_context(fake))
    await adapter.connect()
    assert "rotated but there is nowhere to store it" in caplog.text
