"""What the adapter asks of one logged-in IMAP connection, as a protocol of our own types.

The real one drives aioimaplib (`adapters.imap._driver`); unit tests hand in a fake. Every
method raises only our errors (`TransientError` when the connection failed or timed out,
`AuthError`, `ConfigError`, `PermanentError`); a session that failed once stays dead
(`alive` False) and is replaced by a new one.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import date
from typing import Protocol

from adapters.imap._responses import FetchedMessage, FolderStatus, ListedFolder, Selected
from adapters.imap._settings import ImapSettings, Login
from runtime import Clock


class Session(Protocol):
    @property
    def alive(self) -> bool: ...

    @property
    def capabilities(self) -> frozenset[str]: ...

    async def list_folders(self) -> tuple[ListedFolder, ...]:
        """LIST "" "*"."""
        ...

    async def select(self, folder: str) -> Selected | None:
        """SELECT by wire name; None when the folder is not there or not ours to read."""
        ...

    async def search(self, after: int, since: date | None) -> tuple[int, ...]:
        """UIDs above `after` in the selected folder (received on or after `since`)."""
        ...

    async def fetch(self, uids: Sequence[int], max_bytes: int) -> tuple[FetchedMessage, ...]:
        """UID, flags, internal date, size and the first `max_bytes` of each message, read
        with BODY.PEEK so that nothing is marked seen."""
        ...

    async def status(self, folder: str) -> FolderStatus: ...

    async def noop(self) -> None: ...

    def idle(self, duration: float) -> AsyncGenerator[tuple[bytes, ...], None]:
        """IDLE in the selected folder for `duration` seconds, yielding what the server
        pushes; ends IDLE (DONE) when the time is up."""
        ...

    async def close(self) -> None:
        """Log out if still possible (briefly), then drop the connection; never raises."""
        ...


Opener = Callable[[ImapSettings, Login, Clock], Awaitable[Session]]
"""Connects, upgrades to TLS as configured and logs in: a ready session, or our error."""
