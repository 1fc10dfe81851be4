"""The edge between the HTTP client and aiohttp: requests and responses as our own values.

A transport is one `send(HttpRequest) -> HttpResponse` callable. The real one drives one aiohttp
`ClientSession` per integration (created on first use, closed by `aclose`); tests pass a
scripted function instead. `translate` is the only place that knows aiohttp's exceptions: it
maps them (and the builtin timeout/connection errors a fake may raise) to our taxonomy, with
messages that name the request by its redacted URL and never by its headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import aiohttp
import yarl

from adapters._errors import ConfigError, IntegrationError, PermanentError, TransientError
from adapters._values import JsonValue
from runtime import load_json

SessionFactory = Callable[[], aiohttp.ClientSession]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request ready to send: credentials already revealed, so its repr shows neither the
    headers nor the body, and `shown` is its redacted form for messages."""

    method: str
    url: str
    shown: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    body: bytes | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"HttpRequest({self.shown!r})"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response, read whole; header names lower-cased (repeated headers joined by ", ")."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "headers", MappingProxyType(lowered))

    def json(self) -> JsonValue:
        """The body parsed as JSON; a body that is not JSON is a PermanentError."""
        try:
            value: JsonValue = load_json(self.body)
        except (ValueError, UnicodeDecodeError):
            raise PermanentError(
                f"HTTP {self.status}: the response body ({len(self.body)} bytes) is not JSON"
            ) from None
        return value

    def text(self) -> str:
        return self.body.decode(self._charset(), errors="replace")

    def _charset(self) -> str:
        content_type = self.headers.get("content-type", "")
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return "utf-8"


Send = Callable[[HttpRequest], Awaitable[HttpResponse]]


def translate(error: BaseException, request: HttpRequest) -> IntegrationError | None:
    """Our error for a transport failure, or None if `error` is no transport failure (a bug)."""
    where = f"{request.method} {request.shown}"
    name = type(error).__name__
    if isinstance(error, TimeoutError):
        return TransientError(f"{where}: no response within {request.timeout:g} s")
    if isinstance(error, aiohttp.ClientSSLError):
        return PermanentError(f"{where}: TLS failed ({name}); check the server's certificate")
    if isinstance(error, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return ConfigError(f"{where}: not a valid HTTP URL")
    if isinstance(error, aiohttp.TooManyRedirects):
        return PermanentError(f"{where}: too many redirects")
    if isinstance(error, aiohttp.ClientError | ConnectionError):
        return TransientError(f"{where}: connection failed ({name})")
    return None


class AiohttpTransport:
    """Sends through one lazily created aiohttp session; `aclose` closes it."""

    def __init__(self, session_factory: SessionFactory | None = None) -> None:
        self._factory = session_factory or _default_session
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def send(self, request: HttpRequest) -> HttpResponse:
        session = self._open()
        try:
            target = yarl.URL(request.url, encoded=True)
        except ValueError:
            raise aiohttp.InvalidURL(request.shown) from None
        async with session.request(
            request.method,
            target,
            headers=dict(request.headers),
            data=request.body,
            timeout=aiohttp.ClientTimeout(total=request.timeout),
        ) as response:
            body = await response.read()
            headers = {name: ", ".join(response.headers.getall(name)) for name in response.headers}
            return HttpResponse(response.status, headers, body)

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the HTTP transport is closed")
        if self._session is None:
            self._session = self._factory()
        return self._session


def _default_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(raise_for_status=False, trust_env=False)
