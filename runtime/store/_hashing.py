"""Canonical JSON and the content hash of a record, the same bytes for every backend.

The hash decides whether a re-synced record changed, so it must not depend on the backend or
on key order: it is the SHA-256 of the canonical JSON text (sorted keys, no spaces, UTF-8),
computed here in Python rather than by either database. The same text is what gets stored.

JSON that one backend could hold and the other could not is refused here, with the field
named: PostgreSQL's JSONB has no `\\u0000`, and neither database takes lone surrogates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from runtime.store._errors import InvalidValue


def _mapping_as_dict(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


encode_json = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_mapping_as_dict,
).encode


def canonical_json(value: Mapping[str, object], what: str) -> str:
    """The canonical text of a JSON object, or `InvalidValue` naming `what`."""
    text, _ = _checked(value, what)
    return text


def record_json_and_hash(value: Mapping[str, object], what: str) -> tuple[str, str]:
    """(canonical JSON text, hex SHA-256 of its UTF-8 bytes)."""
    text, raw = _checked(value, what)
    return text, hashlib.sha256(raw).hexdigest()


def _checked(value: Mapping[str, object], what: str) -> tuple[str, bytes]:
    try:
        text = encode_json(value)
        raw = text.encode("utf-8")
    except (TypeError, ValueError) as error:  # UnicodeEncodeError is a ValueError
        raise InvalidValue(f"{what}: not storable as JSON: {error}") from error
    if not text.startswith("{"):
        raise InvalidValue(f"{what}: a JSON object is required, got {type(value).__name__}")
    if "\\u0000" in text and not json_without_nul(value):
        raise InvalidValue(f"{what}: JSON text must not contain NUL (\\u0000)")
    return text, raw


def json_without_nul(value: object) -> bool:
    """Whether no string in `value` holds a NUL (its JSON text may still spell `\\u0000`)."""
    return not _has_nul(value)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False
