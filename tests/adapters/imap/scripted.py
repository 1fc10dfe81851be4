"""A pretend IMAP server on loopback that answers from a script: for the faults a real Dovecot
cannot be made to show quickly (a busy server, a refused login without Dovecot's penalty on
the next ones, a login that succeeds and then silence)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

GREETING = b"* OK [CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN] scripted server ready\r\n"


class Scripted:
    """`login`: the tagged reply to LOGIN (e.g. b"NO [UNAVAILABLE] busy"), or None: never
    answer it; `after_login`: answer commands after a successful login (else silence)."""

    def __init__(self, login: bytes | None, *, after_login: bool = True) -> None:
        self.login = login
        self.after_login = after_login
        self.port = 0
        self.commands: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        writer.write(GREETING)
        logged_in = False
        while line := await reader.readline():
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            self.commands.append(command)
            if command == b"LOGOUT":
                writer.write(b"* BYE\r\n" + tag + b" OK bye\r\n")
                break
            if command == b"CAPABILITY" and (not logged_in or self.after_login):
                writer.write(b"* CAPABILITY IMAP4rev1 IDLE AUTH=PLAIN\r\n" + tag + b" OK\r\n")
            elif command == b"LOGIN" and self.login is not None:
                writer.write(tag + b" " + self.login + b"\r\n")
                logged_in = self.login.startswith(b"OK")
            elif command == b"NOOP" and self.after_login:
                writer.write(tag + b" OK\r\n")
        writer.close()

    def _start(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._start, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        if self._server is not None:
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def scripted(login: bytes | None, *, after_login: bool = True) -> AsyncIterator[Scripted]:
    server = Scripted(login, after_login=after_login)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]
