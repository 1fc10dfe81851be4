"""IMAP's wire syntax, without I/O: the parts of RFC 3501 the adapter reads and writes.

- `parse`: a server response (as aioimaplib hands it over: text lines, with each literal's
  bytes as an element of its own after the line announcing it) as nested values: atoms as
  `str`, strings (quoted or literal) as `bytes`, parenthesised lists as `list`.
- `encode_folder`/`decode_folder`: the modified UTF-7 of mailbox names (RFC 3501 5.1.3).
- `quoted`, `uid_set`, `search_date`, `internal_date`: what commands need and dates read.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TypeAlias

Value: TypeAlias = "str | bytes | list[Value]"

_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}$")
_MARK = 0  # NUL never occurs in IMAP text: it stands for "the next literal" in a joined line
_ATOM_END = frozenset(b" ()")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_INTERNAL_DATE = re.compile(
    r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*"
)


class WireError(ValueError):
    """A response that does not follow the syntax."""


def responses(lines: Sequence[bytes | bytearray]) -> Iterator[tuple[bytes, list[bytes]]]:
    """Group aioimaplib's lines into whole responses: (the text with a NUL where each literal
    was, the literals in order). A `bytearray` element is the literal the line before it
    announced. After a literal a response goes on with a space or `)`; aioimaplib drops the
    empty rest of a line, so a line starting otherwise is the next response."""
    text: list[bytes] = []
    literals: list[bytes] = []
    after_literal = False
    for line in lines:
        if isinstance(line, bytearray):
            literals.append(bytes(line))
            after_literal = True
            continue
        continues = after_literal and line[:1] in (b" ", b")")
        if text and not continues:
            yield b"".join(text), literals
            text, literals = [], []
        announced = _LITERAL_AT_END.search(line)
        text.append(line[: announced.start()] + bytes([_MARK]) if announced else line)
        after_literal = False
    if text:
        yield b"".join(text), literals


def parse(text: bytes, literals: Sequence[bytes] = ()) -> list[Value]:
    """The values of one response, in order."""
    reader = _Reader(text, literals)
    values = reader.values(closing=False)
    if reader.pos != len(text):
        raise WireError("unbalanced ')'")
    return values


class _Reader:
    def __init__(self, text: bytes, literals: Sequence[bytes]) -> None:
        self.text = text
        self.pos = 0
        self.literals = iter(literals)

    def values(self, *, closing: bool) -> list[Value]:
        found: list[Value] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == 0x20:
                self.pos += 1
            elif char == 0x28:  # (
                self.pos += 1
                found.append(self.values(closing=True))
            elif char == 0x29:  # )
                if not closing:
                    return found
                self.pos += 1
                return found
            elif char == 0x22:  # "
                found.append(self._quoted())
            elif char == _MARK:
                self.pos += 1
                literal = next(self.literals, None)
                if literal is None:
                    raise WireError("a literal was announced but not received")
                found.append(literal)
            else:
                found.append(self._atom())
        if closing:
            raise WireError("unclosed '('")
        return found

    def _quoted(self) -> bytes:
        text = self.text
        out = bytearray()
        pos = self.pos + 1
        while pos < len(text):
            char = text[pos]
            if char == 0x5C and pos + 1 < len(text):  # backslash
                out.append(text[pos + 1])
                pos += 2
            elif char == 0x22:
                self.pos = pos + 1
                return bytes(out)
            else:
                out.append(char)
                pos += 1
        raise WireError("unclosed quoted string")

    def _atom(self) -> str:
        """An atom, a number, NIL, a flag or a section like `BODY[HEADER.FIELDS (A B)]<0>`."""
        text = self.text
        start = pos = self.pos
        depth = 0
        while pos < len(text) and (depth or text[pos] not in _ATOM_END):
            if text[pos] == 0x5B:  # [
                depth += 1
            elif text[pos] == 0x5D and depth:  # ]
                depth -= 1
            pos += 1
        self.pos = pos
        return text[start:pos].decode("ascii", "replace")


def as_text(value: Value | None) -> str | None:
    """A string or atom as text (NIL as None); bytes are decoded as UTF-8, leniently."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return None if value.upper() == "NIL" else value
    return None


def as_int(value: Value | None) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def pairs(items: Sequence[Value]) -> dict[str, Value]:
    """A `(KEY value KEY value ...)` list by upper-cased key."""
    return {
        str(items[i]).upper(): items[i + 1]
        for i in range(0, len(items) - 1, 2)
        if isinstance(items[i], str)
    }


# -- mailbox names ---------------------------------------------------------------------------


def encode_folder(name: str) -> str:
    """A mailbox name in modified UTF-7: printable ASCII as itself (`&` as `&-`), anything
    else as `&` + base64 of its UTF-16BE with `,` for `/` + `-`."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + raw.replace(b"/", b",").decode("ascii") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_folder(name: str) -> str:
    """A mailbox name as the user reads it; a name that is not valid modified UTF-7 (some
    servers allow raw UTF-8) is returned as it is."""
    out: list[str] = []
    pos = 0
    while pos < len(name):
        amp = name.find("&", pos)
        if amp < 0:
            out.append(name[pos:])
            break
        out.append(name[pos:amp])
        end = name.find("-", amp)
        if end < 0:
            return name
        if end == amp + 1:
            out.append("&")
        else:
            chunk = name[amp + 1 : end].replace(",", "/")
            try:
                raw = base64.b64decode(chunk + "=" * (-len(chunk) % 4), validate=True)
                out.append(raw.decode("utf-16-be"))
            except (binascii.Error, UnicodeDecodeError):
                return name
        pos = end + 1
    return "".join(out)


def normal_folder(name: str) -> str:
    """INBOX is case-insensitive (RFC 3501 5.1); every other name is as the server spells it."""
    return "INBOX" if name.upper() == "INBOX" else name


# -- command arguments -----------------------------------------------------------------------


def quoted(text: str) -> str:
    """A quoted string argument (CR, LF and NUL cannot be sent at all: aioimaplib refuses)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: Sequence[int]) -> str:
    """Ascending UIDs as a compact set: [1, 2, 3, 7, 9, 10] -> "1:3,7,9:10"."""
    if not uids:
        raise ValueError("an empty UID set cannot be sent")
    ranges: list[str] = []
    start = previous = uids[0]
    for uid in (*uids[1:], None):
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        ranges.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(ranges)


def search_date(day: date) -> str:
    """A SEARCH date: 1-Feb-2025 (English month names whatever the locale)."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def internal_date(text: str | None) -> datetime | None:
    """An INTERNALDATE ("17-Jul-1996 02:44:25 -0700") as an aware datetime, or None."""
    match = _INTERNAL_DATE.fullmatch(text or "")
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    if month.title() not in _MONTHS:
        return None
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        zone = UTC if not offset else timezone(offset)
        return datetime(
            int(year), _MONTHS.index(month.title()) + 1, int(day),
            int(hour), int(minute), int(second), tzinfo=zone,
        )  # fmt: skip
    except ValueError:
        return None
