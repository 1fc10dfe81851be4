"""The edge between the SOAP adapter and zeep: WSDL in, envelopes out, results and faults back.

zeep does what it is good at: reading the WSDL and its schemas, building the envelope for an
operation (WS-Addressing and the WS-Security UsernameToken included) and parsing the reply.
It sends nothing itself: its transport here is ours (`_Transport`, zeep's documented
`load`/`post_xml` extension points), which hands documents and envelopes to the adapter's
functions, and those go through the integration's shared `HttpClient` (rate limiter, retries
with backoff and `Retry-After`, timeouts, client spans, statuses as our errors). zeep's own
`AsyncTransport` would need httpx and bypass all of that.

The WSDL is read in a worker thread (zeep parses synchronously, and a WSDL with its schemas
can take a while); the documents it fetches come back to the event loop through
`anyio.from_thread.run`, so a cancelled connect lets go of a request in flight too. What zeep
raises is translated here: faults by `_faults`, the rest by what went wrong (arguments that do
not fit the operation: ConfigError; a reply that is not SOAP: PermanentError or, on a 5xx, a
transient `ServerFault`).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
import zeep
import zeep.exceptions
from lxml import etree
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.wsdl import Document
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding
from zeep.wsdl.definitions import Port
from zeep.wsdl.utils import etree_to_string
from zeep.wsse.username import UsernameToken

from adapters._errors import ConfigError, IntegrationError, PermanentError
from adapters._http_transport import HttpResponse
from adapters._values import JsonValue
from adapters.templates.soap._faults import (
    FaultInfo,
    ServerFault,
    classify_fault,
    fault_error,
    shown_text,
)
from adapters.templates.soap._model import Faults
from adapters.templates.soap._plan import WsdlSource
from adapters.templates.soap._results import to_json
from runtime.vault import Secret

Fetch = Callable[[str], Awaitable[bytes]]
Post = Callable[[str, bytes, Mapping[str, str]], Awaitable[HttpResponse]]
_DETAIL_CODES = 20
_DETAIL_CHARS = 100


class _Abandoned(Exception):
    """The reading was cancelled while its thread was between two documents."""


@dataclass
class _Exchange:
    """What the transport saw of one call (the status a fault came with)."""

    status: int | None = None


_EXCHANGE: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "soap_exchange", default=None
)


class _Reply:
    """The slice of a `requests.Response` zeep's `process_reply` reads."""

    def __init__(self, response: HttpResponse) -> None:
        self.status_code = response.status
        self.content = response.body
        self.headers = {"Content-Type": response.headers.get("content-type", "text/xml")}
        self.encoding: str | None = None


class _Transport:
    """zeep's transport: `load` while the WSDL is read (in the worker thread), `post_xml`
    for calls (in the event loop). After loading, `load` refuses: a reply never fetches."""

    def __init__(self, load: Callable[[str], bytes], post: Post) -> None:
        self._load: Callable[[str], bytes] | None = load
        self._post = post

    def load(self, url: str) -> bytes:
        if self._load is None:
            raise PermanentError("a SOAP reply referred to another document; not fetched")
        return self._load(url)

    def loaded(self) -> None:
        self._load = None

    async def post_xml(
        self, address: str, envelope: etree._Element, headers: Mapping[str, str]
    ) -> _Reply:
        body: bytes = etree_to_string(envelope)  # type: ignore[no-untyped-call]  # zeep is untyped
        response = await self._post(address, body, headers)
        exchange = _EXCHANGE.get()
        if exchange is not None:
            exchange.status = response.status
        return _Reply(response)


class WsSecurity:
    """A WS-Security UsernameToken (zeep's), built per request so the password is revealed
    only while the envelope is made; text or digest (nonce and creation time, OASIS)."""

    def __init__(self, username: Secret[str], password: Secret[str], *, digest: bool) -> None:
        self._username = username
        self._password = password
        self._digest = digest

    def apply(
        self, envelope: etree._Element, headers: dict[str, str]
    ) -> tuple[etree._Element, dict[str, str]]:
        token = UsernameToken(  # type: ignore[no-untyped-call]  # zeep is untyped
            self._username.reveal(), self._password.reveal(), use_digest=self._digest
        )
        applied: tuple[etree._Element, dict[str, str]]
        applied = token.apply(envelope, headers)  # type: ignore[no-untyped-call]  # zeep is untyped
        return applied

    def verify(self, envelope: etree._Element) -> None:
        """Replies carry no token to check."""

    def __repr__(self) -> str:
        return f"WsSecurity(digest={self._digest})"


@dataclass(frozen=True, slots=True)
class Documents:
    """How the WSDL and what it imports are read: http(s) through `fetch` (in the event loop),
    files only inside `home` (a WSDL shipped beside its template)."""

    source: WsdlSource
    fetch: Fetch
    home: Path | None

    def location(self) -> str:
        if self.source.url is not None:
            return self.source.url
        assert self.source.path is not None
        return str(self.source.path)

    async def _fetch_one(self, url: str) -> bytes:
        """In the event loop, in the reading task's cancel scope: a scope cancelled before
        this began (while the thread parsed) would not reach it, so that is checked first."""
        if anyio.current_effective_deadline() == -math.inf:
            raise _Abandoned
        return await self.fetch(url)

    def load(self, url: str) -> bytes:
        """One document, from the worker thread."""
        if urlsplit(url).scheme.lower() in ("http", "https"):
            return anyio.from_thread.run(self._fetch_one, url)
        shown = self.source.shown()
        if self.source.url is not None or self.home is None:
            raise ConfigError(f"the WSDL {shown} refers to a local file; not read")
        path = Path(url.removeprefix("file://")).resolve()
        if not path.is_relative_to(self.home.resolve()):
            raise ConfigError(f"the WSDL {shown} refers to a file outside its directory; not read")
        try:
            return path.read_bytes()
        except OSError as error:
            raise ConfigError(
                f"cannot read the WSDL file {path.name}: {type(error).__name__}"
            ) from None


@dataclass(frozen=True, slots=True)
class Binding:
    """Which service and port of the WSDL, and the address calls go to."""

    service: str | None
    port: str | None
    endpoint: str | None


class SoapService:
    """One WSDL bound to one port: calls its operations and hands back JSON results, or our
    errors. `secrets` are cut out of any fault text shown."""

    def __init__(
        self,
        proxy: AsyncServiceProxy,
        *,
        address: str,
        operations: frozenset[str],
        version: str,
        adapter: str,
        rules: Faults,
        secrets: Callable[[], Collection[str]],
    ) -> None:
        self._proxy = proxy
        self.address = address
        self.operations = operations
        self.version = version
        self._adapter = adapter
        self._rules = rules
        self._secrets = secrets

    async def call(self, operation: str, arguments: Mapping[str, object]) -> JsonValue:
        exchange = _Exchange()
        token = _EXCHANGE.set(exchange)
        context = f"{self._adapter}: {operation}"
        try:
            result = await self._proxy[operation](**arguments)
        except zeep.exceptions.Fault as fault:
            info = fault_info(fault, exchange.status)
            kind = classify_fault(info, self._rules)
            raise fault_error(info, kind, context=context, secrets=self._secrets()) from None
        except (zeep.exceptions.Error, TypeError) as error:
            raise self._translate(error, exchange.status, context) from None
        finally:
            _EXCHANGE.reset(token)
        plain = serialize_object(result, dict)  # type: ignore[no-untyped-call]  # zeep is untyped
        return to_json(plain)

    def _translate(
        self, error: zeep.exceptions.Error | TypeError, status: int | None, context: str
    ) -> IntegrationError:
        if isinstance(error, TypeError):
            if "unexpected keyword argument" not in str(error):
                raise error  # not zeep refusing an argument: a bug of ours
            shown = shown_text(str(error), self._secrets())
            return ConfigError(f"{context}: the arguments do not fit the operation: {shown}")
        if isinstance(error, zeep.exceptions.TransportError):
            status = error.status_code or status
            if status is not None and status >= 500:
                return ServerFault(f"{context}: HTTP {status} without a SOAP reply")
            return PermanentError(f"{context}: HTTP {status}: the reply is not SOAP XML")
        shown = shown_text(error.message or type(error).__name__, self._secrets())
        if status is None:  # nothing was sent: the request could not be built
            return ConfigError(f"{context}: the arguments do not fit the operation: {shown}")
        return PermanentError(
            f"{context}: the reply does not fit the WSDL ({shown}); `strict: false` in the "
            f"template accepts replies off the schema"
        )


async def load_service(
    documents: Documents,
    binding: Binding,
    *,
    post: Post,
    strict: bool,
    wsse: WsSecurity | None,
    adapter: str,
    rules: Faults,
    secrets: Callable[[], Collection[str]],
) -> SoapService:
    """Read the WSDL (in a worker thread) and bind the port calls go through."""
    settings = zeep.Settings(strict=strict)
    transport = _Transport(documents.load, post)
    try:
        document = await anyio.to_thread.run_sync(_document, documents, transport, settings)
    except _Abandoned:
        await anyio.lowlevel.checkpoint()  # raises the cancellation that abandoned the reading
        raise
    transport.loaded()
    client = zeep.AsyncClient(  # type: ignore[no-untyped-call]  # zeep is untyped
        document, wsse=wsse, transport=transport, settings=settings
    )
    port = _port(document, binding, documents.source.shown())
    assert port.binding is not None  # `_port` takes SOAP ports only
    address = binding.endpoint or (port.binding_options or {}).get("address") or ""
    if urlsplit(address).scheme.lower() not in ("http", "https"):
        raise ConfigError(
            f"{adapter}: the WSDL gives port {port.name!r} no http(s) address; set the endpoint"
        )
    proxy = AsyncServiceProxy(  # type: ignore[no-untyped-call]  # zeep is untyped
        client, port.binding, **{**(port.binding_options or {}), "address": address}
    )
    return SoapService(
        proxy,
        address=address,
        operations=frozenset(port.binding.all()),
        version="SOAP 1.2" if isinstance(port.binding, Soap12Binding) else "SOAP 1.1",
        adapter=adapter,
        rules=rules,
        secrets=secrets,
    )


def _document(documents: Documents, transport: _Transport, settings: zeep.Settings) -> Document:
    """The WSDL with its schemas (runs in the worker thread); what cannot be read is a
    ConfigError naming the WSDL (our own errors from fetching pass as they are)."""
    shown = documents.source.shown()
    try:
        location = documents.location()
        return Document(location, transport, settings=settings)  # type: ignore[arg-type]  # duck-typed
    except IntegrationError:
        raise
    except (zeep.exceptions.Error, etree.Error, NotImplementedError, ValueError, KeyError) as error:
        detail = shown_text(str(error) or type(error).__name__, ())
        raise ConfigError(f"the WSDL {shown} cannot be read: {detail}") from None


def _port(document: Document, binding: Binding, shown: str) -> Port:
    services = dict(document.services)
    if not services:
        raise ConfigError(f"the WSDL {shown} defines no service")
    if binding.service is None:
        service = next(iter(services.values()))
    elif binding.service in services:
        service = services[binding.service]
    else:
        raise ConfigError(
            f"the WSDL {shown} has no service {binding.service!r}; it has {', '.join(services)}"
        )
    ports = {
        name: port for name, port in service.ports.items() if isinstance(port.binding, SoapBinding)
    }
    chosen: Port | None = None
    if binding.port is None and ports:
        chosen = next(iter(ports.values()))
    elif binding.port in ports:
        chosen = ports[binding.port]
    if chosen is not None:
        return chosen
    offered = ", ".join(ports) or "no SOAP port"
    asked = "SOAP port" if binding.port is None else f"SOAP port {binding.port!r}"
    raise ConfigError(f"the WSDL {shown} has no {asked} in {service.name!r}; it has {offered}")


def fault_info(fault: zeep.exceptions.Fault, status: int | None) -> FaultInfo:
    """A zeep fault as plain data (the detail's short texts only, for classifying)."""
    subcodes = tuple(
        str(getattr(code, "localname", None) or code) for code in (fault.subcodes or ())
    )
    detail: list[str] = []
    if isinstance(fault.detail, etree._Element):
        for element in fault.detail.iter():
            if len(detail) >= _DETAIL_CODES:
                break
            if isinstance(element.tag, str):
                detail.append(etree.QName(element).localname)
            text = (element.text or "").strip()
            if text and len(text) <= _DETAIL_CHARS:
                detail.append(text)
    return FaultInfo(
        code=fault.code if isinstance(fault.code, str) and fault.code.strip() else None,
        message=fault.message if isinstance(fault.message, str) else "",
        subcodes=subcodes,
        detail_codes=tuple(detail),
        status=status,
    )
