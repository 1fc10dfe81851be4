"""The Xentral template against a fake Xentral of our own (in memory): the contract suite,
then what is Xentral's own: media types, `page[...]` paging sent as-is, the bearer token,
429 with `Retry-After` retried per page, the products' incremental filter.
(Against Xentral's published API description, through Prism: test_xentral_prism.py.)"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import anyio
import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    ConfigError,
    HttpClient,
    HttpRequest,
    HttpResponse,
    JsonValue,
    PermanentError,
    RateLimited,
    RetryPolicy,
    SyncKind,
    SyncRequest,
    TransientError,
    packaged_template_spec,
)
from runtime import SYSTEM_CLOCK, Clock, RateLimit, RateLimiter
from runtime.testing import MockClock
from runtime.vault import Secret
from tests.adapters.conformance import AdapterConformance, PeerFault, collect, ids
from tests.adapters.xentral_fake import ACCEPTS, HANG, TOKEN, FakeXentral

XENTRAL = packaged_template_spec("adapters.templates", "xentral.yaml")
TEMPLATE_FILE = Path(__file__).resolve().parents[2] / "adapters" / "templates" / "xentral.yaml"
BASE_URL = "https://acme.xentral.biz"
QUICK = RetryPolicy(max_attempts=3, initial=0.001, max_delay=0.002, total=5.0)


def xentral_context(
    fake: FakeXentral,
    *,
    token: str | None = TOKEN,
    settings: Mapping[str, JsonValue] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    retry: RetryPolicy = QUICK,
    send: object = None,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(10_000, burst=10_000), clock=clock)
    http = HttpClient(limiter, clock=clock, retry=retry, send=send or fake.send)  # type: ignore[arg-type]  # a Send
    credentials = {} if token is None else {"token": Secret(token)}
    chosen = {"base_url": BASE_URL, "page_size": 10, **(settings or {})}
    return AdapterContext("xentral-1", chosen, credentials, http, limiter, clock)


async def _hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


class TestXentralConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return XENTRAL

    @pytest.fixture
    def context(self) -> AdapterContext:
        return xentral_context(FakeXentral())

    @pytest.fixture
    def hanging_context(self) -> AdapterContext:
        return xentral_context(FakeXentral(), send=_hang)

    @pytest.fixture
    def peer_faults(self) -> list[PeerFault]:
        def failing(*outcomes: tuple[str, str], token: str | None = TOKEN) -> AdapterContext:
            fake = FakeXentral()
            fake.script.extend(outcomes * 40)
            return xentral_context(fake, token=token)

        return [
            PeerFault("server errors", TransientError, lambda: failing(("500", ""))),
            PeerFault("no answer", TransientError, lambda: failing((HANG, ""))),
            PeerFault("rate limited", RateLimited, lambda: failing(("429", "7")), 7.0),
            PeerFault(
                "token refused",
                AuthError,
                lambda: xentral_context(FakeXentral(), token="xpat-wrong-1234567"),
            ),
            PeerFault("no token", AuthError, lambda: xentral_context(FakeXentral(), token=None)),
            PeerFault("empty token", AuthError, lambda: xentral_context(FakeXentral(), token=" ")),
            PeerFault(
                "no such instance",
                PermanentError,
                lambda: xentral_context(FakeXentral(), settings={"base_url": BASE_URL + "/nope"}),
            ),
        ]


def test_xentral_spec_for_the_catalog() -> None:
    assert XENTRAL.name == "xentral"
    assert XENTRAL.entities == ("customers", "invoices", "products")
    assert XENTRAL.credential_fields == ("token",)
    schema = XENTRAL.settings_schema
    assert schema["required"] == ["base_url"]
    properties = schema["properties"]
    assert isinstance(properties, Mapping)
    assert properties["page_size"] == {
        "default": 50,
        "description": "Xentral serves 10 to 50 records a page.",
        "maximum": 50,
        "minimum": 10,
        "title": "Records per page",
        "type": "integer",
    }
    assert packaged_template_spec("adapters.templates", "xentral.yaml") is XENTRAL


async def test_xentral_requests_as_xentral_wants_them() -> None:
    fake = FakeXentral(customers=25)
    await collect(XENTRAL.factory(xentral_context(fake)), SyncRequest(XENTRAL.entities))
    assert fake.refused == {}
    customers = [hit.url for hit in fake.hits if hit.entity == "customers"]
    assert customers == [
        f"{BASE_URL}/api/customers?page[number]={n}&page[size]=10" for n in (1, 2, 3)
    ]
    assert {hit.entity for hit in fake.hits} == set(ACCEPTS)  # each with its own Accept


async def test_xentral_records_whole_and_exact() -> None:
    fake = FakeXentral(customers=37, invoices=0, products=20)
    adapter = XENTRAL.factory(xentral_context(fake, settings={"page_size": 10}))
    for entity in XENTRAL.entities:
        batches = await collect(adapter, SyncRequest((entity,)))
        assert {r.external_id: r.data for b in batches for r in b.records} == fake.snapshot(entity)
        assert batches[-1].complete
    products = await collect(adapter, SyncRequest(("products",)))
    assert len(products) == 2  # 20 records, pages of 10, the total says the second is the last


async def test_xentral_429_waits_retry_after_and_asks_the_same_page_again() -> None:
    clock = MockClock()
    fake = FakeXentral(customers=15)
    fake.script.extend([("ok", ""), ("429", "30"), ("503", "2")])
    retry = RetryPolicy(max_attempts=5, initial=0.5, max_delay=1.0, total=120.0)
    adapter = XENTRAL.factory(xentral_context(fake, clock=clock, retry=retry))
    async with clock.autojump():
        batches = await collect(adapter, SyncRequest(("customers",)))
    assert ids(batches) == [str(n) for n in range(1, 16)]
    pages = [(hit.url.rsplit("page[number]=", 1)[1][0], hit.outcome) for hit in fake.hits]
    assert pages == [("1", "ok"), ("2", "429"), ("2", "503"), ("2", "ok")]
    assert clock.now() >= 32.0  # Retry-After 30, then 2: honoured, never undercut


async def test_xentral_products_incremental_asks_for_changes_since_last_minus_an_hour() -> None:
    fake = FakeXentral(products=30)  # product n was last updated n hours into 2026
    adapter = XENTRAL.factory(xentral_context(fake))
    first = await collect(adapter, SyncRequest(("products",)))
    assert first[-1].checkpoint["high"] == "2026-01-02T06:00:00Z"
    products = fake.records["products"]
    for key in ("5", "29"):
        products[key] = {**products[key], "updatedAt": "2026-02-01T10:00:00Z"}
    request = SyncRequest(("products",), SyncKind.INCREMENTAL, {"products": first[-1].checkpoint})
    changed = await collect(adapter, request)
    assert ids(changed) == ["5", "29", "30"]  # 30: inside the hour read again
    assert (
        "filter[0][op]=greaterThan&filter[0][value]=2026-01-02T05%3A00%3A00Z" in fake.hits[-1].url
    )
    assert changed[-1].checkpoint == {
        "kind": "incremental",
        "done": True,
        "high": "2026-02-01T10:00:00Z",
    }


async def test_xentral_bad_settings_are_config_errors_naming_the_field() -> None:
    for settings, field in (
        ({"page_size": 60}, "page_size"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"colour": 1}, "colour"),
    ):
        adapter = XENTRAL.factory(xentral_context(FakeXentral(), settings=settings))
        with pytest.raises(ConfigError, match=field):
            await adapter.connect()


def test_xentral_template_length() -> None:
    """The promise: a real ERP in one short file (figures go to the closing note)."""
    lines = TEMPLATE_FILE.read_text(encoding="utf-8").splitlines()
    meaningful = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) <= 100
    assert len(meaningful) <= 80
