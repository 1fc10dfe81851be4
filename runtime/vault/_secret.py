"""A wrapper that keeps a secret out of reprs, log lines and exception text.

Plaintext credentials and key material travel inside `Secret`; getting the value out takes an
explicit, greppable `reveal()`. Our own class rather than pydantic's `SecretStr`: the vault core
stays free of pydantic, one type serves both text (credentials) and bytes (keys), and equality
is constant-time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", str, bytes)

REDACTED = "**********"


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class Secret(Generic[T]):
    _value: T

    def reveal(self) -> T:
        """The secret itself: hand it only to what must use it (a cipher, an HTTP header)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        same_type = type(self._value) is type(other._value)
        return same_type and hmac.compare_digest(_as_bytes(self._value), _as_bytes(other._value))

    def __hash__(self) -> int:
        raise TypeError("Secret is unhashable: a hash of a secret is a fingerprint of it")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value
