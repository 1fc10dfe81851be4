"""Watching one folder for new mail, on a connection of its own: IDLE (RFC 2177) where the
server offers it, else STATUS every `poll_interval` seconds.

Each sign of new mail is one `SyncKind.INCREMENTAL` for the actor to act on. The connection is
renewed when it is lost (a server restart), after a backoff on the adapter's clock; once it is
back, one more INCREMENTAL catches up with what arrived while it was away. IDLE is renewed
every `idle_refresh` seconds, so that a connection a firewall dropped without a word is
noticed then at the latest. Credentials the server refuses end the watching (the sync on the
main connection reports them).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

from adapters._errors import ConfigError, TransientError
from adapters._values import SyncKind
from adapters.imap._responses import FolderStatus, new_mail
from adapters.imap._session import Opener, Session
from adapters.imap._settings import ImapSettings, Login
from adapters.imap._wire import encode_folder, normal_folder
from runtime import Clock, describe, sleep

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0

log = logging.getLogger("adapters.imap")


async def watch(
    opener: Opener, settings: ImapSettings, login: Login, clock: Clock
) -> AsyncGenerator[SyncKind, None]:
    if settings.watch_folder is None:
        return
    folder = encode_folder(normal_folder(settings.watch_folder))
    delay = BACKOFF_FIRST
    away = False
    while True:
        session: Session | None = None
        try:
            session = await opener(settings, login, clock)
            if away:
                yield SyncKind.INCREMENTAL
            away, delay = False, BACKOFF_FIRST
            async with aclosing(_changes(session, folder, settings, clock)) as changes:
                async for kind in changes:
                    yield kind
        except TransientError as error:
            log.info("IMAP watch of %s: %s; again in %g s", settings.peer, describe(error), delay)
        finally:
            if session is not None:
                await session.close()
        away = True
        await sleep(clock, delay)
        delay = min(delay * 2, BACKOFF_MAX)


async def _changes(
    session: Session, folder: str, settings: ImapSettings, clock: Clock
) -> AsyncGenerator[SyncKind, None]:
    if settings.idle and "IDLE" in session.capabilities:
        if await session.select(folder) is None:
            raise ConfigError(f"the watched IMAP folder {settings.watch_folder!r} is not there")
        while True:
            log.debug("IMAP watch of %s: IDLE in %s", settings.peer, settings.watch_folder)
            async with aclosing(session.idle(settings.idle_refresh)) as pushes:
                async for lines in pushes:
                    if new_mail(lines):
                        yield SyncKind.INCREMENTAL
    else:
        seen: FolderStatus | None = None
        log.debug("IMAP watch of %s: polling %s", settings.peer, settings.watch_folder)
        while True:
            now = await session.status(folder)
            if seen is not None and now != seen:
                yield SyncKind.INCREMENTAL
            seen = now
            await sleep(clock, settings.poll_interval)
