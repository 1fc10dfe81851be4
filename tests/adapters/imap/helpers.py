"""Building IMAP adapters for a test's Dovecot account, and reading what they sync."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from adapters import (
    AdapterContext,
    Batch,
    HttpClient,
    HttpRequest,
    HttpResponse,
    JsonValue,
    SyncKind,
    SyncRequest,
)
from adapters.imap import ImapAdapter
from adapters.imap._driver import open_session
from adapters.imap._responses import FetchedMessage, FolderStatus, ListedFolder, Selected
from adapters.imap._session import Session
from adapters.imap._settings import ImapSettings, Login
from runtime import SYSTEM_CLOCK, Clock, RateLimit, RateLimiter
from runtime.vault import Secret
from tests.adapters.conformance import collect
from tests.peers.dovecot import Account, Dovecot


async def _no_http(request: HttpRequest) -> HttpResponse:
    raise AssertionError(f"the IMAP adapter must not send HTTP: {request!r}")


def settings_for(server: Dovecot, account: Account, **settings: JsonValue) -> dict[str, JsonValue]:
    """Plain IMAP on the server's port (security none), short timeouts, small batches."""
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "username": account.username,
        "timeout": 5.0,
        "batch_size": 2,
        **settings,
    }


def context_for(
    server: Dovecot,
    account: Account,
    *,
    credentials: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    **settings: JsonValue,
) -> AdapterContext:
    return context_with(server, account, settings, credentials=credentials, clock=clock)


def context_with(
    server: Dovecot,
    account: Account,
    settings: Mapping[str, JsonValue],
    *,
    credentials: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> AdapterContext:
    """A context for `account` (its password unless `credentials` say otherwise)."""
    secrets = {"password": account.password} if credentials is None else credentials
    return plain_context(settings_for(server, account, **settings), secrets, clock=clock)


def plain_context(
    settings: Mapping[str, JsonValue],
    credentials: Mapping[str, str],
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> AdapterContext:
    limiter = RateLimiter(RateLimit(rate=100), clock=clock)
    return AdapterContext(
        integration_id="mail-1",
        settings=settings,
        credentials={name: Secret(value) for name, value in credentials.items()},
        http=HttpClient(limiter, clock=clock, send=_no_http),
        limiter=limiter,
        clock=clock,
    )


@dataclass
class Spy:
    """Opens real sessions and notes what they were asked: every open and every UID fetched."""

    opens: int = 0
    fetched: list[int] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)

    async def __call__(self, settings: ImapSettings, login: Login, clock: Clock) -> Session:
        self.opens += 1
        session = _Spied(await open_session(settings, login, clock), self)
        self.sessions.append(session)
        return session


class _Spied:
    def __init__(self, session: Session, spy: Spy) -> None:
        self._session = session
        self._spy = spy

    @property
    def alive(self) -> bool:
        return self._session.alive

    @property
    def capabilities(self) -> frozenset[str]:
        return self._session.capabilities

    async def list_folders(self) -> tuple[ListedFolder, ...]:
        return await self._session.list_folders()

    async def select(self, folder: str) -> Selected | None:
        return await self._session.select(folder)

    async def search(self, after: int, since: date | None) -> tuple[int, ...]:
        return await self._session.search(after, since)

    async def fetch(self, uids: Sequence[int], max_bytes: int) -> tuple[FetchedMessage, ...]:
        self._spy.fetched.extend(uids)
        return await self._session.fetch(uids, max_bytes)

    async def status(self, folder: str) -> FolderStatus:
        return await self._session.status(folder)

    async def noop(self) -> None:
        await self._session.noop()

    def idle(self, duration: float) -> AsyncGenerator[tuple[bytes, ...], None]:
        return self._session.idle(duration)

    async def close(self) -> None:
        await self._session.close()


def adapter_for(
    server: Dovecot, account: Account, *, spy: Spy | None = None, **settings: JsonValue
) -> ImapAdapter:
    context = context_with(server, account, settings)
    return ImapAdapter(context) if spy is None else ImapAdapter(context, opener=spy)


async def sync(
    adapter: ImapAdapter, kind: SyncKind = SyncKind.FULL, after: Sequence[Batch] | None = None
) -> list[Batch]:
    """One sync, continuing after the last batch of `after` (a previous sync)."""
    checkpoints = {"messages": after[-1].checkpoint} if after else {}
    return await collect(adapter, SyncRequest(("messages",), kind, checkpoints))


def by_id(batches: Sequence[Batch]) -> dict[str, Mapping[str, JsonValue]]:
    return {r.external_id: r.data for batch in batches for r in batch.records}
