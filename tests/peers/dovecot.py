"""Dovecot (IMAP) for tests: a server of the test's own on a free port, with a private config.

`dovecot -F -c DIR/dovecot.conf` runs in the foreground with everything inside DIR: sockets,
state, log, and the mail (maildir, one home per user). What the notes in
`../shared/testing-notes.md` warn about is done here: DIR is `mkdtemp(dir="/tmp")` made
readable for the `dovecot` user (pytest's `tmp_path` is 0700), `first_valid_uid = 1` (without
it a login "succeeds" and the next command hangs), and `stop()` waits for the server's PID
to exit before the port is used again. Starting takes ~0.1 s, stopping 1-3 s, so a test
module shares one server and each test gets a user of its own (`add_user`). A refused login
slows the next logins from 127.0.0.1 down for seconds (Dovecot's auth penalty): a test that
fails a login on purpose takes a server of its own. With `tls=True` a self-signed
certificate is made and an `imaps` port opened besides the plain one (which also offers
STARTTLS).

The methods are synchronous (`subprocess`), so a module-scoped fixture can own the server
whatever event loop each test runs in; async tests call them through `anyio.to_thread`.
A missing binary skips the test with the install hint, unless `HUB_REQUIRE_PEERS=1`.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import aioimaplib  # type: ignore[import-untyped]  # no type information shipped
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

INSTALL_HINT = "Dovecot is not installed: apt-get install -y dovecot-imapd"
_BINARY_FALLBACK = "/usr/sbin/dovecot"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
STRAGGLERS_GRACE = 2.0  # seconds a process of the server may outlive its master at stop
_POLL = 0.01


def missing_peer(reason: str) -> NoReturn:
    """Skip the test, or fail it when peers are required (`HUB_REQUIRE_PEERS=1`, as in CI)."""
    if os.environ.get("HUB_REQUIRE_PEERS") == "1":
        pytest.fail(f"required peer missing: {reason}", pytrace=False)
    pytest.skip(reason)


def dovecot_binary() -> str:
    found = shutil.which("dovecot")
    if found is None and os.access(_BINARY_FALLBACK, os.X_OK):
        found = _BINARY_FALLBACK
    if found is None:
        missing_peer(INSTALL_HINT)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of the group runs as another user: still there
        return True
    return True


@dataclass(frozen=True)
class Account:
    username: str
    password: str


class Dovecot:
    """One Dovecot on fixed ports and a fixed directory: stop and start it again (an outage),
    and the mail is still there."""

    def __init__(self, binary: str, directory: Path, *, tls: bool = False) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.users = directory / "users"
        self.log_path = directory / "dovecot.log"
        self.ca_pem: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._configure()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def add_user(self, username: str, password: str = "secret") -> Account:
        """A user with a mailbox of its own, usable at once: each user has a passwd file of
        its own (`users/NAME`), read on first use; one shared file would be re-read only
        when Dovecot notices that it changed, which can take seconds."""
        account = Account(username, password)
        path = self.users / username
        path.write_text(f"{username}:{{PLAIN}}{password}\n")
        path.chmod(0o644)
        return account

    def start(self) -> None:
        if self.running:
            raise RuntimeError("Dovecot is already running")
        self._output = (self.directory / "stdout.log").open("ab")
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.directory / "dovecot.conf")],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: `stop` ends every process of it
        )
        deadline = time.monotonic() + START_TIMEOUT
        ports = [p for p in (self.port, self.tls_port) if p is not None]
        while not all(_accepts(port) for port in ports):
            if not self.running:
                self._close_output()
                raise RuntimeError(f"Dovecot exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Dovecot did not listen within {START_TIMEOUT} s")
            time.sleep(_POLL)

    def stop(self) -> None:
        """SIGTERM to the server's process group, then wait for the PID and every process of
        the group to exit (1-3 s). The group matters: a session process can outlive the master
        for seconds with its client still connected, which is not what a stopped server is."""
        process = self._process
        if process is not None:
            group = process.pid  # the session leader's pid is the group id
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
            self._process = None
            deadline = time.monotonic() + STRAGGLERS_GRACE
            while _group_alive(group):
                if time.monotonic() > deadline:  # e.g. a login process sitting out a penalty
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(group, signal.SIGKILL)
                time.sleep(_POLL)
        self._close_output()
        deadline = time.monotonic() + STOP_TIMEOUT
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(_POLL)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None

    def _configure(self) -> None:
        d = self.directory
        mail = d / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            shutil.chown(mail, "dovecot", "dovecot")
            user, internal = "dovecot", ""
        else:  # untested here (CI runs as root): everything as the current user
            me = pwd.getpwuid(os.geteuid()).pw_name
            user = me
            internal = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        self.users.mkdir()
        self.users.chmod(0o755)
        tls = "ssl = no\n"
        imaps = "    port = 0\n"
        if self.tls_port is not None:
            self.ca_pem = _self_signed(d)
            tls = f"ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n"
            imaps = f"    address = 127.0.0.1\n    port = {self.tls_port}\n"
        (d / "dovecot.conf").write_text(
            f"base_dir = {d}/run\n"
            f"state_dir = {d}/state\n"
            f"log_path = {self.log_path}\n"
            f"{internal}"
            "protocols = imap\n"
            "listen = 127.0.0.1\n"
            f"{tls}"
            "disable_plaintext_auth = no\n"
            "auth_mechanisms = plain login xoauth2\n"
            "auth_failure_delay = 0\n"
            "first_valid_uid = 1\n"
            "mail_location = maildir:~/Maildir\n"
            f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {self.users}/%u\n}}\n"
            f"userdb {{\n  driver = static\n  args = uid={user} gid={user} home={mail}/%u\n}}\n"
            "service imap-login {\n"
            f"  inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}\n"
            f"  inet_listener imaps {{\n{imaps}  }}\n"
            "}\n"
        )


def _self_signed(directory: Path) -> str:
    """A certificate for 127.0.0.1 and localhost (its own CA): returns its PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "cert.pem").write_bytes(pem)
    key_path = directory / "key.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o644)  # read by Dovecot's unprivileged processes; a throwaway key
    return pem.decode()


@contextlib.contextmanager
def running_dovecot(*, tls: bool = False) -> Iterator[Dovecot]:
    """A started Dovecot in a fresh directory; stopped and deleted on exit."""
    binary = dovecot_binary()
    directory = Path(tempfile.mkdtemp(prefix="hub-dovecot-", dir="/tmp"))
    directory.chmod(0o755)
    server = Dovecot(binary, directory, tls=tls)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


# -- another mail client, for the test to change the mailbox ------------------------------------


class MailClient:
    """What a person's mail program does to the mailbox: deliver, delete, make folders."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def _ok(self, response: Any, what: str) -> Any:
        if response.result != "OK":
            raise AssertionError(f"{what}: {response.result} {response.lines}")
        return response

    async def append(
        self,
        message: bytes,
        folder: str = "INBOX",
        flags: str | None = None,
        received: datetime.datetime | None = None,
    ) -> None:
        """Deliver `message` (its internal date `received`, else now)."""
        response = await self._client.append(message, _quoted(folder), flags, received)
        await self._ok(response, "APPEND")

    async def create(self, folder: str) -> None:
        await self._ok(await self._client.create(_quoted(folder)), "CREATE")

    async def delete_folder(self, folder: str) -> None:
        await self._ok(await self._client.delete(_quoted(folder)), "DELETE")

    async def expunge(self, folder: str, uid: int) -> None:
        """Delete one message for good (as emptying the trash does)."""
        await self._ok(await self._client.select(_quoted(folder)), "SELECT")
        await self._ok(await self._client.uid("store", str(uid), "+FLAGS", "(\\Deleted)"), "STORE")
        await self._ok(await self._client.expunge(), "EXPUNGE")
        await self._ok(await self._client.close(), "CLOSE")

    async def flag(self, folder: str, uid: int, flag: str) -> None:
        await self._ok(await self._client.select(_quoted(folder)), "SELECT")
        await self._ok(await self._client.uid("store", str(uid), "+FLAGS", f"({flag})"), "STORE")
        await self._ok(await self._client.close(), "CLOSE")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.asynccontextmanager
async def mail_client(server: Dovecot, account: Account) -> AsyncIterator[MailClient]:
    client = aioimaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    try:
        await client.wait_hello_from_server()
        response = await client.login(account.username, account.password)
        if response.result != "OK":
            raise AssertionError(f"the test's own login failed: {response.lines}")
        yield MailClient(client)
    finally:
        with contextlib.suppress(Exception):
            await client.logout()
