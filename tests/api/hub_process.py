"""`integration-hub run` as a child process, for tests that kill it the way a crash would.

The process gets exactly the `HUB_*` settings the test names (none inherited from the test's
own environment), writes its output to a log file (a pipe nobody reads could fill and stall
it), and is always killed and reaped on the way out, whatever the test did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
from anyio.abc import Process

REPO_ROOT = Path(__file__).resolve().parents[2]
_REAP_TIMEOUT = 10.0


class HubProcess:
    def __init__(self, process: Process, log_path: Path) -> None:
        self._process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def check_alive(self) -> None:
        """Fail with the log's tail if the hub has exited on its own."""
        if self._process.returncode is not None:
            raise AssertionError(
                f"the hub exited with {self._process.returncode}:\n{self.log_tail()}"
            )

    async def kill(self) -> int:
        """SIGKILL, as in a crash or the OOM killer: nothing is cleaned up. The exit code."""
        with suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGKILL)
        with anyio.fail_after(_REAP_TIMEOUT):
            return await self._process.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def hub_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without its `HUB_*` variables, plus `settings`."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**inherited, **settings}


@asynccontextmanager
async def hub_process(settings: Mapping[str, str], log_path: Path) -> AsyncIterator[HubProcess]:
    """`python -m api.cli run --port 0` with `settings` (`HUB_*` variables); killed (if still
    running) and reaped on exit."""
    with log_path.open("ab") as log:
        process = await anyio.open_process(
            [sys.executable, "-m", "api.cli", "run", "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=hub_environment(settings),
            cwd=REPO_ROOT,
        )
        try:
            yield HubProcess(process, log_path)
        finally:
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    with suppress(ProcessLookupError):
                        process.kill()
                with anyio.fail_after(_REAP_TIMEOUT):
                    await process.wait()
                await process.aclose()
