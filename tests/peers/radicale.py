"""Radicale, a real CalDAV server, of the tests' own: free port, temp storage, plain htpasswd.

`running_radicale()` starts `python -m radicale --config CFG` (the interpreter running the
tests, so the venv's Radicale) on 127.0.0.1 and a free port, with its collections in a temp
dir and users in a plain-text htpasswd file that Radicale reads on each login, so
`add_user()` works while it runs (one user per test keeps tests apart on one server). It is
ready in ~0.3 s: `start()` returns once it answers HTTP, and it is stopped (SIGTERM, then
SIGKILL) and its directory removed on exit.

Radicale missing skips the test with the install hint, unless `HUB_REQUIRE_PEERS=1` (CI),
where a missing peer must fail rather than pass silently.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, NoReturn

import pytest

INSTALL_HINT = "Radicale is not installed: pip install radicale (or pip install -e '.[test]')"
_POLL_INTERVAL = 0.01


def missing_peer(reason: str) -> NoReturn:
    """Skip the test for a missing peer, or fail it where peers are required (CI)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_CONFIG = """\
[server]
hosts = 127.0.0.1:{port}
delay_on_error = 0

[auth]
type = htpasswd
htpasswd_filename = {users}
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {storage}

[web]
type = none

[logging]
level = warning
"""


class RadicaleServer:
    """One Radicale process; `url` is its root, users are added with `add_user`."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.users_file = directory / "users"
        self.config_file = directory / "radicale.conf"
        self.log_path = directory / "radicale.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def add_user(self, name: str, password: str) -> None:
        """Radicale reads the file at each login: the user can log in at once."""
        if ":" in name or "\n" in name + password:
            raise ValueError("htpasswd user names hold no ':' and neither holds a newline")
        with self.users_file.open("a", encoding="utf-8") as users:
            users.write(f"{name}:{password}\n")

    def start(self, *, timeout: float = 20.0) -> None:
        """Start the server; returns once it answers HTTP (any status)."""
        if self.running:
            raise RuntimeError("Radicale is already running")
        self.users_file.touch()
        self.config_file.write_text(
            _CONFIG.format(
                port=self.port, users=self.users_file, storage=self.directory / "collections"
            ),
            encoding="utf-8",
        )
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if not self.running:
                self.stop()
                raise RuntimeError(f"Radicale exited early:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"Radicale not ready within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(_POLL_INTERVAL)  # a readiness poll, not synchronisation of a test

    def stop(self, *, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1.0):
                return True
        except urllib.error.HTTPError:
            return True  # 401/403/404: it is up and answering
        except (urllib.error.URLError, OSError):
            return False


def radicale_installed() -> bool:
    return importlib.util.find_spec("radicale") is not None


@contextmanager
def running_radicale() -> Iterator[RadicaleServer]:
    """A fresh Radicale on a free port with temp storage; stopped and removed on exit."""
    if not radicale_installed():
        missing_peer(INSTALL_HINT)
    directory = Path(tempfile.mkdtemp(prefix="hub-radicale-"))
    server = RadicaleServer(directory, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        with suppress(OSError):
            shutil.rmtree(directory)
