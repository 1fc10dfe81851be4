"""Checks and conversions of single values at the store's edge, shared by both backends.

Both backends must refuse the same inputs with the same error, or code tested on SQLite would
fail in production on PostgreSQL: text with NUL (PostgreSQL's text cannot hold it) and naive
datetimes (whose meaning depends on the machine) are refused here, before either driver sees
them. Also here: SQLite's fixed-width time text and the opaque page cursors.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

from runtime._json import load_json as load_text
from runtime.store._errors import InvalidValue
from runtime.store._hashing import canonical_json
from runtime.store._model import JsonObject


def text(value: str, what: str) -> str:
    if "\x00" in value:
        raise InvalidValue(f"{what}: text must not contain NUL (\\x00)")
    return value


def optional_text(value: str | None, what: str) -> str | None:
    return None if value is None else text(value, what)


def utc(value: datetime, what: str = "time") -> datetime:
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(f"{what}: a timezone-aware datetime is required, got {value!r}")
    return value.astimezone(UTC)


def iso(value: datetime, what: str = "time") -> str:
    """Fixed-width UTC text, so that SQLite's text order is time order."""
    return utc(value, what).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def optional_from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def json_text(value: JsonObject, what: str) -> str:
    return canonical_json(value, what)


def load_json(value: str) -> JsonObject:
    return cast(JsonObject, load_text(value))


def headers_json(headers: Mapping[str, str]) -> str:
    return canonical_json(headers, "webhook headers")


def load_headers(value: str | None) -> Mapping[str, str] | None:
    return None if value is None else cast(Mapping[str, str], json.loads(value))


def limit(value: int) -> int:
    if value < 1:
        raise InvalidValue(f"limit must be at least 1, got {value}")
    return value


def encode_cursor(kind: str, key: str | int) -> str:
    """An opaque cursor: which listing it belongs to and the last key of the page."""
    raw = json.dumps([kind, key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> str | int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        found_kind, key = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidValue(f"not a valid cursor: {cursor!r}") from error
    if found_kind != kind or not isinstance(key, str | int):
        raise InvalidValue(f"not a cursor of {kind}: {cursor!r}")
    return key


def str_cursor(cursor: str | None, kind: str) -> str | None:
    if cursor is None:
        return None
    key = decode_cursor(cursor, kind)
    if not isinstance(key, str):
        raise InvalidValue(f"not a cursor of {kind}: {cursor!r}")
    return key


def int_cursor(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    key = decode_cursor(cursor, kind)
    if not isinstance(key, int) or isinstance(key, bool):
        raise InvalidValue(f"not a cursor of {kind}: {cursor!r}")
    return key
