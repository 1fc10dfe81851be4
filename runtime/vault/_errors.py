"""The vault's errors, grouped by what the caller must do about them.

VaultError                 base of everything the vault raises
├── VaultConfigError       HUB_SECRET_KEY or the key file is unusable: fix it; never retry
├── MissingKey             a value was sealed under a key id the keyring lacks: put the key back
├── DecryptionFailed       a value does not authenticate (tampered, copied to another
│                          integration or field, or a different key under the same id)
└── RotationSourceError    the store's `load_batch` broke its paging contract: fix the store

No message ever carries key material, plaintext or ciphertext: they name the setting, the key
id, the integration and the field, which is what an operator needs to act.
"""

from __future__ import annotations


class VaultError(Exception):
    """Base of the errors raised by the credential vault."""


class VaultConfigError(VaultError):
    """The master key setting or key file is malformed or unsafe; the hub must not start."""


class MissingKey(VaultError):
    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"credential sealed with key {key_id!r}, which is not in the keyring (HUB_SECRET_KEY)"
        )
        self.key_id = key_id


class DecryptionFailed(VaultError):
    def __init__(self, integration_id: str, field: str, key_id: str) -> None:
        super().__init__(
            f"credential {field!r} of integration {integration_id!r} failed to decrypt under key"
            f" {key_id!r}: it was altered, copied from another integration or field, or"
            " HUB_SECRET_KEY holds a different key under that id"
        )
        self.integration_id = integration_id
        self.field = field
        self.key_id = key_id


class RotationSourceError(VaultError):
    """`load_batch` returned too many credentials or not in order after `after`."""
