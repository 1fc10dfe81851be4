"""The shipped generic SOAP template (`adapters/templates/soap_service.yaml`, catalog entry
`soap`): its wizard form, the contract suite against CustomerService with everything given as
settings, and the other shapes the same settings reach (offsets, Salesforce-style tokens over
SOAP 1.2 with a password digest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from adapters import (
    AdapterContext,
    AdapterSpec,
    AuthError,
    ConfigError,
    HttpRequest,
    HttpResponse,
    SyncRequest,
    TransientError,
    packaged_template_spec,
)
from adapters.templates import template_text_spec
from adapters.templates.soap import load_soap_template_file, soap_spec
from api._dashboard_form import adapter_form
from tests.adapters.conformance import AdapterConformance, PeerFault, collect, ids
from tests.adapters.soap_fake import WRONG, Contexts, FakeCustomerService

TEMPLATE = Path(__file__).resolve().parents[2] / "adapters" / "templates" / "soap_service.yaml"
PAGED = {
    "auth": "basic",
    "operation": "GetCustomers",
    "result_path": "customers.customer",
    "arguments": '{"region": "EU"}',
    "paging": "page_number",
    "page_arg": "page",
    "size_arg": "pageSize",
    "page_size": 5,
    "total_path": "total",
}
TOKENS = {
    "auth": "ws_security_digest",
    "port": "CustomerServiceSoap12",
    "operation": "QueryCustomers",
    "result_path": "records",
    "paging": "token",
    "page_arg": "queryLocator",
    "size_arg": "batchSize",
    "page_size": 7,
    "token_path": "queryLocator",
    "next_operation": "QueryMore",
}


async def _hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.fixture
def spec() -> AdapterSpec:
    return soap_spec(load_soap_template_file(TEMPLATE))


@pytest.fixture
async def contexts() -> AsyncIterator[Contexts]:
    made = Contexts()
    yield made
    await made.aclose_all()


@pytest.fixture
async def fakes() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as stack:
        yield stack


async def _served(stack: AsyncExitStack, **options: Any) -> FakeCustomerService:
    fake = FakeCustomerService(**options)
    await stack.enter_async_context(fake.serving())
    return fake


class TestGenericSoapTemplateConformance(AdapterConformance):
    @pytest.fixture
    def spec(self) -> AdapterSpec:
        return soap_spec(load_soap_template_file(TEMPLATE))

    @pytest.fixture
    async def context(self, fakes: AsyncExitStack, contexts: Contexts) -> AdapterContext:
        return contexts(await _served(fakes, auth="basic"), settings=PAGED)

    @pytest.fixture
    def hanging_context(self, contexts: Contexts) -> AdapterContext:
        return contexts(send=_hang, settings={**PAGED, "wsdl_url": "http://127.0.0.1:9/w"})

    @pytest.fixture
    async def peer_faults(self, fakes: AsyncExitStack, contexts: Contexts) -> list[PeerFault]:
        busy = await _served(fakes, auth="basic", always="503")
        refusing = await _served(fakes, auth="basic")
        return [
            PeerFault("unavailable", TransientError, lambda: contexts(busy, settings=PAGED)),
            PeerFault(
                "credentials refused",
                AuthError,
                lambda: contexts(refusing, settings=PAGED, credentials=WRONG),
            ),
        ]


def test_the_template_dispatcher_reads_it_as_an_entry_point_would() -> None:
    spec = packaged_template_spec("adapters.templates", "soap_service.yaml")
    assert (spec.name, str(spec.kind), spec.entities) == ("soap", "SOAP", ("items",))
    assert spec is packaged_template_spec("adapters.templates", "soap_service.yaml")
    text = TEMPLATE.read_text(encoding="utf-8")
    assert template_text_spec(text, "soap_service.yaml").settings_schema == spec.settings_schema


def test_the_wizard_renders_its_form_from_plain_fields(spec: AdapterSpec) -> None:
    form = adapter_form(spec)
    assert form.available
    assert form.kind == "SOAP"
    kinds = {field.path.removeprefix("settings."): field.kind for field in form.fields}
    assert "json" not in kinds.values()
    assert kinds["wsdl_url"] == "url"
    assert kinds["auth"] == kinds["paging"] == kinds["first_page"] == "select"
    assert kinds["page_size"] == "number"
    required = [field.path for field in form.fields if field.required]
    assert required == ["settings.wsdl_url", "settings.operation"]
    credentials = [(field.path, field.required, field.help) for field in form.credentials]
    assert credentials == [
        ("credentials.username", False, "Needed unless the authentication is none."),
        ("credentials.password", False, "Needed unless the authentication is none."),
    ]


@pytest.mark.parametrize(
    ("settings", "pages"),
    [
        ({**PAGED, "paging": "offset", "page_arg": "offset"}, [5, 5, 5, 5, 3]),
        (TOKENS, [7, 7, 7, 2]),
        ({"auth": "none", "operation": "ListProducts", "primary_key": "sku"}, [4]),
    ],
    ids=["offset-basic", "token-digest-soap12", "one-call-no-auth"],
)
async def test_one_template_many_services(
    spec: AdapterSpec,
    fakes: AsyncExitStack,
    contexts: Contexts,
    settings: dict[str, Any],
    pages: list[int],
) -> None:
    fake = await _served(fakes, auth=settings["auth"])
    adapter = spec.factory(contexts(fake, settings=settings))
    batches = await collect(adapter, SyncRequest(("items",)))
    assert [len(batch.records) for batch in batches] == pages
    expected = (
        [str(n) for n in range(1, 24)] if sum(pages) == 23 else [f"SKU-00{n}" for n in range(1, 5)]
    )
    assert ids(batches) == expected


async def test_settings_reach_the_call_and_their_mistakes_name_the_field(
    spec: AdapterSpec, fakes: AsyncExitStack, contexts: Contexts
) -> None:
    fake = await _served(fakes, auth="basic")
    await spec.factory(contexts(fake, settings=PAGED)).connect()
    assert fake.calls[0] == ("GetCustomers", {"page": "1", "pageSize": "5", "region": "EU"})
    broken = {**PAGED, "arguments": '["EU"]'}
    with pytest.raises(
        ConfigError, match=r"entities\.items\.arguments_json: must be a JSON object"
    ):
        await spec.factory(contexts(fake, settings=broken)).connect()
    with pytest.raises(ConfigError, match="token_path"):
        await spec.factory(contexts(fake, settings={**PAGED, "paging": "token"})).connect()
    with pytest.raises(ConfigError, match="operation"):
        await spec.factory(contexts(fake, settings={"auth": "basic"})).connect()
    with pytest.raises(AuthError):
        await spec.factory(contexts(fake, settings=PAGED, credentials=WRONG)).connect()
    with pytest.raises(AuthError, match="the credential 'password' is missing or empty"):
        await spec.factory(contexts(fake, settings=PAGED, credentials={"username": "u"})).connect()
