"""A small SOAP service of our own for the SOAP template tests ("CustomerService").

Served over aiohttp on loopback: a WSDL (`GET /CustomerService.wsdl`) that imports its schema
(`GET /types.xsd`), and one service with two ports, SOAP 1.1 (`POST /soap11`) and SOAP 1.2
(`POST /soap12`), document/literal. Operations:

- `GetCustomers(page | offset, pageSize, region?, updatedSince?)` -> `customers`, `total`
- `QueryCustomers(batchSize)` / `QueryMore(queryLocator)` -> `result` {done, queryLocator,
  records, size}, shaped like Salesforce's `query` / `queryMore`
- `ListProducts()` -> `products`, all at once
- `Ping()` -> `version`

Customers carry dates, times, decimals, booleans, lists and a nested address, so results
exercise the flattening. Credentials: HTTP Basic (401 when wrong, or a `Client.Authentication`
fault with `basic_fault`), a WS-Security UsernameToken (text or digest, checked as the OASIS
profile says; a wrong one is a `wsse:FailedAuthentication` fault that echoes the password, as a
careless server might), or none. `script` makes the next calls fail (`"503"`, `"429"`,
`"server_fault"`, `"client_fault"`, `"limit_fault"`, `"empty_500"`, `"not_xml"`), `always` every
call.
"""

from __future__ import annotations

import base64
import hashlib
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from xml.sax.saxutils import escape

import yaml
from aiohttp import web
from lxml import etree
from opentelemetry.sdk.trace import TracerProvider

from adapters import AdapterContext, HttpClient, RetryPolicy, Send
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from runtime.testing import serving_locally
from runtime.vault import Secret

AuthMode = Literal["none", "basic", "ws_security", "ws_security_digest"]
Paging = Literal["page", "offset", "token"]

USERNAME, PASSWORD = "soap-user", "pw-Sx9q-soap-secret-L4rT"
CREDENTIALS = {"username": USERNAME, "password": PASSWORD}
WRONG = {"username": USERNAME, "password": "wrong-Pw4k-password-77"}
FAST_RETRY = RetryPolicy(max_attempts=3, initial=0.001, max_delay=0.001, total=2)
TNS = "urn:example:customers"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
VERSION = "CustomerService 2.4"


def customer(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "name": f"Customer {n} & Sons",
        "email": None if n % 5 == 0 else f"c{n}@example.com",
        "balance": Decimal(f"{n * 10}.05"),
        "createdAt": EPOCH - timedelta(days=n),
        "updatedAt": EPOCH + timedelta(hours=n),
        "birthday": date(1980, 1, 1) + timedelta(days=n),
        "active": n % 3 != 0,
        "tags": [f"t{n}", "vip"] if n % 2 == 0 else [],
        "address": {"street": f"{n} Main St", "city": "Bremen", "country": "DE"},
    }


def product(n: int) -> dict[str, Any]:
    return {"sku": f"SKU-{n:03d}", "name": f"Product {n}", "price": Decimal(f"{n}.99")}


@dataclass
class FakeCustomerService:
    count: int = 23
    products: int = 4
    auth: AuthMode = "basic"
    basic_fault: bool = False  # wrong Basic credentials: a fault instead of 401
    wsdl_public: bool = False  # the WSDL needs no credentials, whatever `auth` says
    wsdl_status: int | None = None  # the WSDL answers this status instead
    script: deque[str] = field(default_factory=deque)  # outcomes of the next SOAP calls
    always: str | None = None  # the outcome of every SOAP call the script does not decide
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    wsdl_requests: list[str] = field(default_factory=list)
    base_url: str = ""
    seen_security: list[str] = field(default_factory=list)  # password types received

    @property
    def wsdl_url(self) -> str:
        return f"{self.base_url}/CustomerService.wsdl"

    # -- documents --------------------------------------------------------------------------

    async def _wsdl(self, request: web.Request) -> web.Response:
        self.wsdl_requests.append(request.path)
        if self.wsdl_status is not None:
            return web.Response(status=self.wsdl_status, text="no")
        if self.auth == "basic" and not self.wsdl_public and not self._basic_ok(request):
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="soap"'})
        if request.path.endswith(".xsd"):
            return web.Response(body=SCHEMA.encode(), content_type="text/xml")
        text = WSDL.format(base=self.base_url)
        return web.Response(body=text.encode(), content_type="text/xml")

    # -- calls --------------------------------------------------------------------------------

    async def _soap(self, request: web.Request) -> web.Response:
        soap12 = request.path.endswith("12")
        body = await request.read()
        try:
            envelope = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return _fault(soap12, "Client", "the request is not XML")
        operation_node = envelope.find(f"{{{SOAP12 if soap12 else SOAP11}}}Body")[0]
        operation = etree.QName(operation_node).localname
        arguments = {etree.QName(child).localname: child.text or "" for child in operation_node}
        self.calls.append((operation, arguments))
        refused = self._refused(request, envelope, soap12)
        if refused is not None:
            return refused
        outcome = self.script.popleft() if self.script else self.always
        if outcome is not None:
            return _scripted(outcome, soap12)
        try:
            content = self._answer(operation, arguments)
        except KeyError:
            return _fault(soap12, "Client", f"no operation {operation}")
        return _reply(soap12, f"<c:{operation}Response>{content}</c:{operation}Response>")

    def _answer(self, operation: str, arguments: dict[str, str]) -> str:
        if operation == "Ping":
            return f"<c:version>{VERSION}</c:version>"
        if operation == "ListProducts":
            items = "".join(_element("product", product(n)) for n in range(1, self.products + 1))
            return f"<c:products>{items}</c:products>"
        if operation == "GetCustomers":
            rows = self._customers(arguments.get("updatedSince"))
            size = int(arguments.get("pageSize") or 10)
            if arguments.get("offset"):
                start = int(arguments["offset"])
            else:
                start = (int(arguments.get("page") or 1) - 1) * size
            page = "".join(_element("customer", row) for row in rows[start : start + size])
            return f"<c:customers>{page}</c:customers><c:total>{len(rows)}</c:total>"
        if operation == "QueryCustomers":
            return self._query(0, int(arguments.get("batchSize") or 10))
        if operation == "QueryMore":
            locator = base64.urlsafe_b64decode(arguments["queryLocator"]).decode()
            start, size = (int(part) for part in locator.split(":"))
            return self._query(start, size)
        raise KeyError(operation)

    def _customers(self, since: str | None) -> list[dict[str, Any]]:
        rows = [customer(n) for n in range(1, self.count + 1)]
        if since:
            bound = datetime.fromisoformat(since)
            rows = [row for row in rows if row["updatedAt"] >= bound]
        return rows

    def _query(self, start: int, size: int) -> str:
        rows = self._customers(None)
        page = rows[start : start + size]
        done = start + size >= len(rows)
        following = base64.urlsafe_b64encode(f"{start + size}:{size}".encode()).decode()
        locator = '<c:queryLocator xsi:nil="true"/>' if done else f"<c:queryLocator>{following}"
        locator += "" if done else "</c:queryLocator>"
        records = "".join(_element("records", row) for row in page)
        return (
            f"<c:result><c:done>{'true' if done else 'false'}</c:done>{locator}"
            f"{records}<c:size>{len(rows)}</c:size></c:result>"
        )

    # -- credentials --------------------------------------------------------------------------

    def _basic_ok(self, request: web.Request) -> bool:
        pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {pair}"

    def _refused(
        self, request: web.Request, envelope: etree._Element, soap12: bool
    ) -> web.Response | None:
        if self.auth == "none" or (self.auth == "basic" and self._basic_ok(request)):
            return None
        if self.auth == "basic" and self.basic_fault:
            return _fault(soap12, "Client.Authentication", "Authentication failed")
        if self.auth == "basic":
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="soap"'})
        token = envelope.find(f".//{{{WSSE}}}UsernameToken")
        if token is None:
            return _auth_fault(soap12, "no UsernameToken")
        username = token.findtext(f"{{{WSSE}}}Username") or ""
        password_node = token.find(f"{{{WSSE}}}Password")
        password = "" if password_node is None else password_node.text or ""
        digest = password_node is not None and password_node.get("Type") == DIGEST
        self.seen_security.append("digest" if digest else "text")
        if digest:
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
            created = token.findtext(f"{{{WSU}}}Created") or ""
            expected = hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()
            good = password == base64.b64encode(expected).decode()
        else:
            good = password == PASSWORD
        wanted = self.auth == "ws_security_digest"
        if username == USERNAME and good and digest == wanted:
            return None
        return _auth_fault(soap12, f"user {username} with password {password} refused")

    # -- serving ----------------------------------------------------------------------------

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_get("/CustomerService.wsdl", self._wsdl)
        app.router.add_get("/types.xsd", self._wsdl)
        app.router.add_post("/soap11", self._soap)
        app.router.add_post("/soap12", self._soap)
        async with serving_locally(app) as url:
            self.base_url = url
            yield url


# -- SOAP replies ---------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return escape(str(value))


def _element(name: str, value: Any) -> str:
    if value is None:
        return f'<c:{name} xsi:nil="true"/>'
    if isinstance(value, dict):
        return f"<c:{name}>{''.join(_element(k, v) for k, v in value.items())}</c:{name}>"
    if isinstance(value, list):
        return f"<c:{name}>{''.join(_element('tag', item) for item in value)}</c:{name}>"
    return f"<c:{name}>{_value(value)}</c:{name}>"


def _reply(soap12: bool, content: str, status: int = 200) -> web.Response:
    namespace = SOAP12 if soap12 else SOAP11
    text = (
        f'<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="{namespace}" '
        f'xmlns:c="{TNS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xmlns:wsse="{WSSE}"><env:Body>{content}</env:Body></env:Envelope>'
    )
    content_type = "application/soap+xml" if soap12 else "text/xml"
    return web.Response(status=status, body=text.encode(), content_type=content_type)


def _fault(soap12: bool, code: str, text: str, *, subcode: str | None = None) -> web.Response:
    """SOAP 1.1: `faultcode` `env:{code}`; SOAP 1.2: Sender/Receiver with `code`'s detail as
    a subcode (a 1.1 `Client.Authentication` is 1.2 `Sender` + `c:Authentication`)."""
    if not soap12:
        value = code if ":" in code else f"env:{code}"
        fault = f"<faultcode>{value}</faultcode><faultstring>{escape(text)}</faultstring>"
        return _reply(False, f"<env:Fault>{fault}</env:Fault>", 500)
    main, _, rest = code.partition(".")
    main = {"Client": "Sender", "Server": "Receiver"}.get(main, main)
    sub = subcode or (f"c:{rest}" if rest else None)
    inner = f"<env:Subcode><env:Value>{sub}</env:Value></env:Subcode>" if sub else ""
    fault = (
        f"<env:Code><env:Value>env:{main}</env:Value>{inner}</env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(text)}</env:Text></env:Reason>'
    )
    return _reply(True, f"<env:Fault>{fault}</env:Fault>", 400 if main == "Sender" else 500)


def _auth_fault(soap12: bool, text: str) -> web.Response:
    if soap12:
        return _fault(True, "Client", text, subcode="wsse:FailedAuthentication")
    return _fault(False, "wsse:FailedAuthentication", text)


_SCRIPTED: dict[str, Callable[[bool], web.Response]] = {
    "502": lambda _: web.Response(status=502, text="bad gateway"),
    "503": lambda _: web.Response(status=503, text="down for a moment"),
    "429": lambda _: web.Response(status=429, headers={"Retry-After": "7"}, text="slow down"),
    "empty_500": lambda _: web.Response(status=500),
    "not_xml": lambda _: web.Response(
        status=200, text="<html>a proxy's login page</html>", content_type="text/html"
    ),
    "server_fault": lambda soap12: _fault(soap12, "Server", "Database busy, try again later"),
    "limit_fault": lambda soap12: _fault(
        soap12, "sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
    ),
    "client_fault": lambda soap12: _fault(soap12, "Client", "Unknown region XX"),
}


def _scripted(outcome: str, soap12: bool) -> web.Response:
    return _SCRIPTED[outcome](soap12)


# -- the documents ---------------------------------------------------------------------------

SCHEMA = f"""<?xml version="1.0" encoding="utf-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="{TNS}"
    targetNamespace="{TNS}" elementFormDefault="qualified">
  <xsd:complexType name="Address">
    <xsd:sequence>
      <xsd:element name="street" type="xsd:string"/>
      <xsd:element name="city" type="xsd:string"/>
      <xsd:element name="country" type="xsd:string"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="Tags">
    <xsd:sequence>
      <xsd:element name="tag" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="Customer">
    <xsd:sequence>
      <xsd:element name="id" type="xsd:int"/>
      <xsd:element name="name" type="xsd:string"/>
      <xsd:element name="email" type="xsd:string" nillable="true"/>
      <xsd:element name="balance" type="xsd:decimal"/>
      <xsd:element name="createdAt" type="xsd:dateTime"/>
      <xsd:element name="updatedAt" type="xsd:dateTime"/>
      <xsd:element name="birthday" type="xsd:date"/>
      <xsd:element name="active" type="xsd:boolean"/>
      <xsd:element name="tags" type="tns:Tags"/>
      <xsd:element name="address" type="tns:Address" minOccurs="0"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="CustomerList">
    <xsd:sequence>
      <xsd:element name="customer" type="tns:Customer" minOccurs="0" maxOccurs="unbounded"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="Product">
    <xsd:sequence>
      <xsd:element name="sku" type="xsd:string"/>
      <xsd:element name="name" type="xsd:string"/>
      <xsd:element name="price" type="xsd:decimal"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="ProductList">
    <xsd:sequence>
      <xsd:element name="product" type="tns:Product" minOccurs="0" maxOccurs="unbounded"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:complexType name="QueryResult">
    <xsd:sequence>
      <xsd:element name="done" type="xsd:boolean"/>
      <xsd:element name="queryLocator" type="xsd:string" nillable="true"/>
      <xsd:element name="records" type="tns:Customer" minOccurs="0" maxOccurs="unbounded"/>
      <xsd:element name="size" type="xsd:int"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:element name="GetCustomers">
    <xsd:complexType>
      <xsd:sequence>
        <xsd:element name="page" type="xsd:int" minOccurs="0"/>
        <xsd:element name="offset" type="xsd:int" minOccurs="0"/>
        <xsd:element name="pageSize" type="xsd:int"/>
        <xsd:element name="region" type="xsd:string" minOccurs="0"/>
        <xsd:element name="updatedSince" type="xsd:dateTime" minOccurs="0"/>
      </xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="GetCustomersResponse">
    <xsd:complexType>
      <xsd:sequence>
        <xsd:element name="customers" type="tns:CustomerList"/>
        <xsd:element name="total" type="xsd:int"/>
      </xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="QueryCustomers">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="batchSize" type="xsd:int"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="QueryCustomersResponse">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="result" type="tns:QueryResult"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="QueryMore">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="queryLocator" type="xsd:string"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="QueryMoreResponse">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="result" type="tns:QueryResult"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="ListProducts">
    <xsd:complexType><xsd:sequence/></xsd:complexType>
  </xsd:element>
  <xsd:element name="ListProductsResponse">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="products" type="tns:ProductList"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
  <xsd:element name="Ping">
    <xsd:complexType><xsd:sequence/></xsd:complexType>
  </xsd:element>
  <xsd:element name="PingResponse">
    <xsd:complexType>
      <xsd:sequence><xsd:element name="version" type="xsd:string"/></xsd:sequence>
    </xsd:complexType>
  </xsd:element>
</xsd:schema>
"""

_OPERATIONS = ("GetCustomers", "QueryCustomers", "QueryMore", "ListProducts", "Ping")


def _messages() -> str:
    return "".join(
        f'<wsdl:message name="{op}{io}"><wsdl:part name="parameters" element="tns:{op}{suffix}"/>'
        f"</wsdl:message>"
        for op in _OPERATIONS
        for io, suffix in (("Request", ""), ("Response", "Response"))
    )


def _port_type() -> str:
    operations = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response"/></wsdl:operation>'
        for op in _OPERATIONS
    )
    return f'<wsdl:portType name="CustomerPort">{operations}</wsdl:portType>'


def _binding(name: str, soap: str) -> str:
    operations = "".join(
        f'<wsdl:operation name="{op}"><{soap}:operation soapAction="{TNS}#{op}"/>'
        f'<wsdl:input><{soap}:body use="literal"/></wsdl:input>'
        f'<wsdl:output><{soap}:body use="literal"/></wsdl:output></wsdl:operation>'
        for op in _OPERATIONS
    )
    return (
        f'<wsdl:binding name="{name}" type="tns:CustomerPort">'
        f'<{soap}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{operations}</wsdl:binding>"
    )


WSDL = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
    'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
    'xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" '
    f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="{TNS}" '
    f'targetNamespace="{TNS}" name="CustomerService">'
    f'<wsdl:types><xsd:schema targetNamespace="{TNS}-import">'
    f'<xsd:import namespace="{TNS}" schemaLocation="types.xsd"/></xsd:schema></wsdl:types>'
    + _messages()
    + _port_type()
    + _binding("CustomerSoap", "soap")
    + _binding("CustomerSoap12", "soap12")
    + '<wsdl:service name="CustomerService">'
    '<wsdl:port name="CustomerServiceSoap" binding="tns:CustomerSoap">'
    '<soap:address location="{{base}}/soap11"/></wsdl:port>'
    '<wsdl:port name="CustomerServiceSoap12" binding="tns:CustomerSoap12">'
    '<soap12:address location="{{base}}/soap12"/></wsdl:port>'
    "</wsdl:service></wsdl:definitions>"
).replace("{{base}}", "{base}")


# -- contexts talking to it -------------------------------------------------------------------


@dataclass
class Contexts:
    """Adapter contexts for served fakes; the test closes their HTTP clients (`aclose_all`)."""

    clients: list[HttpClient] = field(default_factory=list)

    def __call__(
        self,
        fake: FakeCustomerService | None = None,
        *,
        credentials: Mapping[str, str] = CREDENTIALS,
        settings: Mapping[str, Any] | None = None,
        send: Send | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> AdapterContext:
        limiter = RateLimiter(RateLimit(10_000, burst=10_000))
        http = HttpClient(limiter, send=send, tracer_provider=tracer_provider, retry=FAST_RETRY)
        self.clients.append(http)
        given = {} if fake is None else {"wsdl_url": fake.wsdl_url}
        return AdapterContext(
            "customers-1",
            {**given, **(settings or {})},
            {name: Secret(value) for name, value in credentials.items()},
            http,
            limiter,
            SYSTEM_CLOCK,
        )

    async def aclose_all(self) -> None:
        for client in self.clients:
            await client.aclose()


# -- templates for it -----------------------------------------------------------------------

PAGING: dict[Paging, dict[str, Any]] = {
    "page": {
        "operation": "GetCustomers",
        "records": "customers.customer",
        "paging": {
            "type": "page_number",
            "arg": "page",
            "size_arg": "pageSize",
            "page_size": "{page_size}",
            "total_path": "total",
        },
        "incremental": {
            "cursor_field": "updatedAt",
            "lookback": 7200,
            "arguments": {"updatedSince": "{cursor}"},
        },
    },
    "offset": {
        "operation": "GetCustomers",
        "records": "customers.customer",
        "paging": {
            "type": "offset",
            "arg": "offset",
            "size_arg": "pageSize",
            "page_size": "{page_size}",
            "total_path": "total",
        },
    },
    "token": {
        "operation": "QueryCustomers",
        "records": "records",
        "paging": {
            "type": "token",
            "arg": "queryLocator",
            "size_arg": "batchSize",
            "page_size": "{page_size}",
            "token_path": "queryLocator",
            "next_operation": "QueryMore",
        },
    },
}


def customer_template(paging: Paging = "page", auth: AuthMode = "basic", **extra: Any) -> str:
    """A SOAP template for CustomerService as YAML text (`extra` replaces top-level fields)."""
    document: dict[str, Any] = {
        "kind": "soap",
        "name": f"customers-{paging}",
        "title": "Customer service",
        "description": "The SOAP template tests' own service.",
        "settings": {
            "wsdl_url": {"type": "string", "format": "uri"},
            "port": {"type": "string", "default": ""},
            "page_size": {"type": "integer", "default": 5, "minimum": 1, "maximum": 100},
        },
        "wsdl": "{wsdl_url}",
        "port": "{port}",
        "auth": {"type": auth},
        "timeout": 5,
        "backoff": {"attempts": 3, "initial": 0.001, "max": 0.001, "total": 2},
        "check": {"operation": "Ping"},
        "entities": {
            "customers": {**PAGING[paging], "primary_key": "id"},
            "products": {
                "operation": "ListProducts",
                "records": "",  # zeep unwraps a response of one part: the list itself
                "primary_key": "sku",
            },
        },
        **extra,
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
