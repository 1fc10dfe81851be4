"""The embedded default's key file: created private and atomically, refused when exposed."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runtime.vault import VaultConfigError, load_or_create_key_file, parse_keyring
from runtime.vault import _keyring as keyring_module
from tests.runtime.vault.keys import assert_no_key_material, key_text

A, B = key_text("a"), key_text("b")


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def write_key_file(path: Path, content: str, mode: int) -> None:
    path.write_text(content)
    path.chmod(mode)


def test_load_or_create_key_file_absent_creates_private_file_with_one_key(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "secret.key"

    setting = load_or_create_key_file(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"{setting}\n"
    assert len(parse_keyring(setting).key_ids) == 1
    assert sorted(tmp_path.iterdir()) == [path]


def test_load_or_create_key_file_existing_returns_same_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"

    assert load_or_create_key_file(path) == load_or_create_key_file(path)


def test_load_or_create_key_file_existing_keyring_is_read_as_is(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    write_key_file(path, f"new:{A},old:{B}\n", 0o600)

    setting = load_or_create_key_file(path)

    assert setting == f"new:{A},old:{B}"
    assert parse_keyring(setting).key_ids == ("new", "old")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o660, 0o602])
def test_load_or_create_key_file_exposed_mode_is_refused_with_fix(
    tmp_path: Path, mode: int
) -> None:
    path = tmp_path / "secret.key"
    write_key_file(path, f"{A}\n", mode)

    with pytest.raises(VaultConfigError) as caught:
        load_or_create_key_file(path)

    message = str(caught.value)
    assert message.startswith(
        f"key file {path} is readable or writable by group or others (mode {mode:04o});"
        f" run `chmod 600 {path}`"
    )
    assert_no_key_material(message, A)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_load_or_create_key_file_owner_only_mode_is_accepted(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    write_key_file(path, f"{A}\n", mode)

    assert load_or_create_key_file(path) == A


def test_load_or_create_key_file_malformed_content_names_file_not_key(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    short = key_text("short", length=24)
    write_key_file(path, f"{short}\n", 0o600)

    with pytest.raises(VaultConfigError) as caught:
        load_or_create_key_file(path)

    assert str(caught.value) == f"key file {path}: the key is 24 bytes, expected 32"
    assert_no_key_material(str(caught.value), short)


def test_load_or_create_key_file_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    write_key_file(path, "", 0o600)

    with pytest.raises(VaultConfigError, match=rf"^key file {path} is empty"):
        load_or_create_key_file(path)


def test_load_or_create_key_file_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.mkdir(mode=0o700)

    with pytest.raises(VaultConfigError, match="not a regular file"):
        load_or_create_key_file(path)


def test_load_or_create_key_file_missing_directory_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "secret.key"

    with pytest.raises(VaultConfigError, match=r"cannot create it \(No such file or directory\)"):
        load_or_create_key_file(path)


def test_load_or_create_key_file_loser_of_race_reads_winner_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.key"
    winner = f"winner:{A}"

    def generate_while_another_creates() -> str:
        write_key_file(path, f"{winner}\n", 0o600)
        return B

    monkeypatch.setattr(keyring_module, "generate_key", generate_while_another_creates)

    assert load_or_create_key_file(path) == winner
    assert path.read_text() == f"{winner}\n"
    assert sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("round_", range(10))
def test_load_or_create_key_file_concurrent_creators_get_one_key(
    tmp_path: Path, round_: int
) -> None:
    path = tmp_path / f"secret-{round_}.key"
    creators = 8
    start = threading.Barrier(creators)

    def create() -> str:
        start.wait()
        return load_or_create_key_file(path)

    with ThreadPoolExecutor(max_workers=creators) as pool:
        settings = list(pool.map(lambda _: create(), range(creators)))

    assert len(set(settings)) == 1
    assert path.read_text() == f"{settings[0]}\n"
    assert sorted(tmp_path.iterdir()) == [path]
