"""Pagination, checkpoints and incremental cursors as plain functions over plain data.

A pass over a stream is a chain of `PageState`s: where the next page starts (`Position`), the
pass's kind, the lower bound it sends (`since`) and the highest cursor value seen so far
(`high`). `read_page` turns one response into records and the next state; the checkpoint of a
batch is the *next* page's state, so a sync resumed from it asks for exactly the pages after.
A finished pass's checkpoint keeps `high`; the next incremental pass starts at `high -
lookback`. No sockets here: the adapter (`_adapter`) only sends what `page_request` says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from adapters._errors import ConfigError, PermanentError
from adapters._values import JsonObject, JsonValue, SourceRecord, SyncKind
from adapters.templates._checks import Stream
from adapters.templates._model import (
    VARIABLE,
    CursorPages,
    LinkPages,
    NoPages,
    OffsetPages,
    PageNumberPages,
    Scalar,
)
from adapters.templates._records import (
    Bound,
    cursor_value,
    lower_bound,
    newer,
    read_path,
    select_records,
    to_record,
)

_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*(?:[^;,"]|"[^"]*")*)*)')
_REL = re.compile(r"""(?i)\brel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""")


@dataclass(frozen=True, slots=True)
class Position:
    """The next page: a page number, an offset, a cursor or a URL (which one: the paginator)."""

    page: int | None = None
    offset: int | None = None
    cursor: str | None = None
    url: str | None = None

    def as_json(self) -> dict[str, JsonValue]:
        return {key: value for key, value in _fields(self).items() if value is not None}


def _fields(position: Position) -> dict[str, int | str | None]:
    return {
        "page": position.page,
        "offset": position.offset,
        "cursor": position.cursor,
        "url": position.url,
    }


@dataclass(frozen=True, slots=True)
class PageState:
    position: Position
    kind: SyncKind
    since: Bound = None
    high: Bound = None


@dataclass(frozen=True, slots=True)
class Page:
    """What one response gave: records, the checkpoint after them, and the next state."""

    records: tuple[SourceRecord, ...]
    checkpoint: JsonObject
    next: PageState | None  # None: the pass is done


def advancing(
    entity: str, previous: tuple[str, ...], records: Sequence[SourceRecord], more: bool
) -> tuple[str, ...]:
    """The page's ids, to compare with the next page's (`more`: a page follows); a page that
    repeats the one before (a peer ignoring the paging parameters) stops the sync instead of
    reading it forever."""
    ids = tuple(record.external_id for record in records)
    if more and ids and ids == previous:
        raise PermanentError(
            f"stream {entity!r}: the peer sent the same page again; its pagination does not advance"
        )
    return ids if more else ()


# -- values from settings -----------------------------------------------------------------------


def interpolate(text: str, values: Mapping[str, Scalar]) -> str:
    """`text` with each `{name}` replaced by that value (booleans as `true`/`false`)."""

    def one(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return VARIABLE.sub(one, text)


def whole_number(value: int | float | str, values: Mapping[str, Scalar]) -> float:
    """A number given directly or as `{setting}`."""
    if isinstance(value, str):
        value = values[value.strip("{}")]  # checked at load: a number setting
    return float(value)


# -- where a pass starts --------------------------------------------------------------------


def first_position(stream: Stream) -> Position:
    paginator = stream.paginator
    if isinstance(paginator, PageNumberPages):
        return Position(page=paginator.start)
    if isinstance(paginator, OffsetPages):
        return Position(offset=0)
    return Position()


def start(stream: Stream, checkpoint: JsonObject | None, kind: SyncKind) -> PageState:
    """The state a sync of `kind` starts in, after `checkpoint` (None: the very first)."""
    first = first_position(stream)
    if checkpoint is None:
        return PageState(first, kind)
    try:
        saved_kind = SyncKind(checkpoint["kind"])
        since, high = _bound(checkpoint.get("since")), _bound(checkpoint.get("high"))
        done = checkpoint.get("done") is True
        position = None if done else _position(checkpoint["next"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"the checkpoint of {stream.name!r} is not one of ours") from None
    if position is not None and saved_kind is kind:
        return PageState(position, kind, since, high)
    if kind is SyncKind.FULL or stream.incremental is None:
        return PageState(first, kind, None, high)
    if done:
        since = None if high is None else lower_bound(high, stream.incremental)
    return PageState(first, kind, since, high)  # a cut pass of the other kind: its bound


def _bound(value: object) -> Bound:
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return value
    raise TypeError("not a cursor value")


def _position(value: object) -> Position:
    if not isinstance(value, Mapping) or not value:
        raise TypeError("not a position")
    page, offset = value.get("page"), value.get("offset")
    cursor, url = value.get("cursor"), value.get("url")
    for number in (page, offset):
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise TypeError("not a page number")
    for text in (cursor, url):
        if text is not None and not isinstance(text, str):
            raise TypeError("not a cursor")
    return Position(page, offset, cursor, url)


# -- one request ---------------------------------------------------------------------------


def page_request(
    stream: Stream, state: PageState, page_size: int, values: Mapping[str, Scalar]
) -> tuple[str, list[tuple[str, str]]]:
    """The path (or absolute next URL) and query pairs of the page `state` points at."""
    paginator = stream.paginator
    if isinstance(paginator, LinkPages) and state.position.url is not None:
        return state.position.url, []
    pairs = [(key, _text(value, values)) for key, value in stream.params.items()]
    if state.since is not None and stream.incremental is not None:
        bound = {**values, "cursor": state.since}
        pairs += [(key, _text(value, bound)) for key, value in stream.incremental.params.items()]
    position = state.position
    if isinstance(paginator, PageNumberPages):
        pairs.append((paginator.page_param, str(position.page)))
    elif isinstance(paginator, OffsetPages):
        pairs.append((paginator.offset_param, str(position.offset)))
    elif isinstance(paginator, CursorPages) and position.cursor is not None:
        pairs.append((paginator.cursor_param, position.cursor))
    if not isinstance(paginator, NoPages) and paginator.size_param is not None:
        pairs.append((paginator.size_param, str(page_size)))
    return interpolate(stream.path, values), pairs


def _text(value: Scalar, values: Mapping[str, Scalar]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return interpolate(str(value), values)


def query_string(pairs: Sequence[tuple[str, str]]) -> str:
    """Pairs encoded for a URL, brackets (`page[number]`) left as they are."""
    return urlencode(list(pairs), safe="[]")


# -- one response ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """One response as the paging rules read it: the parsed body, headers (lower-case
    names) and the URL it answered."""

    body: JsonValue
    headers: Mapping[str, str]
    url: str


def read_page(
    stream: Stream,
    state: PageState,
    page_size: int,
    reply: Reply,
    *,
    drop_params: frozenset[str] = frozenset(),
) -> Page:
    """Records of one response and what comes after them."""
    items = select_records(reply.body, stream)
    records = tuple(to_record(item, stream) for item in items)
    high = state.high
    if stream.incremental is not None:
        for item in items:
            high = newer(high, cursor_value(item, stream.incremental))
    position = _next_position(stream, state, page_size, reply, len(items))
    if position is not None and position.url is not None:
        position = replace(position, url=without_params(position.url, drop_params))
    if position is None:
        checkpoint: JsonObject = {"kind": state.kind.value, "done": True, "high": high}
        return Page(records, checkpoint, None)
    following = PageState(position, state.kind, state.since, high)
    checkpoint = {
        "kind": state.kind.value,
        "next": position.as_json(),
        "since": state.since,
        "high": high,
    }
    return Page(records, checkpoint, following)


def _next_position(
    stream: Stream, state: PageState, page_size: int, reply: Reply, count: int
) -> Position | None:
    paginator = stream.paginator
    if isinstance(paginator, PageNumberPages | OffsetPages):
        return _counted_next(paginator, state.position, page_size, reply, count, stream=stream.name)
    if isinstance(paginator, CursorPages):
        cursor = _next_cursor(paginator, reply)
        if cursor is not None and cursor == state.position.cursor:
            raise PermanentError(f"stream {stream.name!r}: the next cursor is the one just used")
        return None if cursor is None else Position(cursor=cursor)
    if isinstance(paginator, LinkPages):
        link = next_link(reply.headers.get("link", ""))
        url = None if link is None else urljoin(reply.url, link)
        if url is not None and url == state.position.url:
            raise PermanentError(f"stream {stream.name!r}: the next link is the page just read")
        return None if url is None else Position(url=url)
    return None


def _counted_next(
    paginator: PageNumberPages | OffsetPages,
    position: Position,
    page_size: int,
    reply: Reply,
    count: int,
    *,
    stream: str,
) -> Position | None:
    """Page numbers and offsets: done on an empty page, a short one, or at the total."""
    if count == 0 or (paginator.short_page_ends and count < page_size):
        return None
    total = _total(reply.body, paginator.total_path, stream)
    if isinstance(paginator, PageNumberPages):
        page = paginator.start if position.page is None else position.page
        done = total is not None and (page - paginator.start + 1) * page_size >= total
        return None if done else Position(page=page + 1)
    offset = (position.offset or 0) + count
    return None if total is not None and offset >= total else Position(offset=offset)


def _total(body: JsonValue, path: str | None, stream: str) -> int | None:
    if path is None:
        return None
    value = read_path(body, path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PermanentError(f"stream {stream!r}: {path} is not a number")
    try:
        return int(value)
    except ValueError:
        raise PermanentError(f"stream {stream!r}: {path} is not a number") from None


def _next_cursor(paginator: CursorPages, reply: Reply) -> str | None:
    if paginator.cursor_header is not None:
        value: object = reply.headers.get(paginator.cursor_header.lower())
    else:
        value = read_path(reply.body, paginator.cursor_path or "")
    if value is None or value == "" or isinstance(value, bool):
        return None
    return str(value)


def next_link(header: str) -> str | None:
    """The `rel="next"` target of a `Link` header (RFC 8288), or None."""
    for match in _LINK.finditer(header):
        for rel in _REL.finditer(match.group(2)):
            if "next" in (rel.group(1) or rel.group(2) or "").lower().split():
                return match.group(1).strip()
    return None


def without_params(url: str, names: frozenset[str]) -> str:
    """`url` without the query parameters `names` (an API key a server echoed into its links
    must not end up in a stored checkpoint; the client adds it to each request anyway)."""
    if not names:
        return url
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in names]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="[]")))


def same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def finished(state: PageState) -> Page:
    """The pass ends here with no records (a status the template says to ignore)."""
    return Page((), {"kind": state.kind.value, "done": True, "high": state.high}, None)
