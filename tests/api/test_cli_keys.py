"""`integration-hub migrate` and `keys …`, run as a user would, against real files."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

from api._services import KEY_FILE_NAME, open_services
from config import load_settings
from runtime.store import SQLITE_FILE_NAME
from runtime.vault import generate_key

DEMO = {"id": "shop", "name": "Shop", "type": "REST", "adapter": "demo"}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )


async def _create_with_credentials(env: dict[str, str], values: dict[str, str]) -> None:
    settings = load_settings(env=env)
    async with open_services(settings) as services:
        await services.integrations.create({**DEMO, "credentials": values}, origin="test")


async def _key_ids(env: dict[str, str]) -> set[str]:
    async with open_services(load_settings(env=env)) as services:
        return {c.sealed.key_id for c in await services.store.list_credentials()}


def test_cli_migrate_creates_the_embedded_database_and_key_file(tmp_path: Path) -> None:
    env = {"HUB_DATA_DIR": str(tmp_path / "data")}
    first = _cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout
    assert (tmp_path / "data" / SQLITE_FILE_NAME).is_file()
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = _cli("migrate", env=env)
    assert again.returncode == 0, again.stderr


def test_cli_keys_generate_prints_a_fresh_32_byte_key(tmp_path: Path) -> None:
    result = _cli("keys", "generate", env={"HUB_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0
    key = result.stdout.strip()
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 32
    assert key != _cli("keys", "generate", env={"HUB_DATA_DIR": str(tmp_path)}).stdout.strip()


async def test_cli_keys_rotate_reseals_everything_under_the_new_primary(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    data = {"HUB_DATA_DIR": str(tmp_path / "data")}
    await _create_with_credentials({**data, "HUB_SECRET_KEY": f"old:{old}"}, {"token": "s3cr3t"})
    both = {**data, "HUB_SECRET_KEY": f"new:{new},old:{old}"}
    result = _cli("keys", "rotate", env=both)
    assert result.returncode == 0, result.stderr
    assert "1 re-sealed" in result.stdout
    assert "s3cr3t" not in result.stdout + result.stderr
    assert await _key_ids(both) == {"new"}
    again = _cli("keys", "rotate", env=both)
    assert "0 re-sealed, 1 already current" in again.stdout
    only_new = {**data, "HUB_SECRET_KEY": f"new:{new}"}
    async with open_services(load_settings(env=only_new)) as services:
        assert (await services.integrations.credentials("shop"))["token"].reveal() == "s3cr3t"
        audit = await services.store.list_audit(limit=10)
        assert [row.action for row in audit.items][:2] == ["keys.rotate", "keys.rotate"]


async def test_cli_refuses_to_start_when_a_stored_key_is_missing(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    data = {"HUB_DATA_DIR": str(tmp_path / "data")}
    await _create_with_credentials({**data, "HUB_SECRET_KEY": f"old:{old}"}, {"token": "s3cr3t"})
    result = _cli("migrate", env={**data, "HUB_SECRET_KEY": f"new:{new}"})
    assert result.returncode == 2
    assert "'old'" in result.stderr
    assert "HUB_SECRET_KEY" in result.stderr
    assert new not in result.stderr
    assert old not in result.stderr


def test_cli_reports_a_bad_key_setting_without_echoing_it(tmp_path: Path) -> None:
    bad = base64.urlsafe_b64encode(b"x" * 24).decode()
    result = _cli("migrate", env={"HUB_DATA_DIR": str(tmp_path), "HUB_SECRET_KEY": bad})
    assert result.returncode == 2
    assert "32" in result.stderr
    assert bad not in result.stderr
