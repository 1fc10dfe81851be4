"""One Dovecot (with TLS) for the IMAP tests of this package, a user of its own per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.peers.dovecot import Account, Dovecot, running_dovecot

_users = itertools.count(1)


@pytest.fixture(scope="package")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot(tls=True) as server:
        yield server


@pytest.fixture
def account(dovecot: Dovecot) -> Account:
    return dovecot.add_user(f"user{next(_users)}", "secret-Pw-7x")


@pytest.fixture
def lonely() -> Iterator[Dovecot]:
    """A server of the test's own, for a test that fails logins on purpose (Dovecot slows
    down the next logins from the same address for seconds after one)."""
    with running_dovecot() as server:
        yield server
