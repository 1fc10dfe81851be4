"""PostgreSQL for tests: the machine's server (a fresh database per use) or a cluster of our own.

- `fresh_database()`: a new, empty database on the server the machine runs (127.0.0.1:5432,
  trust auth, user `postgres`; `HUB_TEST_POSTGRES_URL` names another admin URL), dropped
  afterwards (~0.3 s).
- `shared_database()` + `fresh_schema()`: one database for the whole session and a new schema
  in it per test (the URL sets `search_path`), dropped afterwards (~5 ms instead of ~0.3 s).
- `own_cluster()`: an `initdb`-made cluster on a free port in a temp dir, for tests that stop,
  kill or restart the server. `initdb` and `pg_ctl` refuse to run as root, so as root they run
  through `runuser -u postgres`.

A test whose PostgreSQL is missing skips with the install hint, unless `HUB_REQUIRE_PEERS=1`
(as in CI): then it fails, so a missing peer cannot pass silently.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import anyio
import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

INSTALL_HINT = (
    "PostgreSQL is not reachable. Install and start it: `apt-get install -y postgresql` and "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    "(or set HUB_TEST_POSTGRES_URL to an admin URL)"
)

_CONNECT_TIMEOUT = 5.0

_server_checked: dict[str, str | None] = {}


def missing_peer(reason: str) -> NoReturn:
    """Skip the test, or fail it when peers are required (`HUB_REQUIRE_PEERS=1`)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def admin_url() -> str:
    return os.environ.get("HUB_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def database_url(base: str, database: str) -> str:
    """`base` with its database name replaced."""
    root, _, _ = base.rpartition("/")
    return f"{root}/{database}"


async def _check_server(url: str) -> str | None:
    """None if the server answers, else why not (remembered for the session)."""
    if url not in _server_checked:
        try:
            connection = await asyncpg.connect(url, timeout=_CONNECT_TIMEOUT)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            _server_checked[url] = f"{INSTALL_HINT}: {type(error).__name__}: {error}"
        else:
            await connection.close()
            _server_checked[url] = None
    return _server_checked[url]


@asynccontextmanager
async def fresh_database(prefix: str = "hub_test") -> AsyncIterator[str]:
    """The URL of a new empty database on the machine's server; dropped on exit."""
    url = admin_url()
    problem = await _check_server(url)
    if problem is not None:
        missing_peer(problem)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(url, f'CREATE DATABASE "{name}"')
    try:
        yield database_url(url, name)
    finally:
        await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=_CONNECT_TIMEOUT)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


class SharedDatabase:
    """One database for a whole test session, made when first asked for, dropped at the end."""

    def __init__(self, prefix: str) -> None:
        self._name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._url: str | None = None

    async def url(self) -> str:
        if self._url is None:
            admin = admin_url()
            problem = await _check_server(admin)
            if problem is not None:
                missing_peer(problem)
            await _admin(admin, f'CREATE DATABASE "{self._name}"')
            self._url = database_url(admin, self._name)
        return self._url

    def drop(self) -> None:
        """Drop it, if it was made; synchronous, for a session fixture's teardown."""
        if self._url is not None:
            statement = f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(asyncio.run, _admin(admin_url(), statement)).result()
            self._url = None


@contextmanager
def shared_database(prefix: str = "hub_test") -> Iterator[SharedDatabase]:
    database = SharedDatabase(prefix)
    try:
        yield database
    finally:
        database.drop()


@asynccontextmanager
async def fresh_schema(database: SharedDatabase) -> AsyncIterator[str]:
    """A URL whose connections work in a new, empty schema of `database`; dropped on exit."""
    base = await database.url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    await _admin(base, f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?search_path={schema}"
    finally:
        await _admin(base, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class Cluster:
    """A PostgreSQL server of the test's own; `stop()`/`start()` to simulate an outage."""

    bin_dir: Path
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def _pg(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        await anyio.run_process(command)

    async def init(self) -> None:
        await self._pg("initdb", "-D", str(self.directory), "-U", "postgres", "-A", "trust",
                       "--no-sync", "--no-instructions")  # fmt: skip

    async def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        log = str(self.directory / "server.log")
        await self._pg("pg_ctl", "-w", "-D", str(self.directory), "-o", options, "-l", log, "start")

    async def stop(self, mode: str = "fast") -> None:
        await self._pg("pg_ctl", "-w", "-D", str(self.directory), "-m", mode, "stop")

    def running(self) -> bool:
        return (self.directory / "postmaster.pid").exists()


def _owned_temp_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="hub-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    return directory


@asynccontextmanager
async def own_cluster() -> AsyncIterator[Cluster]:
    """A fresh, started cluster; stopped and deleted on exit."""
    bin_dir = _bin_dir()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        missing_peer(f"{INSTALL_HINT} (initdb/pg_ctl not found)")
    cluster = Cluster(bin_dir, await anyio.to_thread.run_sync(_owned_temp_dir), free_port())
    try:
        await cluster.init()
        await cluster.start()
        yield cluster
    finally:
        with anyio.CancelScope(shield=True):
            if cluster.running():
                await cluster.stop("immediate")
            await anyio.to_thread.run_sync(shutil.rmtree, cluster.directory, True)


def closed_port_url(database: str = "postgres") -> str:
    """A URL no server listens on (a port just found free)."""
    return f"postgresql://postgres@127.0.0.1:{free_port()}/{database}"
