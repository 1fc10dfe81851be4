"""The IMAP adapter passes the adapter contract suite against Dovecot, with its faults
(refused, busy, silent, unreachable, untrusted) from Dovecot itself or a scripted server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    AuthError,
    ConfigError,
    JsonValue,
    TransientError,
)
from adapters.imap import SPEC
from tests.adapters.conformance import AdapterConformance, PeerFault
from tests.adapters.imap.helpers import context_for, context_with
from tests.adapters.imap.mail import message
from tests.adapters.imap.scripted import scripted, silent_port
from tests.peers.dovecot import Account, Dovecot, free_port, mail_client

QUICK = 0.3  # seconds: the timeout where the fault is a peer that does not answer


class TestImapConformance(AdapterConformance):
    @pytest.fixture
    async def spec(self) -> AsyncIterator[AdapterSpec]:
        """SPEC, whose adapters are disconnected after the test: an IMAP adapter holds a
        connection, and the suite leaves some of the adapters it makes connected."""
        made: list[Adapter] = []

        def factory(context: AdapterContext) -> Adapter:
            made.append(SPEC.factory(context))
            return made[-1]

        yield replace(SPEC, factory=factory)
        for adapter in made:
            await adapter.disconnect()

    @pytest.fixture
    async def context(self, dovecot: Dovecot, account: Account) -> AdapterContext:
        async with mail_client(dovecot, account) as mail:
            await mail.create("Archive")
            for n in range(1, 6):
                await mail.append(message(n))
            for n in range(6, 8):
                await mail.append(message(n), "Archive")
        return context_for(dovecot, account)  # batches of 2

    @pytest.fixture
    async def peer_faults(
        self, dovecot: Dovecot, account: Account
    ) -> AsyncIterator[list[PeerFault]]:
        def at(port: int | None, **settings: JsonValue) -> AdapterContext:
            assert port is not None
            return context_with(dovecot, account, {**settings, "port": port})

        async with (
            scripted(b"NO [AUTHENTICATIONFAILED] Authentication failed.") as refused,
            scripted(b"NO [UNAVAILABLE] Temporary authentication failure") as busy,
            scripted(b"OK Logged in", after_login=False) as dumb,
        ):
            with silent_port() as mute:
                yield [
                    PeerFault("credentials refused", AuthError, lambda: at(refused.port)),
                    PeerFault("server busy", TransientError, lambda: at(busy.port)),
                    PeerFault(
                        "silent after login (first_valid_uid missing)",
                        TransientError,
                        lambda: at(dumb.port, timeout=QUICK),
                    ),
                    PeerFault("no greeting", TransientError, lambda: at(mute, timeout=QUICK)),
                    PeerFault("connection refused", TransientError, lambda: at(free_port())),
                    PeerFault(
                        "certificate not trusted",
                        ConfigError,
                        lambda: at(dovecot.tls_port, security="ssl"),
                    ),
                    PeerFault(
                        "TLS to a plain port",
                        ConfigError,
                        lambda: at(dovecot.port, security="ssl", tls_ca=dovecot.ca_pem),
                    ),
                ]

    @pytest.fixture
    def hanging_context(self, dovecot: Dovecot, account: Account) -> Iterator[AdapterContext]:
        with silent_port() as mute:
            yield context_for(dovecot, account, port=mute, timeout=30.0)
