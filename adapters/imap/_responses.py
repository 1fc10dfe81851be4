"""What the adapter reads out of IMAP responses, as plain values; no I/O.

Each function takes the untagged lines of one command's response (aioimaplib's
`Response.lines` without the last, which is the tagged status text) and returns our values.
Lines the adapter did not ask for (a FETCH of flags another client changed, a pushed EXISTS)
may be mixed in; they are skipped, not mistaken for answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from adapters._errors import AuthError, ConfigError, IntegrationError, TransientError
from adapters.imap._wire import (
    Value,
    WireError,
    as_int,
    as_text,
    normal_folder,
    pairs,
    parse,
    responses,
)

Lines = Sequence[bytes | bytearray]

_FETCH = re.compile(rb"\d+ FETCH ")
_EXISTS = re.compile(rb"\s*\d+ EXISTS\s*", re.IGNORECASE)
_CODE = re.compile(rb"\[([A-Z-]+)[^\]]*\]")
_SELECT_CODES = {
    "UIDVALIDITY": re.compile(rb"OK \[UIDVALIDITY (\d+)\]", re.IGNORECASE),
    "UIDNEXT": re.compile(rb"OK \[UIDNEXT (\d+)\]", re.IGNORECASE),
}
_SELECT_EXISTS = re.compile(rb"(\d+) EXISTS", re.IGNORECASE)
_NOT_SELECTABLE = frozenset({"\\NOSELECT", "\\NONEXISTENT"})
_NO_SUCH_FOLDER = frozenset({"NONEXISTENT", "NOPERM", "CANNOT"})


@dataclass(frozen=True, slots=True)
class ListedFolder:
    """One LIST answer: the mailbox name as sent on the wire, its hierarchy delimiter."""

    name: str
    delimiter: str | None
    attributes: frozenset[str]

    @property
    def selectable(self) -> bool:
        return not (self.attributes & _NOT_SELECTABLE)


@dataclass(frozen=True, slots=True)
class Selected:
    """What SELECT told about a folder."""

    uidvalidity: int
    exists: int
    uidnext: int | None = None


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """STATUS of a folder: changes in any of these mean something arrived or went."""

    messages: int | None
    uidnext: int | None
    uidvalidity: int | None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message of a UID FETCH: `body` is the raw RFC 822 message (or its first part)."""

    uid: int
    flags: tuple[str, ...]
    internal_date: str | None
    size: int | None
    body: bytes = b""

    def __repr__(self) -> str:  # never the message itself in logs or test output
        return f"FetchedMessage(uid={self.uid}, size={self.size}, body={len(self.body)} bytes)"


def list_folders(lines: Lines) -> tuple[ListedFolder, ...]:
    """The answers of `LIST "" "*"`: `(attributes) delimiter name` each."""
    found: list[ListedFolder] = []
    for text, literals in responses(lines):
        try:
            values = parse(text, literals)
        except WireError:
            continue
        if len(values) < 3 or not isinstance(values[0], list):
            continue
        name = as_text(values[2])
        if name is None:
            continue
        attributes = frozenset(str(a).upper() for a in values[0] if isinstance(a, str))
        found.append(ListedFolder(normal_folder(name), as_text(values[1]), attributes))
    return tuple(found)


def selected(lines: Lines) -> Selected:
    """UIDVALIDITY, EXISTS and UIDNEXT from a SELECT's untagged answers."""
    text = [bytes(line) for line in lines]
    codes: dict[str, int] = {}
    exists = 0
    for line in text:
        for name, pattern in _SELECT_CODES.items():
            match = pattern.search(line)
            if match:
                codes[name] = int(match.group(1))
        match = _SELECT_EXISTS.fullmatch(line.strip())
        if match:
            exists = int(match.group(1))
    if "UIDVALIDITY" not in codes:
        raise TransientError("the IMAP server selected the folder but sent no UIDVALIDITY")
    return Selected(codes["UIDVALIDITY"], exists, codes.get("UIDNEXT"))


def select_refused(text: bytes) -> bool:
    """Whether a SELECT's NO says the folder is not there or not ours to read (RFC 5530
    codes; servers without codes say "doesn't exist"), rather than a passing trouble."""
    match = _CODE.search(text)
    if match is not None:
        return match.group(1).decode() in _NO_SUCH_FOLDER
    return b"exist" in text.lower()


def search_uids(lines: Lines) -> tuple[int, ...]:
    """The UIDs of a UID SEARCH, ascending (aioimaplib strips the leading `SEARCH`)."""
    uids: set[int] = set()
    for line in lines:
        for word in bytes(line).split():
            if word.isdigit():
                uids.add(int(word))
    return tuple(sorted(uids))


def status(lines: Lines) -> FolderStatus:
    """`name (MESSAGES n UIDNEXT n UIDVALIDITY n)` of a STATUS."""
    for text, literals in responses(lines):
        try:
            values = parse(text, literals)
        except WireError:
            continue
        if values and isinstance(values[-1], list):
            items = pairs(values[-1])
            return FolderStatus(
                as_int(items.get("MESSAGES")),
                as_int(items.get("UIDNEXT")),
                as_int(items.get("UIDVALIDITY")),
            )
    raise TransientError("the IMAP server answered STATUS without the folder's status")


def fetched(lines: Lines) -> tuple[FetchedMessage, ...]:
    """The messages of a `UID FETCH ... (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]...)`,
    in the order received; unsolicited FETCHes (no UID or no body) are left out."""
    found: list[FetchedMessage] = []
    for text, literals in responses(lines):
        if not _FETCH.match(text):
            continue
        try:
            values = parse(text, literals)
        except WireError as error:
            raise TransientError(
                f"the IMAP server sent a FETCH answer we cannot read: {error}"
            ) from None
        message = _message(values)
        if message is not None:
            found.append(message)
    return tuple(found)


def _message(values: list[Value]) -> FetchedMessage | None:
    if len(values) < 3 or not isinstance(values[2], list):
        return None
    items = pairs(values[2])
    uid = as_int(items.get("UID"))
    body = next((v for k, v in items.items() if k.startswith("BODY[]")), None)
    if uid is None or not isinstance(body, bytes):
        return None
    flags = items.get("FLAGS")
    return FetchedMessage(
        uid=uid,
        flags=tuple(str(f) for f in flags if isinstance(f, str)) if isinstance(flags, list) else (),
        internal_date=as_text(items.get("INTERNALDATE")),
        size=as_int(items.get("RFC822.SIZE")),
        body=body,
    )


def new_mail(lines: Lines) -> bool:
    """Whether what the server pushed during IDLE says a message arrived (`n EXISTS`).
    Flag changes and expunges are left to the next full sync."""
    return any(_EXISTS.fullmatch(bytes(line)) for line in lines)


def login_refused(result: str, text: bytes, mechanism: str) -> IntegrationError:
    """The error for a refused LOGIN or AUTHENTICATE, by its RFC 5530 response code: bad or
    expired credentials stop the integration, a server that is busy is tried again."""
    match = _CODE.search(text)
    code = match.group(1).decode() if match else ""
    said = text.decode("utf-8", "replace").strip()[:200]
    if code in ("UNAVAILABLE", "SERVERBUG", "INUSE", "LIMIT"):
        return TransientError(f"the IMAP server cannot log us in right now: {said}")
    if code in ("PRIVACYREQUIRED", "CLIENTBUG"):
        return ConfigError(
            f"the IMAP server refused {mechanism}: {said} (set security to ssl or starttls)"
        )
    if result == "BAD" and not code:
        return ConfigError(f"the IMAP server does not accept {mechanism}: {said}")
    return AuthError(f"the IMAP server refused the credentials ({mechanism}): {said}")
