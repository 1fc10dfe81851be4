"""A credential as it is stored: which key sealed it, the nonce, the ciphertext (with GCM tag)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SealedValue:
    key_id: str
    nonce: bytes  # 12 bytes, random per value
    ciphertext: bytes  # AES-256-GCM output: encrypted bytes followed by the 16-byte tag

    def __repr__(self) -> str:
        return f"SealedValue(key_id={self.key_id!r}, <{len(self.ciphertext)} bytes>)"
