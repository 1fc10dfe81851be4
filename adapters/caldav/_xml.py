"""WebDAV/CalDAV XML: the request bodies we send and the multistatus answers we read.

Bodies are small fixed templates (values XML-escaped); answers are parsed with defusedxml, so a
hostile server cannot expand entities or fetch external DTDs. `parse_multistatus` turns a
207 body into plain values: one `DavResponse` per `<response>`, with the properties that came
back with a 2xx `<propstat>` and, for sync-collection, the new sync token. No sockets here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml
import defusedxml.ElementTree

from adapters._errors import PermanentError

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"

_NAMESPACES = f'xmlns:d="{DAV}" xmlns:c="{CALDAV}" xmlns:cs="{CALSERVER}"'
_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
_PREFIXES = {"d": DAV, "c": CALDAV, "cs": CALSERVER}


def clark(prefixed: str) -> str:
    """`d:getetag` -> `{DAV:}getetag` (ElementTree's names)."""
    prefix, _, local = prefixed.partition(":")
    return f"{{{_PREFIXES[prefix]}}}{local}"


# What we ask a URL that may be a principal, a calendar home or a calendar itself.
CALENDAR_PROPS = (
    "d:resourcetype",
    "d:displayname",
    "c:supported-calendar-component-set",
    "cs:getctag",
    "d:sync-token",
    "d:supported-report-set",
)
START_PROPS = ("d:current-user-principal", "c:calendar-home-set", *CALENDAR_PROPS)
HOME_PROPS = ("c:calendar-home-set", "d:resourcetype")


def propfind(props: Iterable[str]) -> bytes:
    """A PROPFIND body asking for `props` (prefixed names: `d:`, `c:`, `cs:`)."""
    asked = "".join(f"<{name}/>" for name in props)
    return f"{_HEAD}<d:propfind {_NAMESPACES}><d:prop>{asked}</d:prop></d:propfind>".encode()


def calendar_query(start: str, end: str, *, with_data: bool) -> bytes:
    """A calendar-query REPORT for the VEVENTs with an instance in [start, end) (UTC, iCalendar
    form `20250101T000000Z`); the server expands recurrences to decide, we get whole objects."""
    data = "<c:calendar-data/>" if with_data else ""
    return (
        f"{_HEAD}<c:calendar-query {_NAMESPACES}><d:prop><d:getetag/>{data}</d:prop>"
        '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
        f'<c:time-range start="{escape(start)}" end="{escape(end)}"/>'
        "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
    ).encode()


def calendar_multiget(hrefs: Iterable[str]) -> bytes:
    """A calendar-multiget REPORT for the objects at `hrefs` (as the server named them)."""
    listed = "".join(f"<d:href>{escape(href)}</d:href>" for href in hrefs)
    return (
        f"{_HEAD}<c:calendar-multiget {_NAMESPACES}><d:prop><d:getetag/><c:calendar-data/>"
        f"</d:prop>{listed}</c:calendar-multiget>"
    ).encode()


def sync_collection(token: str | None) -> bytes:
    """A sync-collection REPORT (RFC 6578) from `token`; None asks for the initial listing."""
    given = escape(token) if token else ""
    return (
        f"{_HEAD}<d:sync-collection {_NAMESPACES}><d:sync-token>{given}</d:sync-token>"
        "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    ).encode()


@dataclass(frozen=True, slots=True)
class DavResponse:
    """One `<response>`: its href as the server wrote it, the status it carries itself (as
    sync-collection and multiget report removed members), and the properties found."""

    href: str
    status: int | None
    found: Mapping[str, Element]

    def text(self, name: str) -> str | None:
        """The text of property `name` (prefixed), stripped; None when not found or empty."""
        element = self.found.get(clark(name))
        if element is None:
            return None
        value = "".join(element.itertext()).strip()
        return value or None

    def raw_text(self, name: str) -> str | None:
        """The text of `name` exactly as sent (calendar data keeps its line structure)."""
        element = self.found.get(clark(name))
        return None if element is None else "".join(element.itertext())

    def hrefs(self, name: str) -> tuple[str, ...]:
        """The `<href>`s inside property `name` (current-user-principal, calendar-home-set)."""
        element = self.found.get(clark(name))
        if element is None:
            return ()
        return tuple(
            (href.text or "").strip()
            for href in element.iter(f"{{{DAV}}}href")
            if (href.text or "").strip()
        )

    def children(self, name: str) -> frozenset[str]:
        """Names (Clark) of the elements directly inside property `name` (resourcetype)."""
        element = self.found.get(clark(name))
        return frozenset() if element is None else frozenset(child.tag for child in element)

    def components(self) -> frozenset[str] | None:
        """The supported calendar components (VEVENT, VTODO …); None when not reported."""
        element = self.found.get(clark("c:supported-calendar-component-set"))
        if element is None:
            return None
        return frozenset(comp.get("name", "").upper() for comp in element.iter(f"{{{CALDAV}}}comp"))

    def reports(self) -> frozenset[str]:
        """Names (Clark) of the reports in `supported-report-set`."""
        element = self.found.get(clark("d:supported-report-set"))
        if element is None:
            return frozenset()
        return frozenset(
            child.tag for report in element.iter(f"{{{DAV}}}report") for child in report
        )


@dataclass(frozen=True, slots=True)
class Multistatus:
    responses: tuple[DavResponse, ...]
    sync_token: str | None = None


def parse_multistatus(body: bytes, where: str) -> Multistatus:
    """The responses of a 207 Multi-Status body; anything else is a PermanentError naming
    `where` (the request, redacted), never echoing the body."""
    root = _parse(body, where)
    if root.tag != f"{{{DAV}}}multistatus":
        raise PermanentError(f"{where}: the answer is not a WebDAV multistatus ({_local(root)})")
    responses = tuple(_response(element) for element in root.findall(f"{{{DAV}}}response"))
    token = root.find(f"{{{DAV}}}sync-token")
    text = None if token is None else (token.text or "").strip() or None
    return Multistatus(tuple(r for r in responses if r.href), text)


def error_conditions(body: bytes) -> frozenset[str]:
    """The preconditions a `<DAV:error>` body names (Clark), e.g. `{DAV:}valid-sync-token`;
    empty when the body is no such document."""
    try:
        root = _parse(body, "")
    except PermanentError:
        return frozenset()
    if root.tag != f"{{{DAV}}}error":
        return frozenset()
    return frozenset(child.tag for child in root)


def status_code(line: str | None) -> int | None:
    """`HTTP/1.1 404 Not Found` -> 404; None for a missing or garbled status line."""
    if not line:
        return None
    parts = line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _response(element: Element) -> DavResponse:
    href = (element.findtext(f"{{{DAV}}}href") or "").strip()
    status = status_code(element.findtext(f"{{{DAV}}}status"))
    found: dict[str, Element] = {}
    for propstat in element.findall(f"{{{DAV}}}propstat"):
        code = status_code(propstat.findtext(f"{{{DAV}}}status"))
        prop = propstat.find(f"{{{DAV}}}prop")
        if code is not None and 200 <= code < 300 and prop is not None:
            found.update((child.tag, child) for child in prop)
    return DavResponse(href, status, MappingProxyType(found))


def _parse(body: bytes, where: str) -> Element:
    try:
        root: Element = defusedxml.ElementTree.fromstring(body)
    except (ParseError, defusedxml.DefusedXmlException, ValueError) as error:
        kind = type(error).__name__
        raise PermanentError(f"{where}: the answer is not well-formed XML ({kind})") from None
    return root


def _local(element: Element) -> str:
    return element.tag.rpartition("}")[2] or "no root element"
