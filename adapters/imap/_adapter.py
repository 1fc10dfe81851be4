"""`ImapAdapter`: the `messages` of one mailbox, synced by UIDVALIDITY and UID, watched with
IDLE.

It holds one connection for commands (connect, health checks, syncs), opened on first use and
again after it died; `watch()` holds one of its own. How a connection is opened is injected
(`opener`): aioimaplib by default, a fake in unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import UTC, date, datetime

import anyio
import anyio.lowlevel

from adapters._contract import Adapter, AdapterContext
from adapters._errors import ConfigError, TransientError
from adapters._values import Batch, ConnectionInfo, HealthStatus, SyncKind, SyncRequest
from adapters.imap import _sync, _watch
from adapters.imap._driver import open_session
from adapters.imap._session import Opener, Session
from adapters.imap._settings import ImapSettings, Login, login_of, parse_settings

ENTITY = _sync.ENTITY


def utc_today() -> date:
    return datetime.now(UTC).date()


class ImapAdapter(Adapter):
    """Settings or credentials that are wrong are reported by `connect` (a ConfigError), not
    by the constructor: the actor builds the adapter before it handles errors."""

    name = "imap"

    def __init__(
        self,
        context: AdapterContext,
        *,
        opener: Opener = open_session,
        today: Callable[[], date] = utc_today,
    ) -> None:
        super().__init__(context)
        self._opener = opener
        self._today = today
        self._session: Session | None = None
        self._opening = anyio.Lock()
        try:
            self._config: tuple[ImapSettings, Login] | ConfigError = self._configure()
        except ConfigError as error:
            self._config = error

    def _configure(self) -> tuple[ImapSettings, Login]:
        settings = parse_settings(self.context)
        return settings, login_of(self.context, settings)

    @property
    def settings(self) -> ImapSettings:
        return self._configured()[0]

    def _configured(self) -> tuple[ImapSettings, Login]:
        if isinstance(self._config, ConfigError):
            raise self._config
        return self._config

    async def _live(self) -> Session:
        """The command connection: the one open, or a new one if it died (or never was)."""
        settings, login = self._configured()
        async with self._opening:
            if self._session is not None and not self._session.alive:
                await self._session.close()
                self._session = None
            if self._session is None:
                self._session = await self._opener(settings, login, self.context.clock)
            return self._session

    async def connect(self) -> ConnectionInfo:
        session = await self._live()
        settings = self.settings
        missing = await _sync.missing_folders(session, settings)
        if missing:
            raise ConfigError(
                f"IMAP folders not on the server (or not selectable): {', '.join(missing)}"
            )
        return ConnectionInfo(peer=settings.peer, account=settings.username)

    async def disconnect(self) -> None:
        async with self._opening:
            session, self._session = self._session, None
        if session is not None:
            await session.close()
        else:
            await anyio.lowlevel.checkpoint()

    async def health_check(self) -> HealthStatus:
        """A NOOP on the command connection (opened again if need be); its round trip is the
        latency. A server out of reach is reported; refused credentials or a configuration
        that cannot work are raised (a probe cannot fix them)."""
        clock = self.context.clock
        started = clock.now()
        try:
            session = await self._live()
            started = clock.now()
            await session.noop()
        except TransientError as error:
            return HealthStatus(False, clock.now() - started, error.message)
        return HealthStatus(True, clock.now() - started, f"NOOP answered by {self.settings.peer}")

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        unknown = [entity for entity in request.entities if entity != ENTITY]
        if unknown:
            raise ConfigError(f"the IMAP adapter has no entity {unknown[0]!r}; it has {ENTITY}")
        settings = self.settings
        batches = _sync.messages(
            self._live, settings, request.checkpoint(ENTITY), request.kind, self._today()
        )
        async with aclosing(batches):
            async for batch in batches:
                yield batch

    async def watch(self) -> AsyncGenerator[SyncKind, None]:
        settings, login = self._configured()
        changes = _watch.watch(self._opener, settings, login, self.context.clock)
        async with aclosing(changes):
            async for kind in changes:
                yield kind
