"""SOAP templates against CustomerService, a small SOAP service of our own served on loopback
(`soap_fake`): the contract suite once per paging, auth and SOAP version, then what SOAP
brings of its own: records flattened across pages, faults and statuses as our errors, retries,
WSDL reading (once per adapter, off the event loop, files beside the template), and no
credential in an error, a log line or a span."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from zeep.wsdl import Document

import adapters.templates.soap._zeep as soap_zeep
from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    ConfigError,
    HttpRequest,
    HttpResponse,
    PermanentError,
    RateLimited,
    SyncKind,
    SyncRequest,
    TransientError,
)
from adapters.templates.soap import load_soap_template, load_soap_template_file, soap_spec
from runtime.testing import wait_for
from tests.adapters.conformance import AdapterConformance, PeerFault, collect, ids
from tests.adapters.conftest import Spans
from tests.adapters.soap_fake import (
    CREDENTIALS,
    PASSWORD,
    SCHEMA,
    USERNAME,
    WRONG,
    WSDL,
    AuthMode,
    Contexts,
    FakeCustomerService,
    Paging,
    customer_template,
)

Serve = Callable[[FakeCustomerService], Awaitable[FakeCustomerService]]


def customer_spec(paging: Paging = "page", auth: AuthMode = "basic", **extra: Any) -> AdapterSpec:
    text = customer_template(paging, auth, **extra)
    return soap_spec(load_soap_template(text, f"customers-{paging}.yaml"))


@pytest.fixture
async def contexts() -> AsyncIterator[Contexts]:
    made = Contexts()
    yield made
    await made.aclose_all()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    async with AsyncExitStack() as stack:

        async def start(fake: FakeCustomerService) -> FakeCustomerService:
            await stack.enter_async_context(fake.serving())
            return fake

        yield start


async def _hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


VARIANTS: list[tuple[Paging, AuthMode, str]] = [
    ("page", "basic", ""),
    ("offset", "ws_security", "CustomerServiceSoap12"),
    ("token", "ws_security_digest", ""),
]


@pytest.mark.parametrize(
    ("paging", "auth", "port"), VARIANTS, ids=[f"{p}-{a}-{o or 'soap11'}" for p, a, o in VARIANTS]
)
class TestCustomerServiceConformance(AdapterConformance):
    @pytest.fixture
    def spec(self, paging: Paging, auth: AuthMode, port: str) -> AdapterSpec:
        return customer_spec(paging, auth, port=port or "{port}")

    @pytest.fixture
    async def context(self, auth: AuthMode, serve: Serve, contexts: Contexts) -> AdapterContext:
        return contexts(await serve(FakeCustomerService(auth=auth)))

    @pytest.fixture
    def hanging_context(self, contexts: Contexts) -> AdapterContext:
        return contexts(send=_hang, settings={"wsdl_url": "http://127.0.0.1:9/w"})

    @pytest.fixture
    async def peer_faults(
        self, auth: AuthMode, serve: Serve, contexts: Contexts
    ) -> list[PeerFault]:
        async def failing(**options: Any) -> Callable[[], AdapterContext]:
            credentials = options.pop("credentials", CREDENTIALS)
            fake = await serve(FakeCustomerService(auth=auth, **options))
            return lambda: contexts(fake, credentials=credentials)

        return [
            PeerFault("unavailable", TransientError, await failing(always="503")),
            PeerFault("rate limited", RateLimited, await failing(always="429"), 7.0),
            PeerFault("server fault", TransientError, await failing(always="server_fault")),
            PeerFault("no reply", TransientError, await failing(always="empty_500")),
            PeerFault("limit fault", RateLimited, await failing(always="limit_fault")),
            PeerFault("client fault", PermanentError, await failing(always="client_fault")),
            PeerFault("not SOAP", PermanentError, await failing(always="not_xml")),
            PeerFault("credentials refused", AuthError, await failing(credentials=WRONG)),
            PeerFault("credentials missing", AuthError, await failing(credentials={})),
            PeerFault("no WSDL there", ConfigError, await failing(wsdl_status=404)),
        ]


# -- records ------------------------------------------------------------------------------------


async def test_full_sync_reads_every_record_across_pages_as_json(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="basic"))
    spec = customer_spec("page", "basic")
    batches = await collect(spec.factory(contexts(fake)), SyncRequest(spec.entities))
    customers = [b for b in batches if b.entity == "customers"]
    assert [len(b.records) for b in customers] == [5, 5, 5, 5, 3]
    assert ids(customers) == [str(n) for n in range(1, 24)]
    assert ids([b for b in batches if b.entity == "products"]) == [
        "SKU-001",
        "SKU-002",
        "SKU-003",
        "SKU-004",
    ]
    pages = [args["page"] for name, args in fake.calls if name == "GetCustomers"]
    assert pages == ["1", "2", "3", "4", "5"]
    assert customers[0].records[1].data == {
        "id": 2,
        "name": "Customer 2 & Sons",
        "email": "c2@example.com",
        "balance": "20.05",
        "createdAt": "2026-02-27T00:00:00+00:00",
        "updatedAt": "2026-03-01T02:00:00+00:00",
        "birthday": "1980-01-03",
        "active": True,
        "tags": {"tag": ["t2", "vip"]},
        "address": {"street": "2 Main St", "city": "Bremen", "country": "DE"},
    }
    assert customers[0].records[4].data["email"] is None  # xsi:nil
    assert customers[-1].checkpoint == {
        "kind": "full",
        "done": True,
        "high": "2026-03-01T23:00:00Z",
    }
    json.dumps([record.data for batch in batches for record in batch.records], allow_nan=False)


async def test_incremental_sync_asks_from_the_high_water_mark_minus_lookback(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="basic"))
    adapter = customer_spec("page", "basic").factory(contexts(fake))
    first = await collect(adapter, SyncRequest(("customers",)))
    request = SyncRequest(("customers",), SyncKind.INCREMENTAL, {"customers": first[-1].checkpoint})
    again = await collect(adapter, request)
    assert ids(again) == ["21", "22", "23"]  # 23:00 - 2 h: from 21:00 on
    assert fake.calls[-1] == (
        "GetCustomers",
        {"page": "1", "pageSize": "5", "updatedSince": "2026-03-01T21:00:00Z"},
    )


async def test_token_pages_follow_the_locator_with_the_next_operation(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="ws_security_digest"))
    spec = customer_spec("token", "ws_security_digest")
    batches = await collect(spec.factory(contexts(fake)), SyncRequest(("customers",)))
    assert ids(batches) == [str(n) for n in range(1, 24)]
    assert [name for name, _ in fake.calls] == ["QueryCustomers"] + ["QueryMore"] * 4
    assert set(fake.seen_security) == {"digest"}


# -- errors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    auth: AuthMode
    shown: str  # what the error names
    port: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


@pytest.mark.parametrize(
    "refusal",
    [
        Refusal("basic", "HTTP 401"),  # refused at the WSDL already
        Refusal(
            "basic", "Client.Authentication", options={"basic_fault": True, "wsdl_public": True}
        ),
        Refusal("ws_security", "wsse:FailedAuthentication"),
        Refusal("ws_security", "env:Sender", port="CustomerServiceSoap12"),
        Refusal("ws_security_digest", "wsse:FailedAuthentication"),
    ],
    ids=repr,
)
async def test_a_wrong_password_is_an_auth_error_that_shows_no_password(
    refusal: Refusal, serve: Serve, contexts: Contexts, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = await serve(FakeCustomerService(auth=refusal.auth, **refusal.options))
    context = contexts(fake, credentials=WRONG, settings={"port": refusal.port})
    adapter = customer_spec("page", refusal.auth).factory(context)
    with pytest.raises(AuthError) as caught:
        await adapter.connect()
    assert refusal.shown in caught.value.message
    assert "reconnect" in caught.value.message
    for text in (str(caught.value), repr(caught.value.args), caplog.text):
        assert WRONG["password"] not in text
        assert USERNAME not in text


async def test_a_busy_service_is_retried_per_call(serve: Serve, contexts: Contexts) -> None:
    fake = await serve(FakeCustomerService(auth="basic"))
    spec = customer_spec("page", "basic")
    fake.script.extend(["503", "server_fault", "empty_500"])  # the first page, three times
    batches = await collect(spec.factory(contexts(fake)), SyncRequest(("customers",)))
    assert ids(batches) == [str(n) for n in range(1, 24)]
    pages = [args["page"] for name, args in fake.calls if name == "GetCustomers"]
    assert pages == ["1", "1", "1", "1", "2", "3", "4", "5"]


async def test_a_service_busy_for_longer_than_the_backoff_is_a_transient_error(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="basic"))
    fake.script.extend(["503"] * 3)  # the template's backoff allows 3 attempts
    adapter = customer_spec("page", "basic").factory(contexts(fake))
    with pytest.raises(TransientError, match="HTTP 503"):
        await collect(adapter, SyncRequest(("customers",)))
    status = await adapter.health_check()  # reported, not raised
    assert status.ok


async def test_configuration_mistakes_found_at_connect_name_what_is_there(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="none"))
    context = contexts(fake)
    spec = customer_spec("page", "none", check={"operation": "Pong"})
    with pytest.raises(
        ConfigError, match=r"no operation 'Pong'; it has GetCustomers, ListProducts"
    ):
        await spec.factory(context).connect()
    with pytest.raises(ConfigError, match=r"no SOAP port 'Nope' in 'CustomerService'; it has"):
        await (
            customer_spec("page", "none")
            .factory(contexts(fake, settings={"port": "Nope"}))
            .connect()
        )
    wrong = customer_template("page", "none")
    wrong = wrong.replace("records: customers.customer", "records: customers.client")
    adapter = soap_spec(load_soap_template(wrong, "w.yaml")).factory(context)
    with pytest.raises(ConfigError, match=r"customers has no 'client'; it has customer"):
        await collect(adapter, SyncRequest(("customers",)))
    fake.wsdl_status = 404
    with pytest.raises(ConfigError, match=r"the WSDL .*CustomerService\.wsdl: .*HTTP 404"):
        await customer_spec("page", "none").factory(contexts(fake)).connect()


async def test_arguments_that_do_not_fit_the_operation_are_a_config_error(
    serve: Serve, contexts: Contexts
) -> None:
    fake = await serve(FakeCustomerService(auth="none"))
    template = customer_template("page", "none")
    template = template.replace(
        "operation: GetCustomers", "operation: GetCustomers\n    arguments: {colour: red}"
    )
    adapter = soap_spec(load_soap_template(template, "a.yaml")).factory(contexts(fake))
    with pytest.raises(ConfigError, match="the arguments do not fit the operation"):
        await collect(adapter, SyncRequest(("customers",)))
    assert [name for name, _ in fake.calls] == []  # refused before anything was sent


# -- the WSDL -------------------------------------------------------------------------------


async def test_the_wsdl_is_read_once_per_adapter_in_a_worker_thread(
    serve: Serve, contexts: Contexts, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []

    def document(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return Document(*args, **kwargs)

    monkeypatch.setattr("adapters.templates.soap._zeep.Document", document)
    fake = await serve(FakeCustomerService(auth="basic"))
    spec = customer_spec("page", "basic")
    adapter = spec.factory(contexts(fake))
    async with anyio.create_task_group() as tg:  # concurrent first uses share one reading
        tg.start_soon(adapter.connect)
        tg.start_soon(adapter.health_check)
    await collect(adapter, SyncRequest(spec.entities))
    assert fake.wsdl_requests == ["/CustomerService.wsdl", "/types.xsd"]
    assert threads
    assert threading.main_thread().name not in threads
    await adapter.disconnect()
    await adapter.connect()  # read again: the service may have changed meanwhile
    assert len(fake.wsdl_requests) == 4


async def test_a_connect_cancelled_while_the_thread_parses_lets_go(
    contexts: Contexts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancellation lands before the thread asks for its first document: that request
    must not start (it would hang, and the reading task would wait for it)."""
    real = soap_zeep._document
    parsing, parsed = threading.Event(), threading.Event()

    def slow(*args: Any) -> Any:
        parsing.set()  # a big WSDL being parsed: until the test has cancelled
        parsed.wait(10)
        return real(*args)

    monkeypatch.setattr(soap_zeep, "_document", slow)
    adapter = customer_spec().factory(contexts(send=_hang, settings={"wsdl_url": "http://h/w"}))
    scope = anyio.CancelScope()

    async def connect() -> None:
        with scope:
            await adapter.connect()

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        tg.start_soon(connect)
        await wait_for(parsing.is_set, timeout=10, what="the thread parsing the WSDL")
        scope.cancel()
        parsed.set()
    assert scope.cancelled_caught
    assert anyio.current_time() - started < 5.0


def _wsdl_files(directory: Path, schema: str = "types.xsd") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    wsdl = WSDL.format(base="http://replaced.invalid").replace("types.xsd", schema)
    (directory / "customers.wsdl").write_text(wsdl, encoding="utf-8")
    (directory / "types.xsd").write_text(SCHEMA, encoding="utf-8")


def _file_template(directory: Path) -> Path:
    settings = {"endpoint": {"type": "string"}, "page_size": {"type": "integer", "default": 5}}
    text = customer_template(
        "offset",
        "ws_security",
        wsdl="customers.wsdl",
        endpoint="{endpoint}",
        port=None,
        settings=settings,
    )
    path = directory / "customers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_a_wsdl_shipped_beside_the_template(
    tmp_path: Path, serve: Serve, contexts: Contexts
) -> None:
    _wsdl_files(tmp_path / "pkg")
    spec = soap_spec(load_soap_template_file(_file_template(tmp_path / "pkg")))
    fake = await serve(FakeCustomerService(auth="ws_security"))
    context = contexts(settings={"endpoint": f"{fake.base_url}/soap11"})
    batches = await collect(spec.factory(context), SyncRequest(("customers",)))
    assert ids(batches) == [str(n) for n in range(1, 24)]
    assert fake.wsdl_requests == []  # read from the files, not fetched


async def test_a_wsdl_file_may_not_reach_outside_its_directory(
    tmp_path: Path, contexts: Contexts
) -> None:
    _wsdl_files(tmp_path / "pkg", schema="../secret.xsd")
    (tmp_path / "secret.xsd").write_text(SCHEMA, encoding="utf-8")
    spec = soap_spec(load_soap_template_file(_file_template(tmp_path / "pkg")))
    context = contexts(settings={"endpoint": "http://127.0.0.1:9/soap"})
    with pytest.raises(ConfigError, match="refers to a file outside its directory; not read"):
        await spec.factory(context).connect()


# -- secrets ----------------------------------------------------------------------------------


async def test_no_credential_in_spans_logs_or_errors(
    serve: Serve, contexts: Contexts, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    cases: list[tuple[AuthMode, dict[str, str]]] = [
        ("basic", CREDENTIALS),
        ("ws_security", WRONG),
        ("basic", WRONG),
    ]
    for auth, credentials in cases:
        fake = await serve(FakeCustomerService(auth=auth))
        context = contexts(fake, credentials=credentials, tracer_provider=spans.provider)
        adapter = customer_spec("page", auth).factory(context)
        try:
            await collect(adapter, SyncRequest(("customers",)))
        except AuthError as error:
            shown += [str(error), repr(error.args)]
    assert spans.finished()
    shown += [*spans.texts(), caplog.text]
    for secret in (PASSWORD, WRONG["password"], USERNAME):
        assert not any(secret in text for text in shown), secret
