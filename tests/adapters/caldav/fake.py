"""An in-memory CalDAV server (a `Send` for the HTTP client) and failing peers, for the tests
that need what Radicale does not do on demand: no sync-collection, truncated sync answers,
objects gone between listing and fetching, a discovery that needs `/.well-known/caldav`,
bearer tokens, and peers that fail or hang."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from xml.etree.ElementTree import fromstring  # our own request bodies, not a peer's answer
from xml.sax.saxutils import escape

import anyio

from adapters import AdapterContext, HttpClient, HttpRequest, HttpResponse, JsonValue, RetryPolicy
from adapters._http_transport import Send
from runtime import SYSTEM_CLOCK, RateLimit, RateLimiter
from runtime.vault import Secret

ONCE = RetryPolicy(max_attempts=1)
BASE = "https://dav.example"
PRINCIPAL = "/principals/ann/"
HOME = "/calendars/ann/"
BASIC = "Basic YW5uOnMzY3JldC1wdw=="  # ann:s3cret-pw
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"


def closed_port_url() -> str:
    """A URL on loopback where nothing listens (a port just found free)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def scripted_context(
    send: Send,
    *,
    credentials: dict[str, str] | None = None,
    url: str = BASE + "/",
    **settings: JsonValue,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(rate=10_000, burst=10_000), clock=SYSTEM_CLOCK)
    chosen = {"password": "s3cret-pw"} if credentials is None else credentials
    return AdapterContext(
        integration_id="cal-1",
        settings={"url": url, "username": "ann", **settings},
        credentials={name: Secret(value) for name, value in chosen.items()},
        http=HttpClient(limiter, clock=SYSTEM_CLOCK, retry=ONCE, send=send),
        limiter=limiter,
        clock=SYSTEM_CLOCK,
    )


async def hang(request: HttpRequest) -> HttpResponse:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


async def timeout(request: HttpRequest) -> HttpResponse:
    raise TimeoutError


def status(code: int, retry_after: str | None = None) -> Send:
    """A peer answering every request with `code` (200: an HTML page, not WebDAV)."""
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    body = b"<html><body>Welcome</body></html>" if code == 200 else b""

    async def send(request: HttpRequest) -> HttpResponse:
        return HttpResponse(code, {"Content-Type": "text/html", **headers}, body)

    return send


@dataclass
class FakeObject:
    text: str
    etag: str
    in_window: bool = True


@dataclass
class FakeCalendar:
    """A calendar with a change log: sync token `tok-N` means "after change N"."""

    name: str
    objects: dict[str, FakeObject] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)  # (revision, object name)
    revision: int = 0
    oldest_token: int = 0  # tokens before this are refused (valid-sync-token)

    def put(self, name: str, text: str, *, in_window: bool = True) -> None:
        self.revision += 1
        self.objects[name] = FakeObject(text, f'"e{self.revision}"', in_window)
        self.log.append((self.revision, name))

    def delete(self, name: str) -> None:
        self.revision += 1
        del self.objects[name]
        self.log.append((self.revision, name))

    @property
    def ctag(self) -> str:
        return f'"c{self.revision}"'


@dataclass
class FakeDav:
    """Answers PROPFIND and REPORT as a small CalDAV server at `BASE` would."""

    calendars: dict[str, FakeCalendar] = field(default_factory=dict)
    sync_collection: bool = True
    sync_token_property: bool = True
    root_knows_principal: bool = True  # False: only /.well-known/caldav leads on
    truncate_after: int | None = None  # sync answers hold at most this many changes
    authorization: str = BASIC
    vanish: set[str] = field(default_factory=set)  # objects multiget reports 404 for
    requests: list[HttpRequest] = field(default_factory=list)

    def calendar(self, slug: str, name: str | None = None) -> FakeCalendar:
        return self.calendars.setdefault(slug, FakeCalendar(name or slug.title()))

    def kinds(self) -> list[str]:
        """`METHOD path kind-of-body` of every request, in order."""
        return [
            f"{r.method} {r.url.removeprefix(BASE)} {_root(r.body).rpartition('}')[2]}"
            for r in self.requests
        ]

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request)
        await anyio.lowlevel.checkpoint()
        if request.headers.get("Authorization") != self.authorization:
            return HttpResponse(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
        path = request.url.removeprefix(BASE)
        body = fromstring(request.body or b"<none/>")
        if request.method == "PROPFIND":
            return self._propfind(path, request.headers.get("Depth", "0"))
        slug = path.removeprefix(HOME).strip("/")
        calendar = self.calendars.get(slug)
        if request.method != "REPORT" or calendar is None:
            return HttpResponse(404, {}, b"")
        if body.tag == f"{D}sync-collection":
            return self._sync(slug, calendar, body.findtext(f"{D}sync-token") or "")
        if body.tag == f"{C}calendar-query":
            data = body.find(f"{D}prop/{C}calendar-data") is not None
            names = [n for n, o in sorted(calendar.objects.items()) if o.in_window]
            return _multistatus(
                "".join(_object(slug, n, calendar.objects[n], data=data) for n in names)
            )
        hrefs = [(h.text or "") for h in body.findall(f"{D}href")]
        return self._multiget(calendar, hrefs)

    def _propfind(self, path: str, depth: str) -> HttpResponse:
        if path in ("/", "/.well-known/caldav"):
            if path == "/" and not self.root_knows_principal:
                return _multistatus(
                    _response("/", "<d:resourcetype><d:collection/></d:resourcetype>")
                )
            return _multistatus(_response("/", _hrefs("d:current-user-principal", PRINCIPAL)))
        if path == PRINCIPAL:
            return _multistatus(_response(PRINCIPAL, _hrefs("c:calendar-home-set", HOME)))
        if path == HOME:
            answers = [_response(HOME, "<d:resourcetype><d:collection/></d:resourcetype>")]
            if depth == "1":
                answers += [self._calendar_props(s, c) for s, c in sorted(self.calendars.items())]
            return _multistatus("".join(answers))
        slug = path.removeprefix(HOME).strip("/")
        if slug in self.calendars:
            return _multistatus(self._calendar_props(slug, self.calendars[slug]))
        return HttpResponse(404, {}, b"")

    def _calendar_props(self, slug: str, calendar: FakeCalendar) -> str:
        props = (
            "<d:resourcetype><d:collection/><c:calendar/></d:resourcetype>"
            f"<d:displayname>{escape(calendar.name)}</d:displayname>"
            '<c:supported-calendar-component-set><c:comp name="VEVENT"/>'
            "</c:supported-calendar-component-set>"
            f"<cs:getctag>{calendar.ctag}</cs:getctag>"
        )
        if self.sync_collection:
            props += (
                "<d:supported-report-set><d:supported-report><d:report><d:sync-collection/>"
                "</d:report></d:supported-report></d:supported-report-set>"
            )
            if self.sync_token_property:
                props += f"<d:sync-token>tok-{calendar.revision}</d:sync-token>"
        return _response(f"{HOME}{slug}/", props)

    def _sync(self, slug: str, calendar: FakeCalendar, token: str) -> HttpResponse:
        if not self.sync_collection:
            return HttpResponse(403, {}, b"")
        since = 0
        if token:
            number = token.removeprefix("tok-")
            if not number.isdigit() or int(number) < calendar.oldest_token:
                error = (
                    b'<?xml version="1.0"?><d:error xmlns:d="DAV:"><d:valid-sync-token/></d:error>'
                )
                return HttpResponse(403, {"Content-Type": "application/xml"}, error)
            since = int(number)
        changes = [(rev, name) for rev, name in calendar.log if rev > since]
        truncated = self.truncate_after is not None and len(changes) > self.truncate_after
        if truncated and self.truncate_after is not None:
            changes = changes[: self.truncate_after]
        reached = changes[-1][0] if changes else calendar.revision
        latest = {name: rev for rev, name in changes}
        answers = []
        for name in sorted(latest):
            found = calendar.objects.get(name)
            if found is None:
                answers.append(_gone(f"{HOME}{slug}/{name}"))
            else:
                answers.append(_object(slug, name, found, data=False))
        if truncated:
            answers.append(
                f"<d:response><d:href>{HOME}{slug}/</d:href>"
                "<d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>"
            )
        return _multistatus("".join(answers), f"<d:sync-token>tok-{reached}</d:sync-token>")

    def _multiget(self, calendar: FakeCalendar, hrefs: list[str]) -> HttpResponse:
        answers = []
        for href in hrefs:
            slug, _, name = href.removeprefix(HOME).partition("/")
            found = calendar.objects.get(name)
            if found is None or name in self.vanish:
                answers.append(_gone(href))
            else:
                answers.append(_object(slug, name, found, data=True))
        return _multistatus("".join(answers))


def _root(body: bytes | None) -> str:
    return fromstring(body).tag if body else ""


def _multistatus(inner: str, extra: str = "") -> HttpResponse:
    text = (
        '<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:" '
        'xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">'
        f"{inner}{extra}</d:multistatus>"
    )
    return HttpResponse(207, {"Content-Type": "application/xml; charset=utf-8"}, text.encode())


def _response(href: str, props: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop>{props}</d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def _hrefs(prop: str, href: str) -> str:
    return f"<{prop}><d:href>{href}</d:href></{prop}>"


def _gone(href: str) -> str:
    status = "<d:status>HTTP/1.1 404 Not Found</d:status>"
    return f"<d:response><d:href>{href}</d:href>{status}</d:response>"


def _object(slug: str, name: str, found: FakeObject, *, data: bool) -> str:
    props = f"<d:getetag>{escape(found.etag)}</d:getetag>"
    if data:
        props += f"<c:calendar-data>{escape(found.text)}</c:calendar-data>"
    return _response(f"{HOME}{slug}/{name}", props)
