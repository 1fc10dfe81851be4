"""Records out of a response, and incremental cursors, as plain functions over plain data.

`select_records` finds the list (a dotted path, or simple JSONPath such as `$.data[*]`),
`to_record` makes each item a `SourceRecord` (primary key, default field mapping), and the
cursor functions keep an incremental stream's high-water mark: datetimes compared as UTC
instants (whatever offset the peer wrote), numbers as numbers, and the next pass's lower
bound is the mark minus the look-back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from adapters._errors import PermanentError
from adapters._values import JsonValue, SourceRecord
from adapters.templates._checks import Stream
from adapters.templates._model import Incremental

Bound = str | int | float | None


# -- records ------------------------------------------------------------------------------------


def read_path(value: object, path: str) -> object:
    """The value at a dotted path (`data.items`, `lines.0.sku`; `$.data[*]` is read as
    `data`); None when something on the way is missing. An empty path is the value itself."""
    for part in _parts(path):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _parts(path: str) -> list[str]:
    path = path.strip()
    path = path.removeprefix("$").removesuffix("[*]")
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    return [part for part in path.split(".") if part]


def select_records(body: JsonValue, stream: Stream) -> list[Mapping[str, JsonValue]]:
    found = read_path(body, stream.records)
    if found is None:
        return []  # no body, or no such key: an empty page (APIs leave out an empty list)
    if not isinstance(found, list):
        where = stream.records or "the response body"
        raise PermanentError(f"stream {stream.name!r}: {where} is not a list of records")
    for index, item in enumerate(found):
        if not isinstance(item, Mapping):
            raise PermanentError(f"stream {stream.name!r}: record {index} is not an object")
    return found


def to_record(item: Mapping[str, JsonValue], stream: Stream) -> SourceRecord:
    keys = [read_path(item, key) for key in stream.primary_key]
    if any(key is None or key == "" or isinstance(key, Mapping | list) for key in keys):
        shown = ", ".join(stream.primary_key)
        raise PermanentError(f"stream {stream.name!r}: a record has no usable {shown}")
    external_id = ":".join(str(key) for key in keys)
    if stream.fields is None:
        return SourceRecord(external_id, item)
    data = {target: read_path(item, source) for target, source in stream.fields.items()}
    return SourceRecord(external_id, data)  # type: ignore[arg-type]  # parts of JSON are JSON


# -- incremental cursors ------------------------------------------------------------------------


def cursor_value(item: Mapping[str, JsonValue], incremental: Incremental) -> Bound:
    """A record's cursor, normalised (datetimes as UTC ISO text); None if it has none."""
    value = read_path(item, incremental.cursor_field)
    if incremental.type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return value if ok else None  # type: ignore[return-value]  # checked: a number
    moment = _datetime(value)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def newer(high: Bound, value: Bound) -> Bound:
    """The later of two cursor values (None is before everything)."""
    if value is None:
        return high
    if high is None:
        return value
    if isinstance(high, str) and isinstance(value, str):
        a, b = _datetime(high), _datetime(value)
        if a is not None and b is not None:
            return value if b > a else high
    if isinstance(high, int | float) and isinstance(value, int | float):
        return value if value > high else high
    return high


def lower_bound(high: Bound, incremental: Incremental) -> Bound:
    """What the next incremental pass asks from: `high` minus the look-back, formatted."""
    if isinstance(high, int | float):
        lowered = high - incremental.lookback
        return int(lowered) if isinstance(high, int) and lowered.is_integer() else lowered
    moment = _datetime(high)
    if moment is None:
        return None
    moment -= timedelta(seconds=incremental.lookback)
    return moment.strftime(incremental.format or "%Y-%m-%dT%H:%M:%SZ")
