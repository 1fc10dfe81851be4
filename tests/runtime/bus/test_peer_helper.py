"""The NATS peer helper: a missing server skips, or fails where peers are required (CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.peers.nats as peer


@pytest.fixture
def no_nats_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda _: None)
    monkeypatch.setattr("os.access", lambda *_: False)


@pytest.mark.usefixtures("no_nats_server")
def test_peer_missing_nats_server_skips_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_REQUIRE_PEERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install nats-server"):
        peer.nats_server_binary()


@pytest.mark.usefixtures("no_nats_server")
def test_peer_missing_nats_server_fails_when_peers_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_REQUIRE_PEERS", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install nats-server"):
        peer.nats_server_binary()


async def test_peer_server_restarts_on_the_same_port_and_store(tmp_path: Path) -> None:
    async with peer.running_nats_server(tmp_path) as server:
        port = server.port
        await server.kill()
        assert not server.running
        await server.restart()
        assert server.running
        assert server.port == port
        assert (tmp_path / "store" / "jetstream").is_dir()
    assert not server.running
