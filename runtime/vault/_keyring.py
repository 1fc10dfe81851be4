"""The keyring: which keys exist, which one seals; parsing `HUB_SECRET_KEY`; the key file.

One key (the primary) seals new values and every listed key opens old ones, so rotating is:
put a new key in front (`new:…,old:…`), restart, run the rotation, then drop the old key.

The setting takes one of two forms, and the key file holds the same text:

    BASE64                      one 32-byte key; its id is derived from it (`key_id_for`)
    kid1:BASE64,kid2:BASE64     a keyring; the first key is the primary

Base64 may be standard or urlsafe, padded or not. The caller passes the setting in (no module
reads `os.environ`), and no error message ever quotes key material or any part of it: they
name the setting, the entry's position and the key id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from runtime.vault._errors import VaultConfigError
from runtime.vault._secret import Secret

KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
SETTING = "HUB_SECRET_KEY"
_ID_RULE = "1-32 characters of A-Z, a-z, 0-9, '_' or '-'"


@dataclass(frozen=True, slots=True)
class Keyring:
    """Keys by id, in the order given; `primary_id` names the one that seals."""

    primary_id: str
    keys: Mapping[str, Secret[bytes]] = field(hash=False)

    def __post_init__(self) -> None:
        keys = MappingProxyType(dict(self.keys))
        if self.primary_id not in keys:
            raise VaultConfigError(f"keyring: primary key {self.primary_id!r} is not in it")
        for key_id, key in keys.items():
            _check_id(key_id, where="keyring")
            _check_length(len(key.reveal()), what=f"keyring: key {key_id!r}")
        object.__setattr__(self, "keys", keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self.keys)


def parse_keyring(setting: str, *, source: str = SETTING) -> Keyring:
    """The keyring described by `setting`; `source` names it in errors (setting or file)."""
    text = setting.strip()
    if not text:
        raise VaultConfigError(f"{source} is empty: give a base64 32-byte key or kid:BASE64,...")
    if ":" not in text:
        key = _decode(text, what=f"{source}: the key")
        key_id = key_id_for(key)
        return Keyring(key_id, {key_id: Secret(key)})
    keys: dict[str, Secret[bytes]] = {}
    for position, entry in enumerate(text.split(","), start=1):
        key_id, key = _parse_entry(entry, source=source, position=position)
        if key_id in keys:
            raise VaultConfigError(f"{source}: key id {key_id!r} appears more than once")
        keys[key_id] = Secret(key)
    return Keyring(next(iter(keys)), keys)


def key_id_for(key: bytes) -> str:
    """The id of a key given without one: 8 hex digits of its SHA-256, never the key itself."""
    return hashlib.sha256(key).hexdigest()[:8]


def generate_key() -> str:
    """A fresh key in the setting's form: urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def load_or_create_key_file(path: Path) -> str:
    """The key setting kept in `path`, creating it (mode 0600, one new key) if it is absent."""
    return load_or_create_private_file(
        path,
        generate_key,
        what="key file",
        check=lambda setting: parse_keyring(setting, source=f"key file {path}"),
    )


def load_or_create_private_file(
    path: Path,
    generate: Callable[[], str],
    *,
    what: str,
    check: Callable[[str], object] = lambda _: None,
) -> str:
    """The ASCII secret kept in `path` (stripped), creating it with `generate()` (mode 0600)
    if it is absent; `check` validates what was read. A file readable by others is refused.

    Creation is atomic: the value is written and synced to a private temporary file that is
    then hard-linked to `path`, which fails if `path` exists. So `path` never holds a partial
    value, and of concurrent creators exactly one wins; the others read the winner's value.
    """
    try:
        return _read_private_file(path, what, check)
    except FileNotFoundError:
        pass
    _create_private_file(path, generate(), what)
    return _read_private_file(path, what, check)


def _parse_entry(entry: str, *, source: str, position: int) -> tuple[str, bytes]:
    raw_id, colon, raw_key = entry.partition(":")
    if not colon:
        what = "is empty" if not entry.strip() else "is not in the form id:BASE64"
        raise VaultConfigError(f"{source}: entry {position} {what}")
    key_id = raw_id.strip()
    _check_id(key_id, where=f"{source}: entry {position}")
    if not raw_key.strip():
        raise VaultConfigError(f"{source}: key {key_id!r} is empty")
    return key_id, _decode(raw_key.strip(), what=f"{source}: key {key_id!r}")


def _check_id(key_id: str, *, where: str) -> None:
    if KEY_ID_PATTERN.fullmatch(key_id) is None:
        raise VaultConfigError(f"{where}: the key id must be {_ID_RULE}")


def _decode(text: str, *, what: str) -> bytes:
    standard = text.replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except binascii.Error:
        raise VaultConfigError(f"{what} is not valid base64") from None
    _check_length(len(key), what=what)
    return key


def _check_length(length: int, *, what: str) -> None:
    if length != KEY_BYTES:
        raise VaultConfigError(f"{what} is {length} bytes, expected {KEY_BYTES}")


def _read_private_file(path: Path, what: str, check: Callable[[str], object]) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise VaultConfigError(f"{what} {path}: cannot read it ({error.strerror})") from None
    try:
        _check_private(path, os.fstat(fd).st_mode, what)
        content = _read_all(fd)
    finally:
        os.close(fd)
    try:
        setting = content.decode("ascii")
    except UnicodeDecodeError:
        raise VaultConfigError(f"{what} {path}: it holds non-ASCII bytes") from None
    check(setting)
    return setting.strip()


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def _check_private(path: Path, mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        raise VaultConfigError(f"{what} {path}: not a regular file")
    if mode & 0o077:
        raise VaultConfigError(
            f"{what} {path} is readable or writable by group or others"
            f" (mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}` and, if anyone else"
            " may have read it, treat the secret in it as exposed and replace it"
        )


def _create_private_file(path: Path, setting: str, what: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise VaultConfigError(f"{what} {path}: cannot create it ({error.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(fd, 0o600)
            file.write(f"{setting}\n".encode("ascii"))
            file.flush()
            os.fsync(fd)
        _link_if_absent(temporary, path, what)
    finally:
        temporary.unlink(missing_ok=True)


def _link_if_absent(temporary: Path, path: Path, what: str) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        return
    except OSError as error:
        raise VaultConfigError(f"{what} {path}: cannot create it ({error.strerror})") from None
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
