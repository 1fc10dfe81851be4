"""Canonical JSON and the content hash of a record, the same bytes for every backend.

The hash decides whether a re-synced record changed, so it must not depend on the backend or
on key order: it is the SHA-256 of the canonical JSON text, computed here in Python rather
than by either database. The same text is what gets stored.

The canonical text is orjson's (`OPT_SORT_KEYS`): keys sorted, no spaces, UTF-8, non-ASCII
unescaped, floats in their shortest round-trip form (`0.00001`, `1e+16`). It is some ten times
faster than the stdlib's `json`, and it runs once per record in every sync, a re-sync of
unchanged records included. What a value may hold:

- a JSON object at the top; objects as any `Mapping`, arrays as lists or tuples;
- object keys that are `str` (`{1: …}` is refused: it would read back as `"1"` and could
  collide with a real `"1"`);
- no NaN or infinity (orjson would write them as `null`, silently; refused here);
- no NUL in any text or key (PostgreSQL's JSONB has no `\\u0000`) and no lone surrogate
  (neither database takes them);
- floats as `float` or a subclass of it (numpy's `float64`); enums as their value and UUIDs as
  their text, which is how orjson writes them; datetimes, dataclasses, sets and other objects
  are refused: they would not read back as what was written.
- integers beyond orjson's 64 bits (below -2**63 or above 2**64-1) are kept, exactly: such a
  value is written by the stdlib's `json` instead, with the same rules and the same
  separators. Which encoder writes a value depends on the value alone, so its text, and so
  its hash, is still one per value; only its floats are then spelt the stdlib's way (`1e-05`).

Anything refused raises `InvalidValue` naming `what` and, where it can, the place in the value
(`$.items[2].price`).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

import orjson

from runtime.store._batch import Prepared
from runtime.store._errors import InvalidValue

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_MIN_INT = -(2**63)
_MAX_INT = 2**64 - 1
_NUL = b"\\u0000"
_NUL_TEXT = _NUL.decode()
_OPEN_BRACE = ord("{")
_OBJECTS_ONLY = {"{"}


def _default(value: object) -> object:
    """What orjson does not write itself: any `Mapping`, float subclasses; UUIDs and enums for
    the stdlib fallback (orjson writes them itself, the same way)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


_dumps = orjson.dumps
_sha256 = hashlib.sha256
_stdlib_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
).encode


def canonical_json(value: Mapping[str, object], what: str) -> str:
    """The canonical text of a JSON object, or `InvalidValue` naming `what`."""
    return canonical_bytes(value, what).decode()


def record_json_and_hash(value: Mapping[str, object], what: str) -> tuple[str, str]:
    """(canonical JSON text, hex SHA-256 of its UTF-8 bytes)."""
    raw = canonical_bytes(value, what)
    return raw.decode(), _sha256(raw).hexdigest()


def canonical_bytes(value: Mapping[str, object], what: str) -> bytes:
    """The canonical UTF-8 bytes of a JSON object, or `InvalidValue` naming `what`."""
    try:
        raw = _dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as error:
        raw = _fallback(value, what, error)
    if (raw[0] != _OPEN_BRACE or b"null" in raw or _NUL in raw) and (
        problem := _problem(raw.decode(), value)
    ):
        raise InvalidValue(f"{what}: {problem}")
    return raw


def prepare_records(latest: Mapping[str, Mapping[str, object]]) -> list[Prepared]:
    """(external_id, canonical JSON, content hash) per record of `latest` (external id ->
    data), in order: `record_json_and_hash` for a whole batch, since this is the hottest loop
    of a sync. Its checks run once on the batch's joined text (a record ends with `}`, so no
    `null` or `\\u0000` spans two), and only a batch that holds `null`, an escaped NUL, a
    record not an object or an external id with NUL has its records looked at one by one
    (`canonical_bytes`' checks; external ids must hold no NUL and no lone surrogate either).
    The fast path so costs orjson, the hash and the decode. Each
    record's bytes are dropped as soon as hashed: orjson's output holds more memory than its
    length (some 16 KB for a 2 KB record), which a whole batch of them would multiply."""
    prepared: list[Prepared] = []
    append = prepared.append
    dumps, options, default, sha256 = _dumps, _OPTIONS, _default, _sha256
    try:
        for key, data in latest.items():
            raw = dumps(data, default=default, option=options)
            append((key, raw.decode(), sha256(raw).hexdigest()))
    except orjson.JSONEncodeError:
        prepared = [_prepared(key, data) for key, data in latest.items()]
    joined = "".join([text for _, text, _ in prepared])
    if (
        "null" in joined
        or ("\\" in joined and _NUL_TEXT in joined)  # one-character search first: fast
        or {text[:1] for _, text, _ in prepared} != _OBJECTS_ONLY
        or not _plain_text(keys := "".join(latest))
        or "\x00" in keys
    ):
        for (key, text, _), data in zip(prepared, latest.values(), strict=True):
            if problem := _problem(text, data):
                raise InvalidValue(f"record {key!r} data: {problem}")
            if "\x00" in key:
                raise InvalidValue(f"record {key!r}: external_id must not contain NUL")
            if not _valid_unicode(key):
                raise InvalidValue(f"record {key!r}: external_id must be valid Unicode")
    return prepared


def _plain_text(text: str) -> bool:
    return text.isascii() or _valid_unicode(text)


def _prepared(external_id: str, data: Mapping[str, object]) -> Prepared:
    try:
        raw = _dumps(data, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as error:
        raw = _fallback(data, f"record {external_id!r} data", error)
    return external_id, raw.decode(), _sha256(raw).hexdigest()


def _problem(text: str, value: object) -> str | None:
    """What is wrong with a text the fast path could not clear at a glance, if anything."""
    if text[:1] != "{":
        return f"a JSON object is required, got {type(value).__name__}"
    if "null" in text and _has_non_finite(value):
        return f"{_find(_non_finite, value) or 'a number'}: NaN and infinity are not JSON"
    if _NUL_TEXT in text and has_escaped_nul(text):
        return f"{_find(_nul, value) or 'text'}: JSON text must not contain NUL (\\u0000)"
    return None


def has_escaped_nul(text: str) -> bool:
    """Whether JSON text spells a NUL (`\\u0000`), not a backslash followed by `u0000`: the
    escape's backslash is preceded by an even number of backslashes (escaped backslashes)."""
    start = text.find(_NUL_TEXT)
    while start != -1:
        before = start
        while before > 0 and text[before - 1] == "\\":
            before -= 1
        if (start - before) % 2 == 0:
            return True
        start = text.find(_NUL_TEXT, start + 1)
    return False


def _fallback(value: Mapping[str, object], what: str, error: orjson.JSONEncodeError) -> bytes:
    """The stdlib's bytes for a value that holds an integer orjson cannot write; otherwise
    orjson's refusal, explained."""
    if _find(_big_int, value) is None:
        raise InvalidValue(f"{what}: not storable as JSON: {_explain(value, error)}") from error
    if (where := _find(_not_str_key, value)) is not None:
        raise InvalidValue(f"{what}: not storable as JSON: {where}: object keys must be str")
    try:
        return _stdlib_encode(value).encode()
    except (TypeError, ValueError) as stdlib_error:  # UnicodeEncodeError is a ValueError
        explained = _explain(value, stdlib_error)
        raise InvalidValue(f"{what}: not storable as JSON: {explained}") from stdlib_error


def _explain(value: object, error: Exception) -> str:
    """orjson's (or the stdlib's) complaint, with the place in the value where one is found."""
    for find, problem in (
        (_not_str_key, "object keys must be str"),
        (_lone_surrogate, "text must be valid Unicode (a lone surrogate is not)"),
        (_non_finite, "NaN and infinity are not JSON"),
        (_unsupported, "not a JSON value"),
    ):
        if (where := _find(find, value)) is not None:
            return f"{where}: {problem}"
    return str(error)


def _find(walk: Callable[[object, str], str | None], value: object) -> str | None:
    """The walk's finding; none in a value nested too deep (or cyclic) for any encoder, which
    refused it already."""
    try:
        return walk(value, "$")
    except RecursionError:
        return None


def _has_non_finite(value: Any) -> bool:
    """Whether a float in `value` is NaN or infinite (orjson writes them as `null`). Runs for
    every record whose text holds `null`, so plain dicts, lists and scalars are told apart by
    their exact type, and anything else is left to `_non_finite`."""
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return _find(_non_finite, value) is not None
    for item in items:
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool:
            continue
        if kind is float:
            if item - item:  # NaN for NaN and for ±infinity, 0.0 otherwise
                return True
        elif _has_non_finite(item):
            return True
    return False


# -- walks of a value, each returning the path of the first offending place, or None -------------


def _children(value: object, path: str) -> Iterable[tuple[object, str]]:
    if isinstance(value, Mapping):
        return ((item, f"{path}.{key}") for key, item in value.items())
    if isinstance(value, list | tuple):
        return ((item, f"{path}[{index}]") for index, item in enumerate(value))
    if isinstance(value, Enum):
        return ((value.value, path),)
    return ()


def _non_finite(value: object, path: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, str | int):
        return None
    return next((p for item, at in _children(value, path) if (p := _non_finite(item, at))), None)


def _nul(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, str) and "\x00" in key:
                return f"{path} (a key)"
    return next((p for item, at in _children(value, path) if (p := _nul(item, at))), None)


def _big_int(value: object, path: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None if _MIN_INT <= value <= _MAX_INT else path
    return next((p for item, at in _children(value, path) if (p := _big_int(item, at))), None)


def _not_str_key(value: object, path: str) -> str | None:
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                return f"{path} (key {key!r})"
    return next((p for item, at in _children(value, path) if (p := _not_str_key(item, at))), None)


def _lone_surrogate(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return None if _valid_unicode(value) else path
    if isinstance(value, Mapping):
        for key in value:
            if isinstance(key, str) and not _valid_unicode(key):
                return f"{path} (a key)"
    return next(
        (p for item, at in _children(value, path) if (p := _lone_surrogate(item, at))), None
    )


def _unsupported(value: object, path: str) -> str | None:
    if not isinstance(value, _JSON_TYPES):
        return f"{path} ({type(value).__name__})"
    return next((p for item, at in _children(value, path) if (p := _unsupported(item, at))), None)


_JSON_TYPES = (str, int, float, type(None), Mapping, list, tuple, uuid.UUID, Enum)


def _valid_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
