"""The Dovecot peer: a missing binary skips with the install hint, or fails where peers are
required (CI)."""

from __future__ import annotations

import shutil

import pytest

from tests.peers import dovecot


def _missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(dovecot, "_BINARY_FALLBACK", "/nonexistent/dovecot")


def test_missing_dovecot_skips_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    _missing(monkeypatch)
    monkeypatch.delenv("HUB_REQUIRE_PEERS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y dovecot-imapd"):
        dovecot.dovecot_binary()


def test_missing_dovecot_fails_when_peers_required(monkeypatch: pytest.MonkeyPatch) -> None:
    _missing(monkeypatch)
    monkeypatch.setenv("HUB_REQUIRE_PEERS", "1")
    with pytest.raises(pytest.fail.Exception, match="required peer missing"):
        dovecot.dovecot_binary()
