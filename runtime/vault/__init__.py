"""The credential vault: AES-256-GCM with a keyring, key files, and key rotation.

Everything another package may use is re-exported here; the `_modules` are internal.
"""

from runtime.vault._errors import (
    DecryptionFailed,
    MissingKey,
    RotationSourceError,
    VaultConfigError,
    VaultError,
)
from runtime.vault._keyring import (
    Keyring,
    generate_key,
    key_id_for,
    load_or_create_key_file,
    load_or_create_private_file,
    parse_keyring,
)
from runtime.vault._rotation import (
    Credential,
    LoadBatch,
    Position,
    RotationProgress,
    RotationResult,
    SaveBatch,
    rotate,
)
from runtime.vault._sealed import SealedValue
from runtime.vault._secret import Secret
from runtime.vault._vault import Vault, associated_data

__all__ = [
    "Credential",
    "DecryptionFailed",
    "Keyring",
    "LoadBatch",
    "MissingKey",
    "Position",
    "RotationProgress",
    "RotationResult",
    "RotationSourceError",
    "SaveBatch",
    "SealedValue",
    "Secret",
    "Vault",
    "VaultConfigError",
    "VaultError",
    "associated_data",
    "generate_key",
    "key_id_for",
    "load_or_create_key_file",
    "load_or_create_private_file",
    "parse_keyring",
    "rotate",
]
