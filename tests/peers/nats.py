"""A NATS server (with JetStream) of the test's own, for tests that kill, restart or inspect it.

The machine's shared server on 127.0.0.1:4222 is fine for a smoke test, but a test that reads
the stream back, or takes the server down, needs one nobody else publishes to. nats-server is
ready in ~25 ms, so each such test starts its own on a free port with a store directory of its
own; `kill()` (SIGKILL, the worst case) and `start()` again on the same port and store dir
simulate an outage with the stored messages surviving.

A missing binary skips the test with the install hint, unless `HUB_REQUIRE_PEERS=1` (CI), where
a missing peer must fail rather than pass silently.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import IO, NoReturn

import anyio
import pytest
from anyio.abc import Process

_INSTALL_HINT = "nats-server not installed: apt-get install nats-server"
_FALLBACK_BINARY = "/usr/sbin/nats-server"
_POLL_INTERVAL = 0.005


def missing_peer(reason: str) -> NoReturn:
    """Skip the test for a missing peer, or fail it where peers are required (CI)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def nats_server_binary() -> str:
    """The nats-server executable, or `missing_peer` with the install hint."""
    found = shutil.which("nats-server")
    if found is None and os.access(_FALLBACK_BINARY, os.X_OK):
        found = _FALLBACK_BINARY
    if found is None:
        missing_peer(_INSTALL_HINT)
    return found


async def machine_nats_url(host: str = "127.0.0.1", port: int = 4222) -> str:
    """The machine's shared NATS (started on every machine of this kind, CI included)."""
    try:
        stream = await anyio.connect_tcp(host, port)
    except OSError:
        missing_peer(
            f"no NATS on {host}:{port}: start-stop-daemon --start --oknodo --background "
            "--exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server"
        )
    await stream.aclose()
    return f"nats://{host}:{port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NatsServer:
    """One nats-server process on a fixed port and store dir; can be killed and started again."""

    def __init__(self, binary: str, directory: Path, port: int) -> None:
        self.binary = binary
        self.directory = directory
        self.port = port
        self.store_dir = directory / "store"
        self.log_path = directory / "nats-server.log"
        self._process: Process | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self, *, timeout: float = 10.0) -> None:
        """Start the server and return once it accepts TCP connections."""
        if self.running:
            raise RuntimeError("nats-server is already running")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        command = [self.binary, "-a", "127.0.0.1", "-p", str(self.port)]
        self._process = await anyio.open_process(
            [*command, "-js", "-sd", str(self.store_dir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            with anyio.fail_after(timeout):
                while not await self._accepts_connections():
                    if not self.running:
                        raise RuntimeError(f"nats-server exited early:\n{self.log_tail()}")
                    await anyio.sleep(_POLL_INTERVAL)
        except BaseException:
            await self.kill()
            raise

    async def kill(self) -> None:
        """SIGKILL: nothing is flushed or said goodbye to, as in a crash."""
        await self._end(signal.SIGKILL, timeout=10.0)

    async def stop(self, *, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
        try:
            await self._end(signal.SIGTERM, timeout=timeout)
        except TimeoutError:
            await self.kill()

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing is answered (a hung server, lost acks)."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _signal(self, sig: signal.Signals) -> None:
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError("nats-server is not running")
        self._process.send_signal(sig)

    async def _end(self, sig: signal.Signals, *, timeout: float) -> None:
        process = self._process
        if process is not None:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
                    process.send_signal(sig)
                with anyio.fail_after(timeout):
                    await process.wait()
            await process.aclose()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    async def _accepts_connections(self) -> bool:
        try:
            stream = await anyio.connect_tcp("127.0.0.1", self.port)
        except OSError:
            return False
        await stream.aclose()
        return True


@asynccontextmanager
async def running_nats_server(directory: Path) -> AsyncIterator[NatsServer]:
    """A fresh nats-server with JetStream on a free port, stopped (or killed) on exit."""
    server = NatsServer(nats_server_binary(), directory, free_port())
    await server.start()
    try:
        yield server
    finally:
        with anyio.CancelScope(shield=True):
            await server.stop()
