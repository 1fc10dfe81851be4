"""GraphQL requests, pages and checkpoints as plain functions over plain data.

A pass over a stream is a chain of `GraphQLState`s: the partition (the parent record's key,
for a stream run `for_each` record of another) and where in it the next page starts (`at`:
a page number or a cursor; None for the partition's first page). `graphql_request` says which
query to send with which variables (settings, the partition's key, the paging position: only
those the query declares), `read_graphql_page` reads the answer's `data`, and `graphql_after` is the
state that follows. A batch's checkpoint is the state after it (`graphql_checkpoint`), so a sync
resumed from it asks for exactly the pages after. Partitions are taken in a fixed order
(numbers, then text), so a resumed sync whose partition has gone since goes on with the next.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pydantic import JsonValue as TemplateValue

from adapters._errors import ConfigError, PermanentError
from adapters._values import JsonObject, JsonValue, SourceRecord, SyncKind
from adapters.templates._graphql_compiled import GraphQLStream
from adapters.templates._graphql_model import (
    GraphQLCursor,
    GraphQLForEach,
    GraphQLNextQuery,
    GraphQLPageNumber,
)
from adapters.templates._model import Scalar
from adapters.templates._paging import interpolate
from adapters.templates._records import read_path, select_records, to_record

PartitionKey = str | int
_WHOLE_SETTING = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class GraphQLPosition:
    """Where the next page of a partition starts: a page number or a cursor."""

    page: int | None = None
    cursor: str | None = None
    issued: float | None = None  # when the cursor was given (UNIX time; with a lifetime only)

    def as_json(self) -> dict[str, JsonValue]:
        found: dict[str, JsonValue] = {
            "page": self.page,
            "cursor": self.cursor,
            "issued": self.issued,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class GraphQLState:
    kind: SyncKind
    partition: PartitionKey | None = None
    at: GraphQLPosition | None = None  # None: the partition's first page


@dataclass(frozen=True, slots=True)
class GraphQLPage:
    """One answer: the raw items (a parent's keys are read from them), their records, and
    the next position in the partition (None: the partition is done)."""

    items: tuple[Mapping[str, JsonValue], ...]
    records: tuple[SourceRecord, ...]
    next: GraphQLPosition | None


# -- variables --------------------------------------------------------------------------------


def graphql_variable(value: TemplateValue, values: Mapping[str, Scalar]) -> JsonValue:
    """A template variable with its `{setting}`s: a text that is one `{setting}` becomes the
    setting's value (a number stays a number), other texts are interpolated."""
    if isinstance(value, str):
        whole = _WHOLE_SETTING.fullmatch(value)
        return values[whole.group(1)] if whole else interpolate(value, values)
    if isinstance(value, list):
        return [graphql_variable(item, values) for item in value]
    if isinstance(value, dict):
        return {key: graphql_variable(item, values) for key, item in value.items()}
    return value


def graphql_request(
    stream: GraphQLStream, state: GraphQLState, page_size: int, values: Mapping[str, Scalar]
) -> tuple[str, dict[str, JsonValue]]:
    """The query to send for the page `state` points at, and its variables (only those the
    query declares)."""
    paginator = stream.paginator
    offered: dict[str, JsonValue] = {
        k: graphql_variable(v, values) for k, v in stream.variables.items()
    }
    if stream.for_each is not None:
        offered[stream.for_each.variable] = state.partition
    at = state.at
    if isinstance(paginator, GraphQLPageNumber):
        offered[paginator.page_variable] = paginator.start if at is None else at.page
    elif isinstance(paginator, GraphQLCursor):
        offered[paginator.cursor_variable] = None if at is None else at.cursor
    if isinstance(paginator, GraphQLPageNumber | GraphQLCursor) and paginator.size_variable:
        offered[paginator.size_variable] = page_size
    then = _next_query(stream, state)
    if then is not None:
        query, declared = then.query, stream.next_declared
    else:
        query, declared = stream.query, stream.declared
    return query, {name: value for name, value in offered.items() if name in declared}


def _next_query(stream: GraphQLStream, state: GraphQLState) -> GraphQLNextQuery | None:
    """The paginator's `next` query, if it has one and the page is one after the first."""
    paginator = stream.paginator
    if state.at is None or not isinstance(paginator, GraphQLCursor):
        return None
    return paginator.next


# -- answers ----------------------------------------------------------------------------------


def read_graphql_page(
    stream: GraphQLStream,
    state: GraphQLState,
    page_size: int,
    data: JsonValue,
    *,
    now: float = 0.0,
) -> GraphQLPage:
    """The records in an answer's `data`, and where the partition goes on (`now`, UNIX time,
    dates a cursor that expires)."""
    then = _next_query(stream, state)
    shape = stream.next_shape if then is not None and stream.next_shape else stream.shape
    items = tuple(select_records(data, shape))
    records = tuple(to_record(item, shape) for item in items)
    paginator = stream.paginator
    following: GraphQLPosition | None = None
    if not items:
        pass  # an empty page ends the partition, whatever else it says
    elif isinstance(paginator, GraphQLPageNumber):
        following = _next_page(paginator, state, page_size, len(items))
    elif isinstance(paginator, GraphQLCursor):
        following = _next_cursor(stream.name, paginator, then, state, data, now=now)
    return GraphQLPage(items, records, following)


def _next_page(
    paginator: GraphQLPageNumber, state: GraphQLState, page_size: int, count: int
) -> GraphQLPosition | None:
    if paginator.size_variable is not None and count < page_size:
        return None  # a short page is the last
    page = paginator.start if state.at is None or state.at.page is None else state.at.page
    return GraphQLPosition(page=page + 1)


def _next_cursor(
    stream: str,
    paginator: GraphQLCursor,
    then: GraphQLNextQuery | None,
    state: GraphQLState,
    data: JsonValue,
    *,
    now: float,
) -> GraphQLPosition | None:
    where = paginator if then is None else then
    if where.has_next_path is not None and read_path(data, where.has_next_path) is not True:
        return None
    cursor = read_path(data, where.cursor_path)
    if cursor is None or cursor == "" or isinstance(cursor, bool | Mapping | list):
        return None
    current = None if state.at is None else state.at.cursor
    if str(cursor) == current:
        raise PermanentError(f"stream {stream!r}: the next cursor is the one just used")
    issued = None if paginator.cursor_lifetime is None else now
    return GraphQLPosition(cursor=str(cursor), issued=issued)


# -- partitions and checkpoints ---------------------------------------------------------------


def _order(key: PartitionKey) -> tuple[int, int | str]:
    """Numbers before texts, each in their own order."""
    return (0, key) if isinstance(key, int) else (1, key)


def graphql_partitions(
    items: Sequence[Mapping[str, JsonValue]], each: GraphQLForEach, stream: str
) -> list[PartitionKey]:
    """The parent records' keys, once each, in partition order."""
    keys: set[PartitionKey] = set()
    for item in items:
        key = read_path(item, each.key)
        if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
            raise PermanentError(
                f"stream {stream!r}: a record of {each.stream!r} has no usable {each.key}"
            )
        keys.add(key)
    return sorted(keys, key=_order)


def _first_state(
    stream: GraphQLStream, kind: SyncKind, partitions: Sequence[PartitionKey]
) -> GraphQLState | None:
    """Where a pass starts; None when a stream run per parent record has no parents."""
    if stream.for_each is None:
        return GraphQLState(kind)
    return GraphQLState(kind, partitions[0]) if partitions else None


def graphql_resume(
    stream: GraphQLStream,
    checkpoint: JsonObject | None,
    kind: SyncKind,
    partitions: Sequence[PartitionKey],
    *,
    now: float = 0.0,
) -> GraphQLState | None:
    """The state after `checkpoint` (None: the pass has nothing left). A finished pass, or
    one of the other kind, starts again from the first page; a cursor older than the
    paginator's `cursor_lifetime` at `now` (UNIX time) starts its partition over."""
    if checkpoint is None:
        return _first_state(stream, kind, partitions)
    try:
        saved = SyncKind(checkpoint["kind"])
        done = checkpoint.get("done") is True
        partition = _partition(checkpoint.get("partition"))
        at = _position(checkpoint.get("next"))
    except (KeyError, TypeError, ValueError):
        raise ConfigError(f"the checkpoint of {stream.name!r} is not one of ours") from None
    if done or saved is not kind:
        return _first_state(stream, kind, partitions)
    if at is not None and _expired(stream, at, now):
        at = None
    if stream.for_each is None:
        return GraphQLState(kind, None, at)
    if partition is None:
        raise ConfigError(f"the checkpoint of {stream.name!r} is not one of ours")
    later = [key for key in partitions if _order(key) >= _order(partition)]
    if not later:
        return None
    return (
        GraphQLState(kind, partition, at) if later[0] == partition else GraphQLState(kind, later[0])
    )


def _expired(stream: GraphQLStream, at: GraphQLPosition, now: float) -> bool:
    paginator = stream.paginator
    if not isinstance(paginator, GraphQLCursor) or paginator.cursor_lifetime is None:
        return False
    return at.issued is None or now - at.issued >= paginator.cursor_lifetime


def graphql_after(
    state: GraphQLState, following: GraphQLPosition | None, partitions: Sequence[PartitionKey]
) -> GraphQLState | None:
    """The state after a page: the partition's next page, or the next partition's first."""
    if following is not None:
        return replace(state, at=following)
    if state.partition is None:
        return None
    done = _order(state.partition)
    later = [key for key in partitions if _order(key) > done]
    return GraphQLState(state.kind, later[0]) if later else None


def graphql_checkpoint(kind: SyncKind, state: GraphQLState | None) -> JsonObject:
    """What a batch stores: the state of the page after it, or that the pass is done."""
    if state is None:
        return {"kind": kind.value, "done": True}
    checkpoint: dict[str, JsonValue] = {"kind": kind.value}
    if state.partition is not None:
        checkpoint["partition"] = state.partition
    if state.at is not None:
        checkpoint["next"] = state.at.as_json()
    return checkpoint


def _partition(value: object) -> PartitionKey | None:
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    raise TypeError("not a partition key")


def _position(value: object) -> GraphQLPosition | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError("not a position")
    page, cursor, issued = value.get("page"), value.get("cursor"), value.get("issued")
    if page is not None and (not isinstance(page, int) or isinstance(page, bool)):
        raise TypeError("not a page number")
    if cursor is not None and not isinstance(cursor, str):
        raise TypeError("not a cursor")
    if issued is not None and (not isinstance(issued, int | float) or isinstance(issued, bool)):
        raise TypeError("not a time")
    return GraphQLPosition(page, cursor, None if issued is None else float(issued))
