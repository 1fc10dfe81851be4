"""The thin driver: one IMAP connection over aioimaplib, as a `Session` of our own types.

It only sends and receives; what the answers mean is read by `_responses`. Every command
runs under a deadline on the adapter's clock *and* gives aioimaplib its own timeout (a
misconfigured server may accept a login and never answer again). Vendor exceptions end
here: a timeout, a refused or lost connection become `TransientError`, an untrusted
certificate a `ConfigError`, a refused login what `login_refused` says. A command that
failed, timed out or was cancelled leaves the connection in an unknown state, so the
session is dropped and stays dead; the adapter opens a new one when it needs one.

aioimaplib 2 lacks three things we need, added here against its internals (pinned `<3`,
covered by the tests against Dovecot): STARTTLS (the transport upgraded with
`loop.start_tls`), AUTHENTICATE XOAUTH2 that answers the server's error challenge (else a
wrong token hangs until the timeout), and failing the commands in flight when the
connection is lost (else they wait for their timeout). Its DEBUG log of what is sent would
show a password or token: a filter on its logger hides LOGIN and AUTHENTICATE lines.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import aioimaplib  # type: ignore[import-untyped]  # no type information shipped
import anyio

from adapters._errors import ConfigError, PermanentError, TransientError
from adapters.imap._responses import (
    FetchedMessage,
    FolderStatus,
    ListedFolder,
    Selected,
    fetched,
    list_folders,
    login_refused,
    search_uids,
    select_refused,
    selected,
    status,
)
from adapters.imap._settings import ImapSettings, Login, Security
from adapters.imap._wire import quoted, search_date, uid_set
from runtime import Clock, fail_after, move_on_after

T = TypeVar("T")

FETCH_BUDGET = 10  # a FETCH may take this many timeouts in all (aioimaplib's own timer
# restarts with every piece of data, so a slow but steady download is not cut off)
LOGOUT_WAIT = 2.0  # seconds a polite LOGOUT may take when closing
_LOST = [b"connection lost"]  # put into the IDLE queue when the connection goes

_LOG_NAME = "aioimaplib.aioimaplib"


class _HideCredentials(logging.Filter):
    """aioimaplib logs every line it sends at DEBUG, formatted already."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.msg if isinstance(record.msg, str) else ""
        if text.startswith("Sending") and ("LOGIN" in text or "AUTHENTICATE" in text):
            record.msg, record.args = "Sending : (a login command; credentials hidden)", ()
        return True


_FILTER = _HideCredentials()
logging.getLogger(_LOG_NAME).addFilter(_FILTER)


class _Lost:
    """aioimaplib's connection-lost callback: the session is dead from then on, commands in
    flight fail at once, and a waiting IDLE wakes up."""

    def __init__(self) -> None:
        self.lost = False
        self.client: Any = None

    def __call__(self, _error: Exception | None) -> None:
        self.lost = True
        if self.client is not None:
            _fail_pending(self.client.protocol)
            self.client.protocol.idle_queue.put_nowait(_LOST)


def _fail_pending(protocol: Any) -> None:
    commands = [protocol.pending_sync_command, *protocol.pending_async_commands.values()]
    for command in commands:
        if command is not None and not command._event.is_set():
            command._exception = aioimaplib.Abort("connection lost")
            command.close(b"connection lost", "BYE")


class _XOAuth2(aioimaplib.Command):  # type: ignore[misc]  # an untyped base class
    """AUTHENTICATE XOAUTH2 with the initial response on the command line (SASL-IR). A server
    without SASL-IR asks for it with an empty challenge; any other challenge is the server's
    error report, answered with an empty line so that it says NO (RFC 7628's way)."""

    def __init__(self, protocol: Any, initial: str, timeout: float) -> None:
        tag = protocol.new_tag()
        with_initial = "SASL-IR" in {str(c).upper() for c in protocol.capabilities}
        args = ("XOAUTH2", initial) if with_initial else ("XOAUTH2",)
        super().__init__("AUTHENTICATE", tag, *args, loop=protocol.loop, timeout=timeout)
        self._protocol = protocol
        self._initial = None if with_initial else initial

    def append_to_resp(self, line: bytes, result: str = "Pending") -> None:
        super().append_to_resp(line, result)
        if result == "Pending" and isinstance(line, bytes) and line.startswith(b"+"):
            answer, self._initial = self._initial or "", None
            self._protocol.transport.write(answer.encode("ascii") + b"\r\n")


def tls_context(settings: ImapSettings) -> ssl.SSLContext:
    """Verified TLS: the system's CAs, or only those in `tls_ca`."""
    try:
        return ssl.create_default_context(cadata=settings.tls_ca)
    except (ssl.SSLError, ValueError):
        raise ConfigError("tls_ca holds no PEM certificate we can read") from None


async def open_session(settings: ImapSettings, login: Login, clock: Clock) -> AioimaplibSession:
    """Connect, upgrade to TLS as configured, log in: a ready session, or our error."""
    context = None if settings.security is Security.NONE else tls_context(settings)
    lost = _Lost()
    client = aioimaplib.IMAP4(
        host=settings.host,
        port=settings.server_port,
        timeout=settings.timeout,
        conn_lost_cb=lost,
        ssl_context=context if settings.security is Security.SSL else None,
    )
    lost.client = client
    session = AioimaplibSession(client, settings, clock, lost)
    try:
        await session.call("greeting", client.wait_hello_from_server)
        if settings.security is Security.STARTTLS:
            assert context is not None
            await session.starttls(context)
        await session.login(login)
    except BaseException:
        await session.close()
        raise
    return session


class AioimaplibSession:
    def __init__(self, client: Any, settings: ImapSettings, clock: Clock, lost: _Lost) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._lost = lost
        self._timeout = settings.timeout
        self._lock = anyio.Lock()
        self._dead = False
        self._idle: asyncio.Future[Any] | None = None

    @property
    def alive(self) -> bool:
        return not (self._dead or self._lost.lost)

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(str(c).upper() for c in self._client.protocol.capabilities)

    # -- the edge: deadlines and vendor exceptions --------------------------------------------

    async def call(
        self, what: str, send: Callable[[], Awaitable[T]], *, budget: float | None = None
    ) -> T:
        """`send()` under the deadline, one command at a time; any failure drops the session."""
        peer = self._settings.peer
        if not self.alive:
            raise TransientError(f"IMAP {what}: the connection to {peer} is closed")
        seconds = self._timeout if budget is None else budget
        async with self._lock:
            if not self.alive:  # dropped while this one waited for its turn
                raise TransientError(f"IMAP {what}: the connection to {peer} is closed")
            try:
                with fail_after(self._clock, seconds):
                    return await send()
            except (TimeoutError, aioimaplib.CommandTimeout):
                self._drop()
                raise TransientError(
                    f"IMAP {what}: no answer from {peer} within {seconds:g} s"
                ) from None
            except ssl.SSLCertVerificationError as error:
                self._drop()
                raise ConfigError(
                    f"the TLS certificate of {peer} is not trusted ({error.verify_message}); "
                    "fix the server's certificate or trust its CA with tls_ca"
                ) from None
            except ssl.SSLError as error:
                self._drop()
                if error.reason == "WRONG_VERSION_NUMBER":
                    raise ConfigError(
                        f"{peer} does not speak TLS on that port; are port and security right?"
                    ) from None
                raise TransientError(
                    f"IMAP {what}: TLS with {peer} failed ({error.reason or 'handshake'}); "
                    "are port and security right?"
                ) from None
            except OSError as error:
                self._drop()
                reason = error.strerror or type(error).__name__
                raise TransientError(f"IMAP {what}: cannot reach {peer}: {reason}") from None
            except aioimaplib.AioImapException:
                self._drop()
                raise TransientError(f"IMAP {what}: the connection to {peer} was lost") from None
            except BaseException:  # cancelled (or a bug) mid-command: the state is unknown
                self._drop()
                raise

    async def command(self, what: str, send: Callable[[], Awaitable[Any]]) -> Any:
        """A command that must answer OK: NO is a passing refusal, BAD our mistake."""
        response = await self.call(what, send)
        if response.result == "OK":
            return response
        said = _said(response)
        if response.result == "NO":
            raise TransientError(f"IMAP {what} refused by {self._settings.peer}: {said}")
        raise PermanentError(f"IMAP {what} rejected by {self._settings.peer}: {said}")

    # -- connecting ---------------------------------------------------------------------------

    async def starttls(self, context: ssl.SSLContext) -> None:
        peer = self._settings.peer
        if "STARTTLS" not in self.capabilities:
            raise ConfigError(f"{peer} does not offer STARTTLS; use security ssl (or none)")
        protocol = self._client.protocol
        command = aioimaplib.Command(
            "STARTTLS", protocol.new_tag(), loop=protocol.loop, timeout=self._timeout
        )
        await self.command("STARTTLS", lambda: protocol.execute(command))
        loop = asyncio.get_running_loop()
        transport = await self.call(
            "TLS handshake",
            lambda: loop.start_tls(
                protocol.transport, protocol, context, server_hostname=self._settings.host
            ),
        )
        protocol.transport = transport
        await self.call("CAPABILITY", protocol.capability)  # RFC 3501: ask again after TLS

    async def login(self, login: Login) -> None:
        protocol = self._client.protocol
        if protocol.state == aioimaplib.AUTH:  # PREAUTH greeting
            return
        if login.access_token is not None:
            sasl = _xoauth2_response(login.username, login.access_token.reveal())
            response = await self.call("AUTHENTICATE", lambda: self._xoauth2(sasl))
        else:
            assert login.password is not None
            if "LOGINDISABLED" in self.capabilities:
                raise ConfigError(
                    f"{self._settings.peer} refuses LOGIN without TLS; set security to ssl "
                    "or starttls"
                )
            password = login.password.reveal()
            user = quoted(login.username)
            response = await self.call("LOGIN", lambda: self._client.login(user, password))
        if response.result != "OK":
            raise login_refused(response.result, _last(response), login.mechanism)
        await self.call("CAPABILITY", protocol.capability)  # some servers add IDLE after login

    async def _xoauth2(self, sasl: str) -> Any:
        protocol = self._client.protocol
        async with protocol.state_condition:  # as aioimaplib's own login does
            response = await protocol.execute(_XOAuth2(protocol, sasl, self._timeout), scrub=sasl)
            if response.result == "OK":
                protocol.state = aioimaplib.AUTH
            protocol.state_condition.notify_all()
        return response

    # -- the session ----------------------------------------------------------------------------

    async def list_folders(self) -> tuple[ListedFolder, ...]:
        response = await self.command("LIST", lambda: self._client.list('""', '"*"'))
        return list_folders(response.lines[:-1])

    async def select(self, folder: str) -> Selected | None:
        response = await self.call("SELECT", lambda: self._client.select(quoted(folder)))
        if response.result == "OK":
            return selected(response.lines[:-1])
        if response.result == "NO" and select_refused(_last(response)):
            return None
        said = _said(response)
        raise TransientError(f"IMAP SELECT of a folder refused by {self._settings.peer}: {said}")

    async def search(self, after: int, since: date | None) -> tuple[int, ...]:
        criteria = ["UID", f"{after + 1}:*"]
        if since is not None:
            criteria += ["SINCE", search_date(since)]
        response = await self.command(
            "UID SEARCH", lambda: self._client.uid_search(*criteria, charset=None)
        )
        return tuple(uid for uid in search_uids(response.lines[:-1]) if uid > after)

    async def fetch(self, uids: Sequence[int], max_bytes: int) -> tuple[FetchedMessage, ...]:
        parts = f"(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]<0.{max_bytes}>)"
        which = uid_set(uids)
        response = await self.call(
            "UID FETCH",
            lambda: self._client.uid("fetch", which, parts),
            budget=self._timeout * FETCH_BUDGET,
        )
        if response.result != "OK":
            raise TransientError(f"IMAP UID FETCH refused by {self._settings.peer}")
        return fetched(response.lines[:-1])

    async def status(self, folder: str) -> FolderStatus:
        names = "(MESSAGES UIDNEXT UIDVALIDITY)"
        response = await self.command("STATUS", lambda: self._client.status(quoted(folder), names))
        return status(response.lines[:-1])

    async def noop(self) -> None:
        await self.command("NOOP", self._client.noop)

    async def idle(self, duration: float) -> AsyncGenerator[tuple[bytes, ...], None]:
        client = self._client
        if "IDLE" not in self.capabilities:
            raise ConfigError(f"{self._settings.peer} does not offer IDLE")
        idle = await self.call("IDLE", lambda: client.idle_start(timeout=duration))
        self._idle = idle  # aioimaplib forgets it when done; `_settle` takes its error
        # aioimaplib ends the wait with STOP_WAIT_SERVER_PUSH after `duration`; its own
        # timeout and our deadline are only there in case that never comes
        wait = duration + self._timeout
        try:
            while True:
                push = await self.call(
                    "IDLE", lambda: client.wait_server_push(wait), budget=wait + 1
                )
                if push is _LOST:
                    raise TransientError(
                        f"IMAP IDLE: the connection to {self._settings.peer} was lost"
                    )
                if push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                yield tuple(bytes(line) for line in push)
        except BaseException:  # lost, or closed while idling: IDLE cannot be ended politely
            self._drop()
            raise
        client.idle_done()
        await self.command("IDLE", lambda: idle)

    # -- closing ------------------------------------------------------------------------------

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            if self.alive and not self._lock.locked():
                with (
                    move_on_after(self._clock, min(self._timeout, LOGOUT_WAIT)),
                    contextlib.suppress(Exception),  # going anyway
                ):
                    await self._client.logout()
            self._drop()
            await self._settle()

    def _drop(self) -> None:
        """Forget the connection now: fail what is in flight, close the socket."""
        if self._dead:
            return
        self._dead = True
        client = self._client
        protocol = client.protocol
        _fail_pending(protocol)
        if client._idle_waiter is not None:
            client._idle_waiter.cancel()
        for task in self._tasks():
            task.cancel()
        if protocol.transport is not None:
            protocol.transport.abort()

    def _tasks(self) -> list[asyncio.Future[Any]]:
        client = self._client
        idle = [] if self._idle is None else [self._idle]
        return [client._client_task, *client.tasks, *client.protocol.tasks, *idle]

    async def _settle(self) -> None:
        """Wait for aioimaplib's own tasks to finish cancelling, and take their errors."""
        tasks = self._tasks()
        pending = [task for task in tasks if not task.done()]
        if pending:
            await asyncio.wait(pending)
        for task in tasks:
            if not task.cancelled():
                task.exception()


def _xoauth2_response(username: str, token: str) -> str:
    raw = f"user={username}\x01auth=Bearer {token}\x01\x01".encode()
    return base64.b64encode(raw).decode("ascii")


def _last(response: Any) -> bytes:
    lines = response.lines
    return bytes(lines[-1]) if lines else b""


def _said(response: Any) -> str:
    return _last(response).decode("utf-8", "replace").strip()[:200]
