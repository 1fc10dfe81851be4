"""Deterministic test keys, and a check that a message quotes no part of a key."""

from __future__ import annotations

import base64
import hashlib

from runtime.vault import Keyring, parse_keyring


def key_bytes(label: str, length: int = 32) -> bytes:
    return (hashlib.sha256(label.encode()).digest() * 2)[:length]


def key_text(label: str, length: int = 32) -> str:
    return base64.b64encode(key_bytes(label, length)).decode("ascii")


def keyring(*key_ids: str) -> Keyring:
    """A keyring of the named keys, the first primary; key `x` is always the same bytes."""
    return parse_keyring(",".join(f"{key_id}:{key_text(key_id)}" for key_id in key_ids))


def assert_no_key_material(text: str, *keys: str, window: int = 6) -> None:
    """No run of `window` characters of any key (as written) appears in `text`."""
    for key in keys:
        for start in range(len(key) - window + 1):
            part = key[start : start + window]
            assert part not in text, f"{text!r} quotes key material {part!r}"
