"""The `integration-hub` command, run as a user would: a real process, real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from runtime.testing import wait_for

URL_LINE = re.compile(r"running at (http://127\.0\.0\.1:\d+/)")


@pytest.fixture
def hub_process(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "run", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()


async def test_cli_run_serves_healthz_and_stops_cleanly_on_sigterm(
    hub_process: subprocess.Popen[str],
) -> None:
    assert hub_process.stdout is not None
    line = hub_process.stdout.readline()
    match = URL_LINE.search(line)
    assert match, f"no URL in the first line of output: {line!r}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(match.group(1) + "healthz") as response,
    ):
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
    hub_process.send_signal(signal.SIGTERM)
    await wait_for(lambda: hub_process.poll() is not None, timeout=20, what="the hub to exit")
    assert hub_process.returncode == 0


def test_cli_rejects_a_bad_setting_with_exit_code_2_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "HUB_PORT": "99999", "HUB_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "HUB_PORT" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_cli_without_a_command_prints_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "usage: integration-hub" in result.stderr
