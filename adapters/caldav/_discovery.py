"""Finding the calendars (RFC 4791 section 6, RFC 6764): what each PROPFIND answer means.

The starting URL may be the server's root, a principal, a calendar home or one calendar.
`Step` says what the answer to a PROPFIND on it means: a calendar (sync just that one), a
calendar home (list it), a principal to ask for its home, or nothing useful (try
`/.well-known/caldav`, then give up). `calendars_in` reads a Depth 1 listing of a home;
`select` applies the `calendars` setting. Pure: the adapter sends, these decide.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from adapters._errors import ConfigError
from adapters.caldav._xml import CALDAV, DAV, DavResponse, Multistatus

WELL_KNOWN = "/.well-known/caldav"
_SYNC_COLLECTION = f"{{{DAV}}}sync-collection"
_CALENDAR = f"{{{CALDAV}}}calendar"


def path_of(href: str) -> str:
    """The decoded path of an href or URL: the key under which we know a resource
    (`/dav/Work%20Cal/` and `https://host/dav/Work Cal/` are one calendar)."""
    return unquote(urlsplit(href.strip()).path) or "/"


@dataclass(frozen=True, slots=True)
class Calendar:
    """A calendar collection as discovered; `url` is absolute, `path` its decoded path."""

    url: str
    path: str
    name: str
    ctag: str | None = None
    sync_token: str | None = None
    sync_supported: bool = False

    @property
    def slug(self) -> str:
        """The last segment of its path (`/hub/work/` -> `work`)."""
        return self.path.rstrip("/").rpartition("/")[2]


def calendar_of(response: DavResponse, base: str) -> Calendar | None:
    """The calendar a response describes, if it is one that can hold events."""
    if _CALENDAR not in response.children("d:resourcetype"):
        return None
    components = response.components()
    if components is not None and "VEVENT" not in components:
        return None
    path = path_of(response.href)
    token = response.text("d:sync-token")
    return Calendar(
        url=urljoin(base, response.href),
        path=path,
        name=response.text("d:displayname") or path.rstrip("/").rpartition("/")[2] or path,
        ctag=response.text("cs:getctag"),
        sync_token=token,
        sync_supported=token is not None or _SYNC_COLLECTION in response.reports(),
    )


class Found(enum.Enum):
    CALENDAR = "calendar"
    HOME = "home"
    PRINCIPAL = "principal"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Step:
    """What a Depth 0 PROPFIND answer says: `url` is the calendar, home or principal found."""

    found: Found
    url: str = ""
    calendar: Calendar | None = None


def read_start(answer: Multistatus, url: str) -> Step:
    """Interpret the answer for the starting URL (or a principal): the most specific wins."""
    own = _own_response(answer, url)
    if own is None:
        return Step(Found.NOTHING)
    calendar = calendar_of(own, url)
    if calendar is not None:
        return Step(Found.CALENDAR, calendar.url, calendar)
    homes = own.hrefs("c:calendar-home-set")
    if homes:
        return Step(Found.HOME, urljoin(url, homes[0]))
    principals = own.hrefs("d:current-user-principal")
    if principals:
        return Step(Found.PRINCIPAL, urljoin(url, principals[0]))
    return Step(Found.NOTHING)


def calendars_in(listing: Multistatus, home: str) -> tuple[Calendar, ...]:
    """The event calendars of a Depth 1 listing of `home`, in path order."""
    found = (calendar_of(response, home) for response in listing.responses)
    unique = {calendar.path: calendar for calendar in found if calendar is not None}
    return tuple(unique[path] for path in sorted(unique))


def select(calendars: Sequence[Calendar], wanted: Iterable[str]) -> tuple[Calendar, ...]:
    """The calendars named in `wanted` (by display name, last path segment or path), all when
    `wanted` is empty; a name that matches none is a ConfigError listing what there is."""
    names = [name.strip() for name in wanted if name.strip()]
    if not names:
        return tuple(calendars)
    chosen: dict[str, Calendar] = {}
    missing: list[str] = []
    for name in names:
        matches = [c for c in calendars if name in (c.name, c.slug, c.path, c.path.rstrip("/"))]
        if not matches:
            missing.append(name)
        chosen.update((c.path, c) for c in matches)
    if missing:
        there = ", ".join(repr(c.name) for c in calendars) or "none"
        raise ConfigError(
            f"no calendar named {', '.join(map(repr, missing))}; the account has {there}"
        )
    return tuple(chosen[path] for path in sorted(chosen))


def _own_response(answer: Multistatus, url: str) -> DavResponse | None:
    """The response about `url` itself (a Depth 0 answer may name it by path or full URL,
    with or without the trailing slash; after a redirect it is the only one)."""
    wanted = path_of(url).rstrip("/")
    for response in answer.responses:
        if path_of(response.href).rstrip("/") == wanted:
            return response
    return answer.responses[0] if len(answer.responses) == 1 else None
