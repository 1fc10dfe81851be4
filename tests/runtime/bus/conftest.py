"""Fixtures for the bus tests: a NATS server of the test's own, and a bus connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.bus import NatsBus, NatsOptions
from tests.peers.nats import NatsServer, running_nats_server

# Short waits so an outage shows up in seconds; production keeps the defaults.
FAST = NatsOptions(connect_timeout=1.0, ack_timeout=1.0, reconnect_wait=0.25)


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    async with running_nats_server(tmp_path / "nats") as server:
        yield server


@pytest.fixture
async def nats_bus(nats_server: NatsServer) -> AsyncIterator[NatsBus]:
    bus = await NatsBus.connect(nats_server.url, FAST)
    try:
        yield bus
    finally:
        await bus.close()
