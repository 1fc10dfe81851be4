"""An operation's result as plain JSON, and checks that the template's paths fit its shape.

zeep hands back its own objects; `zeep.helpers.serialize_object` (in `_zeep`) makes them dicts
and lists, and `to_json` makes what is left JSON: dates and times as ISO 8601, decimals as
exact text, durations as ISO 8601, binary as base64, foreign XML (`xsd:any`) as its text.
`check_shape` tells a template author what a wrong path missed: zeep puts every element the
schema declares into the result (None when absent), so a name that is not there is a typo,
not an empty list, and the message lists the names that are. (zeep also hands a response
wrapper with a single part back as that part, so `GetThingsResponse/things/thing*` is the list
itself: path empty.)
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from adapters._errors import ConfigError
from adapters._values import JsonValue
from adapters.templates._checks import Stream
from adapters.templates._model import CursorPages, OffsetPages, PageNumberPages
from adapters.templates._records import read_path

_SHOWN_KEYS = 12


def to_json(value: object) -> JsonValue:
    """`value` (plain data from a zeep result) as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    for kind, convert in _CONVERSIONS:
        if isinstance(value, kind):
            return convert(value)
    return str(value)  # a QName, an isodate Duration: their text


def _float(value: float) -> JsonValue:
    return value if math.isfinite(value) else str(value)


def _decimal(value: Decimal) -> JsonValue:
    return format(value, "f") if value.is_finite() else str(value)


def _moment(value: datetime | date | time) -> JsonValue:
    return value.isoformat()


def _binary(value: bytes | bytearray) -> JsonValue:
    return base64.b64encode(bytes(value)).decode("ascii")


def _xml(value: etree._Element) -> JsonValue:
    text: str = etree.tostring(value, encoding="unicode")
    return text


def iso_duration(value: timedelta) -> str:
    """`P1DT2H30M`, `-PT5S`, `PT0S`."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    fraction = f"{seconds + value.microseconds / 1_000_000:g}" if value.microseconds else ""
    clock = "".join(
        f"{amount}{unit}"
        for amount, unit in ((hours, "H"), (minutes, "M"), (fraction or seconds, "S"))
        if amount
    )
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}{'T' + clock if clock else ''}"


_CONVERSIONS: tuple[tuple[tuple[type[Any], ...], Callable[[Any], JsonValue]], ...] = (
    ((float,), _float),
    ((Decimal,), _decimal),
    ((datetime, date, time), _moment),
    ((timedelta,), iso_duration),
    ((bytes, bytearray), _binary),
    ((etree._Element,), _xml),
)


def check_shape(result: JsonValue, stream: Stream, *, adapter: str) -> None:
    """A ConfigError naming the template path that does not fit `result`, with the names
    found where it went wrong (never values)."""
    paths = [("records", stream.records)]
    paginator = stream.paginator
    if isinstance(paginator, PageNumberPages | OffsetPages) and paginator.total_path:
        paths.append(("paging.total_path", paginator.total_path))
    if isinstance(paginator, CursorPages) and paginator.cursor_path:
        paths.append(("paging.token_path", paginator.cursor_path))
    for field, path in paths:
        problem = missing_part(result, path)
        if problem is not None:
            raise ConfigError(f"{adapter}: entity {stream.name!r}: {field} {path!r}: {problem}")
    found = read_path(result, stream.records)
    if isinstance(found, Mapping):
        raise ConfigError(
            f"{adapter}: entity {stream.name!r}: records {stream.records!r} is one object "
            f"with {_names(found)}, not a list; point it at the list inside"
        )
    if isinstance(found, list) and found and isinstance(found[0], Mapping):
        for key in stream.primary_key:
            problem = missing_part(found[0], key)
            if problem is not None:
                raise ConfigError(
                    f"{adapter}: entity {stream.name!r}: primary_key {key!r}: {problem}"
                )


def missing_part(value: object, path: str) -> str | None:
    """Why `path` cannot be in `value`: a part a mapping does not have (an absent value on
    the way, None, is fine: an optional element left out)."""
    walked: list[str] = []
    for part in [part for part in path.split(".") if part]:
        if value is None:
            return None
        if isinstance(value, Mapping):
            if part not in value:
                where = ".".join(walked) or "the result"
                return f"{where} has no {part!r}; it has {_names(value)}"
            value = value[part]
        elif isinstance(value, list):
            if not part.isdigit():
                where = ".".join(walked) or "the result"
                return f"{where} is a list, it has no {part!r}"
            if int(part) >= len(value):
                return None  # an index past the end: nothing there this time
            value = value[int(part)]
        else:
            where = ".".join(walked) or "the result"
            return f"{where} is a single value, it has no parts"
        walked.append(part)
    return None


def _names(value: Mapping[str, object]) -> str:
    keys = [str(key) for key in value]
    if not keys:
        return "no fields"
    shown = ", ".join(keys[:_SHOWN_KEYS])
    return shown + (f" and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else "")
