"""Field mapping: from a source record's shape to the hub's, as pure functions.

A mapping lists target fields, each read from a dotted source path and converted by a simple
transform. A value that cannot be converted is not guessed at: the field is left out and the
problem is reported back, so one odd record never fails a whole sync. With no mapping for an
entity, records are stored as the source sent them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from config import FieldMapping, Transform

MISSING = object()
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f", ""})


class TransformError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class MappingProblem:
    target: str
    message: str


@dataclass(frozen=True, slots=True)
class Mapped:
    data: Mapping[str, object]
    problems: tuple[MappingProblem, ...] = ()


def read_path(record: Mapping[str, object], path: str) -> object:
    """The value at a dotted path (`address.city`, `lines.0.sku`), or `MISSING`."""
    value: object = record
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, Sequence) and not isinstance(value, str) and part.isdigit():
            index = int(part)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TransformError(f"not a yes/no value: {text[:40]!r}")


def _to_int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise TransformError(f"not a whole number: {value}")
        return int(value)
    return int(str(value).strip())


def _to_date(value: object) -> str:
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise TransformError(f"not a date: {text[:40]!r}") from None


def _to_datetime(value: object) -> str:
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        raise TransformError(f"not a date and time: {text[:40]!r}") from None


_TRANSFORMS: dict[Transform, Callable[[object], object]] = {
    Transform.NONE: lambda value: value,
    Transform.LOWER: lambda value: str(value).lower(),
    Transform.UPPER: lambda value: str(value).upper(),
    Transform.STRIP: lambda value: str(value).strip(),
    Transform.STRING: lambda value: "" if value is None else str(value),
    Transform.INT: _to_int,
    Transform.FLOAT: lambda value: float(str(value).strip()),
    Transform.BOOL: _to_bool,
    Transform.DATE: _to_date,
    Transform.DATETIME: _to_datetime,
}


def apply_transform(transform: Transform, value: object) -> object:
    """Convert one value; None stays None (an empty source field is not an error)."""
    if value is None:
        return None
    try:
        return _TRANSFORMS[transform](value)
    except TransformError:
        raise
    except (TypeError, ValueError):
        raise TransformError(f"cannot convert to {transform}: {str(value)[:40]!r}") from None


def map_record(record: Mapping[str, object], mappings: Sequence[FieldMapping]) -> Mapped:
    """The record in the hub's shape; with no mappings, the record as it is."""
    if not mappings:
        return Mapped(record)
    data: dict[str, object] = {}
    problems: list[MappingProblem] = []
    for mapping in mappings:
        value = read_path(record, mapping.source)
        if value is MISSING:
            data[mapping.target] = None
            continue
        try:
            data[mapping.target] = apply_transform(mapping.transform, value)
        except TransformError as error:
            problems.append(MappingProblem(mapping.target, str(error)))
    return Mapped(data, tuple(problems))
