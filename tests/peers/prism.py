"""Prism (npm `@stoplight/prism-cli`): a mock server made from an OpenAPI description that
also validates every request it gets, for tests that prove our requests match a real API.

Installed from `tests/peers/package.json` + `package-lock.json` with
`npm ci --prefix tests/peers`; started as `node_modules/.bin/prism mock -h 127.0.0.1 -p PORT
-d --seed 42 SPEC` directly (through `npx`, killing it would orphan node). Ready in ~2-5 s.
Answers carry schema-valid random data (`--seed` makes it repeatable; `Prefer: dynamic=false`
asks for the spec's examples instead); a request that breaks the spec gets 400 (401 without
the required credentials, 406 for a wrong `Accept`) and, like every answer whose request or
response broke the spec, an `sl-violations` header whose entries say where (`request` or
`response`: Prism's own random data does not always satisfy the spec it comes from).

Missing Node.js or an uninstalled `node_modules` skips the test with the install hint, unless
`HUB_REQUIRE_PEERS=1` (CI), where a missing peer must fail rather than pass silently.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, NoReturn

import pytest

PEERS = Path(__file__).resolve().parent
PRISM = PEERS / "node_modules" / ".bin" / "prism"
INSTALL_HINT = "Prism is not installed: npm ci --prefix tests/peers (needs Node.js 18+ and npm)"
_READY_TIMEOUT = 60.0  # a busy 2-core CI machine: Prism parses a 1.4 MB description first


def missing_peer(reason: str) -> NoReturn:
    """Skip the test, or fail it when peers are required (`HUB_REQUIRE_PEERS=1`)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def prism_command() -> list[str]:
    """How to start Prism here, or `missing_peer` with the install hint."""
    if shutil.which("node") is None:
        missing_peer(f"Node.js is not installed; {INSTALL_HINT}")
    if not os.access(PRISM, os.X_OK):
        missing_peer(INSTALL_HINT)
    return [str(PRISM)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_prism(spec: Path, *, seed: int = 42) -> Iterator[str]:
    """Prism mocking `spec` on a free loopback port; yields its base URL, stops it after."""
    if not spec.is_file():
        missing_peer(f"the OpenAPI description {spec} is missing")
    command = prism_command()
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                *command,
                "mock",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-d",
                "--seed",
                str(seed),
                str(spec),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SCARF_ANALYTICS": "false", "NO_COLOR": "1"},
        )
        try:
            _wait_ready(process, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prism exited early ({process.returncode}):\n{_tail(log)}")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"prism did not listen within {_READY_TIMEOUT:g} s:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _tail(log: IO[bytes], lines: int = 20) -> str:
    log.seek(0)
    text = log.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def violations(headers: Mapping[str, str]) -> list[dict[str, object]]:
    """The entries of a response's `sl-violations` header (none: an empty list)."""
    raw = headers.get("sl-violations")
    if not raw:
        return []
    found = json.loads(raw)
    assert isinstance(found, list)
    return found


def request_violations(headers: Mapping[str, str]) -> list[dict[str, object]]:
    """Only what Prism found wrong with our request (not with its own random answer)."""
    return [v for v in violations(headers) if _where(v) == "request"]


def _where(violation: Mapping[str, object]) -> object:
    location = violation.get("location")
    return location[0] if isinstance(location, list) and location else None
