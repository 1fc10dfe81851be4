"""An in-memory mailbox behind the `Session` protocol: for the sync's decisions where a real
server cannot be made to misbehave on cue (a folder gone between LIST and SELECT, a
UIDVALIDITY changed mid-pass, a connection dying mid-sync)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from datetime import date

import anyio.lowlevel

from adapters import IntegrationError, TransientError
from adapters.imap._responses import FetchedMessage, FolderStatus, ListedFolder, Selected
from adapters.imap._session import Session
from adapters.imap._settings import ImapSettings, Login
from runtime import Clock
from tests.adapters.imap.mail import message


@dataclass
class Folder:
    uidvalidity: int
    messages: dict[int, bytes] = field(default_factory=dict)

    def add(self, *numbers: int) -> None:
        for n in numbers:
            uid = max(self.messages, default=0) + 1
            self.messages[uid] = message(n)


@dataclass
class FakeServer:
    folders: dict[str, Folder] = field(default_factory=dict)
    listed_only: set[str] = field(default_factory=set)  # listed, but SELECT says not there
    fail_fetch: int = 0  # fetches that lose the connection
    refuse: IntegrationError | None = None  # what opening a session raises
    opens: int = 0

    async def open(self, settings: ImapSettings, login: Login, clock: Clock) -> Session:
        self.opens += 1
        await anyio.lowlevel.checkpoint()
        if self.refuse is not None:
            raise self.refuse
        return FakeSession(self)


class FakeSession:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.selected: Folder | None = None
        self.dead = False

    @property
    def alive(self) -> bool:
        return not self.dead

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset({"IMAP4REV1"})

    async def list_folders(self) -> tuple[ListedFolder, ...]:
        names = [*self.server.folders, *self.server.listed_only]
        return tuple(ListedFolder(name, "/", frozenset()) for name in names)

    async def select(self, folder: str) -> Selected | None:
        self.selected = self.server.folders.get(folder)
        if self.selected is None:
            return None
        uids = self.selected.messages
        return Selected(self.selected.uidvalidity, len(uids), max(uids, default=0) + 1)

    async def search(self, after: int, since: date | None) -> tuple[int, ...]:
        assert self.selected is not None
        return tuple(sorted(uid for uid in self.selected.messages if uid > after))

    async def fetch(self, uids: Sequence[int], max_bytes: int) -> tuple[FetchedMessage, ...]:
        assert self.selected is not None
        if self.server.fail_fetch:
            self.server.fail_fetch -= 1
            self.dead = True
            raise TransientError("IMAP UID FETCH: the connection to the fake was lost")
        found = self.selected.messages
        return tuple(
            FetchedMessage(uid, (), None, len(found[uid]), found[uid][:max_bytes])
            for uid in uids
            if uid in found
        )

    async def status(self, folder: str) -> FolderStatus:
        raise NotImplementedError

    async def noop(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def idle(self, duration: float) -> AsyncGenerator[tuple[bytes, ...], None]:
        raise NotImplementedError
        yield ()

    async def close(self) -> None:
        self.dead = True
