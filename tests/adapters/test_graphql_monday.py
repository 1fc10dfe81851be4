"""The Monday.com GraphQL template (`adapters/templates/monday.yaml`) against a local GraphQL
server shaped like Monday's boards and items (`graphql_fake`), over loopback: the whole
record set, a complexity budget waited out page by page, a refused token, and the contract
suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from importlib import resources

import anyio
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
    PermanentError,
    RateLimited,
    RetryPolicy,
    Send,
    SyncRequest,
    TransientError,
)
from adapters.templates import packaged_template_spec, template_text_spec
from config import IntegrationType
from runtime import SYSTEM_CLOCK, Clock, RateLimit, RateLimiter
from runtime.testing import MockClock, serving_locally
from runtime.vault import Secret
from tests.adapters.conformance import AdapterConformance, PeerFault, collect, ids
from tests.adapters.graphql_fake import BUDGET_WAIT, RETRY_AFTER, TOKEN, FakeMonday

MONDAY = packaged_template_spec("adapters.templates", "monday.yaml")
MONDAY_TEXT = resources.files("adapters.templates").joinpath("monday.yaml").read_text("utf-8")
PAGE = 5


def monday_context(
    url: str,
    send: Send,
    *,
    token: str | None = TOKEN,
    clock: Clock = SYSTEM_CLOCK,
    page_size: int = PAGE,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(10_000, burst=10_000), clock=clock)
    retry = RetryPolicy(max_attempts=2, initial=0.01, max_delay=0.05, total=5)
    http = HttpClient(limiter, clock=clock, send=send, retry=retry)
    credentials = {} if token is None else {"api_token": Secret(token)}
    settings: dict[str, JsonValue] = {"api_url": url, "page_size": page_size}
    return AdapterContext("monday-1", settings, credentials, http, limiter, clock)


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    transport = AiohttpTransport()
    try:
        yield transport
    finally:
        await transport.aclose()


@pytest.fixture
def fake() -> FakeMonday:
    return FakeMonday()


@pytest.fixture
async def base_url(fake: FakeMonday) -> AsyncIterator[str]:
    async with serving_locally(fake.app()) as url:
        yield url


def test_monday_is_a_graphql_template_in_the_catalog_shape() -> None:
    assert MONDAY.kind is IntegrationType.GRAPHQL
    assert (MONDAY.name, MONDAY.title, MONDAY.entities) == (
        "monday",
        "Monday.com",
        ("boards", "items"),
    )
    assert MONDAY.credential_fields == ("api_token",)
    properties = MONDAY.settings_schema["properties"]
    assert isinstance(properties, Mapping)
    assert set(properties) == {"page_size", "api_version", "api_url"}


async def test_full_sync_reads_every_board_and_item(
    fake: FakeMonday, base_url: str, transport: AiohttpTransport
) -> None:
    adapter = MONDAY.factory(monday_context(f"{base_url}/v2", transport.send))
    info = await adapter.connect()
    assert (info.peer, info.account) == (base_url.removeprefix("http://"), "Acme GmbH")
    batches = await collect(adapter, SyncRequest(MONDAY.entities))
    boards = [b for b in batches if b.entity == "boards"]
    items = [b for b in batches if b.entity == "items"]
    assert ids(boards) == ["3001", "3002", "3003"]
    assert boards[0].records[0].data["name"] == "Board 3001"
    assert set(ids(items)) == fake.all_item_ids()
    assert len(ids(items)) == len(fake.all_item_ids()) == 16  # none read twice
    first = items[0].records[0].data
    assert first == {
        "id": "30010001",
        "name": "Task 1 on board 3001",
        "board_id": "3001",
        "group": "Group Title",
        "state": "active",
        "created_at": "2026-02-02T08:00:00Z",
        "updated_at": "2026-03-02T09:30:00Z",
        "column_values": [
            {"id": "status", "type": "status", "text": "Working on it"},
            {"id": "person", "type": "people", "text": None},
        ],
    }
    # Pages as Monday serves them: board 3001's 12 items as items_page, then two
    # next_items_page; the empty board 3002 one empty page; board 3003 one page.
    item_calls = [a for a in fake.asked if a.field in ("boards", "next_items_page")]
    shapes = [(a.field, a.variables.get("board")) for a in item_calls if "page" not in a.variables]
    assert shapes == [
        ("boards", "3001"),
        ("next_items_page", None),
        ("next_items_page", None),
        ("boards", "3002"),
        ("boards", "3003"),
    ]
    assert [len(b.records) for b in items] == [5, 5, 2, 0, 4]
    assert [b.complete for b in items] == [False] * 4 + [True]
    for asked in fake.asked:
        assert asked.headers["Authorization"] == TOKEN  # as it is, no "Bearer"
        assert asked.headers["API-Version"] == "2025-04"
        assert asked.headers["Content-Type"] == "application/json"


async def test_budget_exhausted_page_is_asked_again_after_the_wait() -> None:
    fake = FakeMonday(throttled={3, 4}, retry_in_seconds=30)  # the 2nd items page, twice
    async with serving_locally(fake.app()) as url:
        transport = AiohttpTransport()
        clock = MockClock()
        try:
            async with clock.autojump():
                adapter = MONDAY.factory(monday_context(f"{url}/v2", transport.send, clock=clock))
                batches = await collect(adapter, SyncRequest(("items",)))
        finally:
            await transport.aclose()
    assert set(ids(batches)) == fake.all_item_ids()
    assert len(ids(batches)) == 16
    assert clock.now() >= 60  # waited retry_in_seconds, twice
    fields = [(a.field, a.variables.get("cursor")) for a in fake.asked]
    # The boards listed (one short page), board 3001's first items page, then its second
    # page asked three times: twice refused for the budget, once answered.
    assert fields[:2] == [("boards", None), ("boards", None)]
    retried = fields[2:5]
    assert [field for field, _ in retried] == ["next_items_page"] * 3
    assert len({cursor for _, cursor in retried}) == 1  # the same page, three times
    assert fake.calls == len(fake.asked) == 8  # 6 without the budget, 2 waits: nothing re-read


async def test_wrong_or_missing_token_is_an_auth_error(
    base_url: str, transport: AiohttpTransport
) -> None:
    wrong = MONDAY.factory(monday_context(f"{base_url}/v2", transport.send, token="not-it-123"))
    with pytest.raises(AuthError, match="HTTP 401"):
        await wrong.connect()
    with pytest.raises(AuthError, match="HTTP 401"):
        await collect(wrong, SyncRequest(("boards",)))
    missing = MONDAY.factory(monday_context(f"{base_url}/v2", transport.send, token=None))
    with pytest.raises(AuthError, match="'api_token' is missing"):
        await missing.health_check()


async def test_a_long_budget_wait_gives_up_with_the_wait(
    base_url: str, transport: AiohttpTransport
) -> None:
    adapter = MONDAY.factory(monday_context(f"{base_url}/budget/v2", transport.send))
    with pytest.raises(RateLimited) as caught:
        await collect(adapter, SyncRequest(("boards",)))
    assert caught.value.retry_after == BUDGET_WAIT
    assert "COMPLEXITY_BUDGET_EXHAUSTED" in caught.value.message
    status = await adapter.health_check()
    assert not status.ok
    assert "rate limited" in status.detail


async def test_relay_style_single_query_with_a_null_first_cursor(
    fake: FakeMonday, base_url: str, transport: AiohttpTransport
) -> None:
    """The other way to page Monday's items: one query, `items_page(cursor: $cursor)`, the
    cursor null on the first page; and a GraphQL error names its code and message."""
    document = yaml.safe_load(MONDAY_TEXT)
    items = document["streams"]["items"]
    items["query"] = items["query"].replace("$limit: Int!)", "$limit: Int!, $cursor: String)")
    items["query"] = items["query"].replace("(limit: $limit)", "(limit: $limit, cursor: $cursor)")
    del items["paginator"]["next"]
    spec = template_text_spec(yaml.safe_dump(document, sort_keys=False), "monday-relay.yaml")
    adapter = spec.factory(monday_context(f"{base_url}/v2", transport.send))
    batches = await collect(adapter, SyncRequest(("items",)))
    assert set(ids(batches)) == fake.all_item_ids()
    cursors = [
        a.variables["cursor"] for a in fake.asked if a.field == "boards" and "board" in a.variables
    ]
    assert cursors[0] is None
    assert all(isinstance(cursor, str) for cursor in cursors[1:3])
    broken = spec.factory(monday_context(f"{base_url}/broken/v2", transport.send))
    with pytest.raises(PermanentError, match=r"INVALID_ARGUMENT: Argument 'limit' is out of range"):
        await collect(broken, SyncRequest(("boards",)))


async def _hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


class TestMondayConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return MONDAY

    @pytest.fixture
    def context(self, base_url: str, transport: AiohttpTransport) -> AdapterContext:
        return monday_context(f"{base_url}/v2", transport.send, page_size=2)  # pages of both

    @pytest.fixture
    def hanging_context(self) -> AdapterContext:
        return monday_context("https://monday.invalid/v2", _hang)

    @pytest.fixture
    def peer_faults(self, base_url: str, transport: AiohttpTransport) -> list[PeerFault]:
        def at(fault: str, **options: object) -> AdapterContext:
            return monday_context(f"{base_url}/{fault}/v2", transport.send, **options)  # type: ignore[arg-type]  # test options

        return [
            PeerFault("server error", TransientError, lambda: at("503")),
            PeerFault("rate limited", RateLimited, lambda: at("429"), float(RETRY_AFTER)),
            PeerFault("budget exhausted", RateLimited, lambda: at("budget"), float(BUDGET_WAIT)),
            PeerFault("bad query", PermanentError, lambda: at("broken")),
            PeerFault("token refused", AuthError, lambda: at("ok", token="wrong-token-1234")),
            PeerFault("token missing", AuthError, lambda: at("ok", token=None)),
        ]
