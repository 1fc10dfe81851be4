"""The SOAP template's pure parts, without a socket: loading (problems named by field and line),
settings applied and the call each page makes, results flattened to JSON, the checks that name
a wrong path, and faults sorted into the error taxonomy."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters import AuthError, ConfigError, PermanentError, RateLimited, SyncKind, TransientError
from adapters.templates import TemplateError
from adapters.templates._paging import PageState, Position, start
from adapters.templates.soap import (
    FaultInfo,
    FaultKind,
    Faults,
    classify_fault,
    load_soap_template,
    load_soap_template_file,
    soap_spec,
)
from adapters.templates.soap._faults import ServerFault, fault_error
from adapters.templates.soap._plan import Call, Setup, apply_settings, call_for
from adapters.templates.soap._results import check_shape, iso_duration, to_json

MINIMAL = """\
kind: soap
name: tiny-soap
title: Tiny SOAP
description: The smallest SOAP template.
wsdl: https://soap.example/Service?wsdl
entities:
  things:
    operation: ListThings
"""


def _problems(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(TemplateError) as caught:
        load_soap_template(text, "t.yaml")
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def _setup(text: str, **settings: Any) -> Setup:
    return apply_settings(load_soap_template(text, "t.yaml"), settings, "it-1")


# -- loading ----------------------------------------------------------------------------------


def test_minimal_template_loads_with_defaults() -> None:
    compiled = load_soap_template(MINIMAL, "tiny.yaml")
    spec = soap_spec(compiled)
    assert (spec.name, spec.entities, spec.credential_fields, spec.icon) == (
        "tiny-soap",
        ("things",),
        (),
        "🧼",
    )
    assert str(spec.kind) == "SOAP"
    assert spec.settings_schema["properties"] == {}
    setup = apply_settings(compiled, {}, "it-1")
    plan = setup.entities["things"]
    assert (plan.operation, plan.stream.records, plan.stream.primary_key) == (
        "ListThings",
        "",
        ("id",),
    )
    assert (setup.auth, setup.check, setup.check_entity) == ("none", None, "things")
    assert call_for(plan, start(plan.stream, None, SyncKind.FULL)).arguments == {}


def test_every_problem_named_by_field_and_line_at_once() -> None:
    text = textwrap.dedent(
        """\
        kind: soap
        name: broken
        title: Broken
        description: Many mistakes.
        settings:
          kind_of_paging: {type: string}
          size: {type: string, default: "10"}
        wsdl: "{wsdl_url}"
        auth: {type: "{kind_of_paging}", username: user, password: user}
        entities:
          things:
            operation: List
            records: "{where}"
            paging:
              type: token
              arg: locator
              page_size: "{size}"
          others:
            operation: Other
            paging: {type: "{kind_of_paging}", next_operation: More}
            incremental: {cursor_field: changed, arguments: {since: "x"}}
        check: {entity: nothing}
        """
    )
    assert _problems(text) == [
        (8, "wsdl", "{wsdl_url} is not one of the template's settings"),
        (
            9,
            "auth.type",
            "{kind_of_paging} must be a setting with an enum of some of: "
            "none, basic, ws_security, ws_security_digest",
        ),
        (9, "auth", "username and password must be different credentials"),
        (13, "entities.things.records", "{where} is not one of the template's settings"),
        (
            14,
            "entities.things.paging.token_path",
            "paging by token needs token_path, where the next one is",
        ),
        (17, "entities.things.paging.page_size", "{size} must be a setting of type integer"),
        (
            20,
            "entities.others.paging.type",
            "{kind_of_paging} must be a setting with an enum of some of: "
            "none, page_number, offset, token",
        ),
        (21, "entities.others.incremental.arguments", "no argument carries {cursor}"),
        (22, "check.entity", "there is no entity 'nothing'"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("kind: soap", "kind: rest", (1, "kind", "Input should be 'soap'")),
        ("wsdl: https", "wsdl: /etc/x.wsdl\n#", (5, "wsdl", "named relative to the template")),
        ("wsdl: https", "wsdl: ../up.wsdl\n#", (5, "wsdl", "named relative to the template")),
        ("wsdl: https", "wsdl: ftp", (5, "wsdl", "must be an http:// or https:// URL")),
        ("ListThings", "ListThings\nauth: {type: kerberos}", (9, "auth.type", "one of none,")),
        ("ListThings", "ListThings\n    paging: {type: pages}", (9, "paging.type", "one of none,")),
        ("  things:\n    operation: ListThings", " {}", (6, "entities", "at least 1 item")),
    ],
)
def test_single_mistakes(old: str, new: str, expected: tuple[int, str, str]) -> None:
    assert old in MINIMAL
    [(line, field, message)] = _problems(MINIMAL.replace(old, new))
    assert line == expected[0]
    assert field.endswith(expected[1])
    assert expected[2] in message


def test_shipped_generic_template_loads_and_its_form_is_flat() -> None:
    path = Path(__file__).resolve().parents[2] / "adapters" / "templates" / "soap_service.yaml"
    spec = soap_spec(load_soap_template_file(path))
    assert (spec.name, spec.entities, spec.credential_fields) == (
        "soap",
        ("items",),
        ("username", "password"),
    )
    schema = spec.settings_schema
    assert schema["required"] == ["wsdl_url", "operation"]
    properties = schema["properties"]
    assert isinstance(properties, dict)
    for name, prop in properties.items():
        assert prop["type"] in ("string", "integer"), name  # what the wizard's form renders
    assert properties["paging"]["enum"] == ["none", "page_number", "offset", "token"]


# -- settings applied, and the calls ---------------------------------------------------------

PAGED = """\
kind: soap
name: paged
title: Paged
description: Settings everywhere.
settings:
  wsdl: {type: string, default: "https://soap.example/S?wsdl"}
  paging: {type: string, enum: [none, page_number, offset, token], default: page_number}
  size: {type: integer, default: 50}
  first: {type: integer, enum: [0, 1], default: 1}
  region: {type: string, default: EU}
  extra: {type: string, default: "{}"}
  endpoint: {type: string, default: ""}
  auth: {type: string, enum: [basic, none], default: basic}
wsdl: "{wsdl}"
endpoint: "{endpoint}"
auth: {type: "{auth}"}
entities:
  customers:
    operation: GetCustomers
    arguments: {filter.region: "{region}", filter.active: true, limit: "{size}"}
    arguments_json: "{extra}"
    records: customers.customer
    primary_key: [region, id]
    paging:
      type: "{paging}"
      arg: request.position
      size_arg: request.size
      page_size: "{size}"
      start: "{first}"
      token_path: next
      next_operation: More
    incremental:
      cursor_field: changed
      arguments: {filter.since: "{cursor}", note: "from {cursor}"}
"""


def test_arguments_from_template_settings_and_paging() -> None:
    setup = _setup(PAGED, extra='{"filter": {"kind": "b2b"}, "verbose": false}')
    plan = setup.entities["customers"]
    assert setup.auth == "basic"
    assert setup.endpoint is None  # left empty: the WSDL's address
    call = call_for(plan, start(plan.stream, None, SyncKind.FULL))
    assert call.operation == "GetCustomers"
    assert call.arguments == {
        "filter": {"region": "EU", "active": True, "kind": "b2b"},
        "limit": 50,  # a whole "{size}" keeps the setting's type
        "verbose": False,
        "request": {"position": 1, "size": 50},
    }
    assert plan.stream.primary_key == ("region", "id")


def test_incremental_bound_goes_into_its_arguments() -> None:
    plan = _setup(PAGED).entities["customers"]
    state = PageState(Position(page=3), SyncKind.INCREMENTAL, since="2026-03-01T08:00:00Z")
    arguments = call_for(plan, state).arguments
    assert arguments["filter"] == {
        "region": "EU",
        "active": True,
        "since": "2026-03-01T08:00:00Z",
    }
    assert arguments["note"] == "from 2026-03-01T08:00:00Z"
    assert arguments["request"] == {"position": 3, "size": 50}


@pytest.mark.parametrize(
    ("paging", "first", "expected"),
    [
        ("offset", 1, {"position": 0, "size": 50}),
        ("page_number", 0, {"position": 0, "size": 50}),
        ("token", 1, {"size": 50}),  # the first page has no token yet
    ],
)
def test_paging_kind_from_a_setting(paging: str, first: int, expected: object) -> None:
    plan = _setup(PAGED, paging=paging, first=first).entities["customers"]
    call = call_for(plan, start(plan.stream, None, SyncKind.FULL))
    assert (call.operation, call.arguments["request"]) == ("GetCustomers", expected)


def test_token_pages_after_the_first_call_the_next_operation_with_the_token_alone() -> None:
    plan = _setup(PAGED, paging="token").entities["customers"]
    call = call_for(plan, PageState(Position(cursor="Q-2"), SyncKind.FULL))
    assert (call.operation, call.arguments) == ("More", {"request": {"position": "Q-2"}})


def test_no_paging_sends_no_paging_arguments() -> None:
    plan = _setup(PAGED, paging="none").entities["customers"]
    call = call_for(plan, start(plan.stream, None, SyncKind.FULL))
    assert "request" not in call.arguments
    assert plan.next_operation is None


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"extra": "[1]"}, "entities.customers.arguments_json", "must be a JSON object"),
        ({"extra": "{nope"}, "entities.customers.arguments_json", "is not JSON"),
        ({"endpoint": "ftp://x"}, "endpoint", "must be an http:// or https:// URL"),
        ({"endpoint": "https://u:p@x"}, "endpoint", "must not carry a user name"),
        ({"wsdl": "https://u:p@x/w"}, "wsdl", "must not carry a user name"),
        ({"wsdl": "local.wsdl"}, "wsdl", "has no place"),
        ({"size": "many"}, "size", "valid integer"),
        ({"auth": "ntlm"}, "auth", "must be one of"),
    ],
)
def test_settings_that_break_the_template_are_config_errors(
    settings: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _setup(PAGED, **settings)
    assert field in caught.value.message
    assert message in caught.value.message
    assert "u:p" not in caught.value.message


def test_an_argument_path_through_a_value_is_a_config_error() -> None:
    text = PAGED.replace('{filter.region: "{region}",', '{filter: 1, filter.region: "{region}",')
    with pytest.raises(ConfigError, match=r"filter\.region goes into a part that already has"):
        _setup(text)


def test_a_wsdl_file_is_read_beside_its_template(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(MINIMAL.replace("https://soap.example/Service?wsdl", "s.wsdl"))
    compiled = load_soap_template_file(tmp_path / "t.yaml")
    setup = apply_settings(compiled, {}, "it-1")
    assert setup.wsdl.path == tmp_path / "s.wsdl"
    assert setup.wsdl.shown() == "s.wsdl"


# -- results ----------------------------------------------------------------------------------


def test_results_become_json() -> None:
    element = etree.fromstring("<extra><a>1</a></extra>")
    value = {
        "when": datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        "day": date(2026, 3, 1),
        "at": time(8, 30),
        "amount": Decimal("1E+2"),
        "exact": Decimal("0.10"),
        "odd": Decimal("NaN"),
        "ratio": float("inf"),
        "data": b"\x00\x01",
        "took": timedelta(days=1, hours=2, minutes=3, seconds=4.5),
        "list": ({"n": 1}, None),
        "any": element,
        7: "key as text",
    }
    converted = to_json(value)
    assert converted == {
        "when": "2026-03-01T08:30:00+00:00",
        "day": "2026-03-01",
        "at": "08:30:00",
        "amount": "100",
        "exact": "0.10",
        "odd": "NaN",
        "ratio": "inf",
        "data": "AAE=",
        "took": "P1DT2H3M4.5S",
        "list": [{"n": 1}, None],
        "any": "<extra><a>1</a></extra>",
        "7": "key as text",
    }
    json.dumps(converted, allow_nan=False)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(seconds=-5), "-PT5S"),
        (timedelta(days=2), "P2D"),
        (timedelta(minutes=90), "PT1H30M"),
    ],
)
def test_iso_duration(duration: timedelta, text: str) -> None:
    assert iso_duration(duration) == text


def _stream(records: str, key: str = "id", paging: str = "none", token: str = "next") -> Any:
    text = MINIMAL + textwrap.indent(
        f"records: {records}\nprimary_key: {key}\n"
        f"paging: {{type: {paging}, arg: t, token_path: {token}, total_path: total}}\n",
        "    ",
    )
    return _setup(text).entities["things"].stream


def test_a_wrong_path_is_named_with_what_is_there() -> None:
    result: dict[str, Any] = {
        "customers": {"customer": [{"id": 1, "name": "a"}]},
        "total": 1,
        "next": None,
    }
    check_shape(result, _stream("customers.customer"), adapter="x")  # fits
    check_shape({"customers": None, "total": 0}, _stream("customers.customer"), adapter="x")
    with pytest.raises(ConfigError, match="customers has no 'custmer'; it has customer"):
        check_shape(result, _stream("customers.custmer"), adapter="x")
    with pytest.raises(ConfigError, match="is one object with customer, not a list"):
        check_shape(result, _stream("customers"), adapter="x")
    with pytest.raises(ConfigError, match="primary_key 'Id': the result has no 'Id'; it has id"):
        check_shape(result, _stream("customers.customer", key="Id"), adapter="x")
    with pytest.raises(ConfigError, match=r"paging\.token_path 'nxt'"):
        check_shape(result, _stream("customers.customer", paging="token", token="nxt"), adapter="x")
    with pytest.raises(ConfigError, match="total is a single value"):
        check_shape(result, _stream("total.items"), adapter="x")
    with pytest.raises(ConfigError, match="the result is a list, it has no 'products'"):
        check_shape([{"id": 1}], _stream("products.product"), adapter="x")
    check_shape([{"id": 1}], _stream("''"), adapter="x")


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (FaultInfo("soap:Client.Authentication", "Authentication failed"), FaultKind.AUTH),
        (FaultInfo("wsse:FailedAuthentication", "The token could not be checked"), FaultKind.AUTH),
        (FaultInfo("sf:INVALID_LOGIN", "Invalid username, password"), FaultKind.AUTH),
        (FaultInfo("sf:INVALID_SESSION_ID", "Invalid Session ID found"), FaultKind.AUTH),
        (FaultInfo("soap:Sender", "x", subcodes=("InvalidSecurity",)), FaultKind.AUTH),
        (FaultInfo("soap:Server", "Login failed for user"), FaultKind.AUTH),
        (FaultInfo("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests"), FaultKind.RATE_LIMITED),
        (FaultInfo("soap:Server", "Throttled"), FaultKind.RATE_LIMITED),
        (FaultInfo("soap:Server", "Object reference not set"), FaultKind.TRANSIENT),
        (FaultInfo("{http://www.w3.org/2003/05/soap-envelope}Receiver", ""), FaultKind.TRANSIENT),
        (FaultInfo("env:Receiver", "oops"), FaultKind.TRANSIENT),
        (FaultInfo("ns1:BACKEND", "Backend timed out"), FaultKind.TRANSIENT),
        (FaultInfo(None, "Unknown fault occured", status=500), FaultKind.TRANSIENT),
        (FaultInfo(None, "Unknown fault occured", status=400), FaultKind.PERMANENT),
        (FaultInfo("soap:Client", "Unknown region XX"), FaultKind.PERMANENT),
        (FaultInfo("soap:Sender", "Author not found"), FaultKind.PERMANENT),
        (FaultInfo("soap:VersionMismatch", ""), FaultKind.PERMANENT),
        (FaultInfo("sf:INVALID_FIELD", "No such column 'Foo'"), FaultKind.PERMANENT),
        (FaultInfo("x:Fault", "?", detail_codes=("fault", "INVALID_LOGIN")), FaultKind.AUTH),
    ],
)  # fmt: skip
def test_faults_classified(fault: FaultInfo, kind: FaultKind) -> None:
    assert classify_fault(fault) is kind


def test_the_templates_own_words_come_first() -> None:
    rules = Faults(permanent=("Login failed",), transient=("E-4711",))
    assert classify_fault(FaultInfo("soap:Server", "Login failed: bad query"), rules) is (
        FaultKind.PERMANENT
    )
    assert classify_fault(FaultInfo("soap:Client", "error E-4711"), rules) is FaultKind.TRANSIENT


def test_fault_errors_carry_code_and_text_but_never_a_secret() -> None:
    fault = FaultInfo("wsse:FailedAuthentication", "user soap-user with password pw-Sx9q refused")
    error = fault_error(
        fault, FaultKind.AUTH, context="crm: GetCustomers", secrets=["pw-Sx9q", "soap-user"]
    )
    assert isinstance(error, AuthError)
    assert error.message == (
        "crm: GetCustomers: SOAP fault wsse:FailedAuthentication: user REDACTED with password "
        "REDACTED refused; the credentials were refused, reconnect the integration"
    )
    long = fault_error(FaultInfo("soap:Client", "x" * 1000), FaultKind.PERMANENT, context="c")
    assert isinstance(long, PermanentError)
    assert len(long.message) < 350
    limited = fault_error(
        FaultInfo("sf:REQUEST_LIMIT_EXCEEDED"), FaultKind.RATE_LIMITED, context="c"
    )
    assert isinstance(limited, RateLimited)
    assert limited.retry_after is None
    server = fault_error(FaultInfo("soap:Server", "busy"), FaultKind.TRANSIENT, context="c")
    assert isinstance(server, ServerFault)
    assert isinstance(server, TransientError)


def test_the_example_in_the_docs_loads() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "templates.md"
    section = docs.read_text(encoding="utf-8").split("## SOAP templates", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = soap_spec(load_soap_template(example, "acme-erp.yaml"))
    assert (spec.entities, spec.credential_fields) == (
        ("customers", "invoices"),
        ("username", "password"),
    )
    setup = apply_settings(load_soap_template(example, "acme-erp.yaml"), {"host": "erp.x"}, "a-1")
    assert setup.wsdl.url == "https://erp.x/ws/CustomerService?wsdl"
    invoices = setup.entities["invoices"]
    assert call_for(invoices, PageState(Position(cursor="L2"), SyncKind.FULL)) == Call(
        "QueryMore", {"queryLocator": "L2"}
    )
