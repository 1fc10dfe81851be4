"""Sealing and opening credentials: AES-256-GCM under the keyring.

Each value gets a random 96-bit nonce and is sealed under the primary key, whose id is stored
beside it. The associated data binds the ciphertext to its integration and field, so a value
copied to another integration's row, or to another field, does not authenticate. It is a
canonical encoding: a fixed context label, then each part as a 4-byte big-endian length and
its UTF-8 bytes, so no two (integration, field) pairs share one (`"a|b", "c"` vs `"a", "b|c"`).

`cryptography`'s exceptions stop here: a failed tag check becomes `DecryptionFailed`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.vault._errors import DecryptionFailed, MissingKey
from runtime.vault._keyring import Keyring
from runtime.vault._sealed import SealedValue
from runtime.vault._secret import Secret

NONCE_BYTES = 12
AAD_CONTEXT = b"integration-hub/credential/v1"


class Vault:
    """Seals with the keyring's primary key; opens with whichever key a value names."""

    __slots__ = ("_ciphers", "_keyring")

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._ciphers = {key_id: AESGCM(key.reveal()) for key_id, key in keyring.keys.items()}

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    def seal(self, integration_id: str, field: str, plaintext: Secret[str] | str) -> SealedValue:
        text = plaintext.reveal() if isinstance(plaintext, Secret) else plaintext
        nonce = os.urandom(NONCE_BYTES)
        primary = self._keyring.primary_id
        ciphertext = self._ciphers[primary].encrypt(
            nonce, text.encode("utf-8"), associated_data(integration_id, field)
        )
        return SealedValue(key_id=primary, nonce=nonce, ciphertext=ciphertext)

    def open(self, integration_id: str, field: str, sealed: SealedValue) -> Secret[str]:
        cipher = self._ciphers.get(sealed.key_id)
        if cipher is None:
            raise MissingKey(sealed.key_id)
        text = _decrypt(cipher, sealed, associated_data(integration_id, field))
        if text is None:
            raise DecryptionFailed(integration_id, field, sealed.key_id)
        return Secret(text)

    def check(self, sealed_values: Iterable[SealedValue]) -> list[str]:
        """The key ids that stored values name but the keyring lacks, sorted; [] if none."""
        return sorted({sealed.key_id for sealed in sealed_values} - set(self._ciphers))

    def needs_rotation(self, sealed: SealedValue) -> bool:
        return sealed.key_id != self._keyring.primary_id

    def reseal(self, integration_id: str, field: str, sealed: SealedValue) -> SealedValue:
        """The same plaintext sealed afresh under the primary key (new nonce)."""
        return self.seal(integration_id, field, self.open(integration_id, field, sealed))

    def __repr__(self) -> str:
        keyring = self._keyring
        return f"Vault(primary_id={keyring.primary_id!r}, key_ids={keyring.key_ids!r})"


def associated_data(integration_id: str, field: str) -> bytes:
    """The canonical AAD of a credential: context label, then length-prefixed UTF-8 parts."""
    parts = [AAD_CONTEXT, integration_id.encode("utf-8"), field.encode("utf-8")]
    return b"".join(struct.pack(">I", len(part)) + part for part in parts)


def _decrypt(cipher: AESGCM, sealed: SealedValue, aad: bytes) -> str | None:
    """The plaintext, or None if `sealed` does not authenticate under `cipher` and `aad`."""
    if len(sealed.nonce) != NONCE_BYTES:
        return None
    try:
        return cipher.decrypt(sealed.nonce, sealed.ciphertext, aad).decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        return None
