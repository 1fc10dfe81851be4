"""Inbound webhook benchmark (issue 5): verified and durably stored webhooks per second.

    python -m benchmarks.webhooks [--quick] [--profile]

The hub (`running_hub` with its web app, PostgreSQL on a fresh database of 127.0.0.1:5432,
the in-process bus) takes Standard Webhooks deliveries at `POST /webhooks/bench`: each is
verified, group-committed into `webhook_deliveries` and answered 202 only once committed.
The baseline, in the same process and run, is a bare aiohttp handler that reads the body
and checks the same HMAC, nothing else. Load: a client in a process of its own (raw
asyncio, keep-alive HTTP/1.1) keeps `CONNECTIONS` connections on loopback busy, one request
in flight on each, every request a new delivery (new id, fresh timestamp, ~250-byte JSON
body with one customer). Runs of the two sides alternate; each side's median counts.
Two phases: first with the integration's actor processing the deliveries alongside (records,
events, the relay: the hub as deployed, all on one event loop), then, once that backlog is
processed, with the actor stopped (`Hub.remove`: intake alone). Progress goes to stderr.

Figures:
- webhooks_per_s: 2xx answers per second of the hub (each one a stored delivery) against
  the bare handler's, processing alongside (goal: ratio >= 0.4).
- webhook_p99_ms: its 99th percentile latency, request sent to answer read (< 25 ms).
- webhooks_intake_per_s, webhook_intake_p99_ms: the same, intake alone (same goals).
- webhook_p50_ms, webhook_commit_batch, webhooks_processed_per_s: for information.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import hmac
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
from aiohttp import web

from actors._webhook_policy import WebhookOptions
from api._app import build_app
from api._auth import ApiAuth
from api._hub import WEBHOOK_OPTIONS, RunningHub, running_hub
from api._services import open_services
from benchmarks._report import Figure, emit, percentile, ratio_goal, value_goal
from benchmarks.sync import fresh_database, postgres_ok
from config import load_settings
from runtime.store import RunStatus
from runtime.testing import serving_locally

CONNECTIONS = 50
SECRET = "whsec_" + base64.b64encode(b"benchmark-webhook-secret-32bytes").decode()
INTEGRATION = "bench"
PATH = f"/webhooks/{INTEGRATION}"
TOKEN = "benchmark-token-0123456789"


def progress(text: str) -> None:
    print(f"[benchmarks.webhooks] {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Settings:
    rounds: int  # alternating runs of each side, processing alongside; the median counts
    intake_rounds: int  # the same with the integration's actor stopped (intake alone)
    seconds: float  # measured per run
    warmup: float  # load before each measured run, not counted


QUICK = Settings(rounds=2, intake_rounds=1, seconds=3.0, warmup=1.0)
FULL = Settings(rounds=3, intake_rounds=3, seconds=10.0, warmup=2.0)
GOAL = ratio_goal(0.4)


@dataclass(frozen=True, slots=True)
class Run:
    """One side's run as the load process measured it."""

    ok: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    answered: int  # warm-up included

    @property
    def per_s(self) -> float:
        return self.ok / self.seconds


# -- the load: a process of its own, raw asyncio, one request in flight per connection ------


def _request(host: str, port: int, n: int, prefix: str, key: bytes) -> bytes:
    body = (
        b'{"event":"customer.updated","customers":[{"id":"K-%s-%d","name":"Muster GmbH",'
        b'"city":"Berlin","email":"info@muster.example","country":"DE","vat_id":"DE123456789",'
        b'"updated_at":"2030-01-02T03:04:05Z"}]}' % (prefix.encode(), n)
    )
    msg_id = f"msg_{prefix}_{n}"
    stamp = str(int(time.time()))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nwebhook-id: {msg_id}\r\nwebhook-timestamp: {stamp}\r\n"
        f"webhook-signature: v1,{base64.b64encode(mac).decode()}\r\n\r\n"
    )
    return head.encode() + body


class _Connection(asyncio.Protocol):
    """HTTP/1.1 keep-alive: write a request, wait for its whole response (status, length)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = self.buffer[:end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name == "content-length":
                length = int(value)
        if len(self.buffer) >= end + 4 + length:
            self.buffer = self.buffer[end + 4 + length :]
            self.waiter.set_result(int(head[9:12]))
            self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    async def send(self, request: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def _load(command: dict[str, Any]) -> dict[str, Any]:
    host, port, prefix = command["host"], command["port"], command["prefix"]
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    loop = asyncio.get_running_loop()
    start = time.perf_counter() + command["warmup"]
    end = start + command["seconds"]
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0, "answered": 0}

    async def connection(number: int) -> None:
        _, conn = await loop.create_connection(_Connection, host, port)
        n = 0
        while (now := time.perf_counter()) < end:
            n += 1
            status = await conn.send(_request(host, port, n, f"{prefix}-{number}", key))
            counts["answered"] += 1
            if now >= start:
                latencies.append(time.perf_counter() - now)
                counts["ok" if 200 <= status < 300 else "failed"] += 1
        assert conn.transport is not None
        conn.transport.close()

    async with asyncio.TaskGroup() as connections:
        for number in range(command["connections"]):
            connections.create_task(connection(number))
    return {
        **counts,
        "seconds": command["seconds"],
        "p50_ms": percentile(latencies, 50) * 1000 if latencies else 0.0,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else 0.0,
    }


def load_process_main() -> int:
    """One command per line on stdin, one result per line on stdout, until stdin ends."""
    for line in sys.stdin:
        print(json.dumps(asyncio.run(_load(json.loads(line)))), flush=True)
    return 0


class LoadProcess:
    """The load generator, started once (its imports cost seconds), a run per command."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    @asynccontextmanager
    async def started(cls) -> AsyncIterator[LoadProcess]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.webhooks",
            "--load",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            yield cls(process)
        finally:
            if process.returncode is None:
                assert process.stdin is not None
                process.stdin.close()
                await process.wait()

    async def measure(self, base_url: str, settings: Settings, prefix: str) -> Run:
        host, _, port = base_url.removeprefix("http://").partition(":")
        command = {
            "host": host,
            "port": int(port),
            "prefix": prefix,
            "connections": CONNECTIONS,
            "seconds": settings.seconds,
            "warmup": settings.warmup,
        }
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(command).encode() + b"\n")
        await stdin.drain()
        line = await stdout.readline()
        if not line:
            raise RuntimeError("the load process ended without an answer")
        found = json.loads(line)
        return Run(
            found["ok"],
            found["failed"],
            found["seconds"],
            found["p50_ms"],
            found["p99_ms"],
            found["answered"],
        )


# -- the two sides ----------------------------------------------------------------------------


def bare_app(limit: int) -> web.Application:
    """Reads the body (up to `limit`) and checks the Standard Webhooks HMAC: nothing else."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))

    async def receive(request: web.Request) -> web.Response:
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return web.Response(status=413)
        headers = request.headers
        msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
        mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        for candidate in headers["webhook-signature"].split():
            version, _, signature = candidate.partition(",")
            if version == "v1" and hmac.compare_digest(base64.b64decode(signature), mac):
                return web.Response(status=202)
        return web.Response(status=401)

    app = web.Application()
    app.router.add_post(PATH, receive)
    return app


@asynccontextmanager
async def hub_side(
    database_url: str, data_dir: Path, options: WebhookOptions = WEBHOOK_OPTIONS
) -> AsyncIterator[tuple[RunningHub, str]]:
    settings = load_settings(
        env={
            "HUB_DATA_DIR": str(data_dir),
            "HUB_DATABASE_URL": database_url,
            "HUB_API_TOKEN": TOKEN,
        }
    )
    async with (
        open_services(settings) as services,
        running_hub(services, demo=False, webhooks=options) as running,
        serving_locally(build_app(running, ApiAuth(TOKEN))) as base_url,
    ):
        await services.integrations.create(
            {
                "id": INTEGRATION,
                "name": "Webhook benchmark",
                "type": "REST",
                "adapter": "demo",
                "settings": {"customers": 0, "invoices": 0},
                "schedule": {"enabled": False},
                "webhook": {"scheme": "standard"},
                "credentials": {"webhook_secret": SECRET},
            },
            origin="benchmark",
        )
        await running.hub.apply(INTEGRATION, enabled=True)
        await _first_sync(running)
        yield running, base_url


async def _first_sync(running: RunningHub) -> None:
    """The empty demo's first full sync, out of the way before any webhook."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = (await running.services.store.list_runs(INTEGRATION, limit=5)).items
        if len(runs) == 2 and all(r.status is RunStatus.COMPLETED for r in runs):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the benchmark integration did not finish its first sync")


async def _counts(database_url: str) -> tuple[int, int]:
    """(deliveries stored, deliveries processed), read around the hub."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE status = 'processed') FROM webhook_deliveries"
        )
    finally:
        await connection.close()
    assert row is not None
    return int(row[0]), int(row[1])


@dataclass(slots=True)
class Phase:
    """Alternating runs of the bare handler and the hub, and what the hub processed."""

    hub: list[Run] = field(default_factory=list)
    bare: list[Run] = field(default_factory=list)
    processed_per_s: list[float] = field(default_factory=list)
    batch: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Sides:
    load: LoadProcess
    running: RunningHub
    hub_url: str
    bare_url: str
    database_url: str


async def phase(sides: Sides, settings: Settings, rounds: int, label: str, tag: str) -> Phase:
    found = Phase()
    intake = sides.running.webhooks.intake
    for round_ in range(rounds):
        cpu = time.process_time()
        found.bare.append(await sides.load.measure(sides.bare_url, settings, f"b{tag}{round_}"))
        progress(f"{label} {round_ + 1}, bare: {_shown(found.bare[-1], cpu)}")
        commits, saved = intake.commits, intake.saved
        stored_before, processed_before = await _counts(sides.database_url)
        cpu = time.process_time()
        run = await sides.load.measure(sides.hub_url, settings, f"h{tag}{round_}")
        cpu_shown = _cpu(run, cpu)
        stored, done = await _counts(sides.database_url)
        found.hub.append(run)
        found.batch.append((intake.saved - saved) / max(1, intake.commits - commits))
        found.processed_per_s.append(
            (done - processed_before) / (settings.seconds + settings.warmup)
        )
        progress(
            f"{label} {round_ + 1}, hub: {_shown(run)}{cpu_shown}; {stored - stored_before} stored "
            f"({found.batch[-1]:.1f} a commit), {found.processed_per_s[-1]:.0f} processed/s"
            + (f"; {run.failed} answers not 2xx" if run.failed else "")
        )
    return found


async def drained(database_url: str, timeout: float) -> float:
    """Seconds until every stored delivery is processed (the backlog of a phase)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        stored, done = await _counts(database_url)
        if done >= stored:
            break
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def figures(database_url: str, settings: Settings, data_dir: Path) -> list[Figure]:
    async with (
        LoadProcess.started() as load,
        hub_side(database_url, data_dir) as (running, hub_url),
        serving_locally(bare_app(running.services.settings.webhook_max_body_bytes)) as bare_url,
    ):
        sides = Sides(load, running, hub_url, bare_url, database_url)
        together = await phase(sides, settings, settings.rounds, "processing alongside", "t")
        progress(f"backlog processed in {await drained(database_url, 30):.1f} s")
        await running.hub.remove(INTEGRATION)  # its actor stops; deliveries are still taken
        alone = await phase(sides, settings, settings.intake_rounds, "intake alone", "a")
    mid, only = _middle(together.hub), _middle(alone.hub)
    return [
        Figure("webhooks_per_s", mid.per_s, "webhooks/s", _middle(together.bare).per_s, GOAL),
        Figure("webhook_p99_ms", mid.p99_ms, "ms", None, value_goal("<", 25)),
        Figure("webhook_p50_ms", mid.p50_ms, "ms", None, None),
        Figure(
            "webhooks_processed_per_s", median(together.processed_per_s), "webhooks/s", None, None
        ),
        Figure("webhook_commit_batch", median(together.batch), "deliveries", None, None),
        Figure("webhooks_intake_per_s", only.per_s, "webhooks/s", _middle(alone.bare).per_s, GOAL),
        Figure("webhook_intake_p99_ms", only.p99_ms, "ms", None, value_goal("<", 25)),
    ]


def _middle(runs: Sequence[Run]) -> Run:
    """The run of median throughput (an even count: the lower middle)."""
    ordered = sorted(runs, key=lambda r: r.per_s)
    return ordered[(len(ordered) - 1) // 2]


def _shown(run: Run, cpu: float | None = None) -> str:
    shown = f"{run.per_s:.0f}/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms"
    return shown if cpu is None else shown + _cpu(run, cpu)


def _cpu(run: Run, since: float) -> str:
    """This process's CPU per request answered (warm-up included) since `since`: less
    dependent on the machine's load than the rate."""
    seconds = time.process_time() - since
    return f", {seconds * 1e6 / max(1, run.answered):.0f} µs CPU a request"


async def profile(database_url: str, settings: Settings, data_dir: Path) -> None:
    """One hub run with processing alongside, then one of intake alone, each under cProfile;
    the top of each on stderr (the hub's process only: the load runs in its own)."""
    async with (
        LoadProcess.started() as load,
        hub_side(database_url, data_dir) as (running, hub_url),
    ):
        for label in ("processing alongside", "intake alone"):
            if label == "intake alone":
                progress(f"backlog processed in {await drained(database_url, 30):.1f} s")
                await running.hub.remove(INTEGRATION)
            profiler = cProfile.Profile()
            profiler.enable()
            found = await load.measure(hub_url, settings, f"p{label[0]}")
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            progress(f"profile, {label} ({_shown(found)} under the profiler)")
            print(out.getvalue(), file=sys.stderr)


async def run(settings: Settings, *, profiled: bool = False) -> None:
    problem = await postgres_ok()
    if problem is not None:
        progress(f"skipping every figure (each needs PostgreSQL): {problem}")
        return
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as data_dir:
        async with fresh_database() as database_url:
            if profiled:
                await profile(database_url, settings, Path(data_dir))
                return
            for figure in await figures(database_url, settings, Path(data_dir)):
                emit(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webhooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="two short rounds (< 60 s)")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the hub's process in one run of each phase"
    )
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)  # the load's
    args = parser.parse_args(argv)
    if args.load:
        return load_process_main()
    started = time.perf_counter()
    asyncio.run(run(QUICK if args.quick else FULL, profiled=args.profile))
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
