"""A fetched message as a record: headers, text, attachment metadata; pure, no I/O.

Parsed with the stdlib `email` package (policy `default`: RFC 2047 words decoded, addresses
parsed). Mail is outside input: every header is read on its own and a malformed one becomes
its raw text or None, never an error that would stop the sync. Strings are cleaned for JSON
storage (no NUL, which PostgreSQL's jsonb refuses; no lone surrogates, left by undecodable
8-bit headers). Attachments are described (name, type, size), never kept.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from adapters._values import JsonObject, JsonValue, SourceRecord
from adapters.imap._responses import FetchedMessage
from adapters.imap._wire import internal_date

ADDRESS_HEADERS = ("from", "to", "cc", "bcc", "reply_to")
_SESSION_FLAGS = frozenset({"\\recent"})  # per session: would change the record every sync
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
     "pre", "hr", "section", "article", "header", "footer"}
)  # fmt: skip
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Limits:
    max_text_chars: int
    max_message_bytes: int


def external_id(folder: str, uidvalidity: int, uid: int) -> str:
    """`{folder}/{uidvalidity}/{uid}`: unique for as long as the server keeps the message
    under this UID; a folder name may itself hold `/`, the last two parts never do."""
    return f"{folder}/{uidvalidity}/{uid}"


def message_record(
    folder: str, uidvalidity: int, fetched: FetchedMessage, limits: Limits
) -> SourceRecord:
    message = email.message_from_bytes(fetched.body, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text, text_type, cut = _text(message, limits.max_text_chars)
    received = internal_date(fetched.internal_date)
    data: dict[str, JsonValue] = {
        "folder": folder,
        "uidvalidity": uidvalidity,
        "uid": fetched.uid,
        "message_id": _header(message, "message-id"),
        "in_reply_to": _header(message, "in-reply-to"),
        "references": (_header(message, "references") or "").split(),
        "subject": _header(message, "subject"),
        "date": _date(message),
        "received": received.isoformat() if received else None,
        **{name: _addresses(message, name.replace("_", "-")) for name in ADDRESS_HEADERS},
        "flags": sorted(f for f in fetched.flags if f.lower() not in _SESSION_FLAGS),
        "size": fetched.size,
        "text": text,
        "text_type": text_type,
        "text_truncated": cut,
        "attachments": [dict(a) for a in attachments(message)],
        "partial": fetched.size is not None and fetched.size > limits.max_message_bytes,
    }
    cleaned = {key: _clean(value) for key, value in data.items()}
    return SourceRecord(external_id(folder, uidvalidity, fetched.uid), cleaned)


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # the email package's header parsers raise on some malformed input
        value = _raw_header(message, name)
    if value is None:
        return None
    return " ".join(str(value).split()) or None


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items() if isinstance(message, EmailMessage) else ():
        if key.lower() == name:
            return str(value)
    return None


def _addresses(message: Message, name: str) -> list[JsonValue]:
    try:
        header = message.get(name)
        found = getattr(header, "addresses", None)
        if found is None:
            return [] if header is None else [{"name": None, "address": str(header).strip()}]
        return [
            {"name": address.display_name or None, "address": address.addr_spec or None}
            for address in found
        ]
    except Exception:  # as above: a header we cannot parse is kept as its text
        raw = _raw_header(message, name)
        return [] if raw is None else [{"name": None, "address": " ".join(raw.split())}]


def _date(message: Message) -> str | None:
    try:
        header = message.get("date")
        value = getattr(header, "datetime", None)
    except Exception:  # an unparsable Date header is no date
        return None
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


# -- the text -------------------------------------------------------------------------------


def _text(message: EmailMessage, limit: int) -> tuple[str | None, str | None, bool]:
    """(text, "plain" | "html", whether it was cut at `limit` characters)."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # a broken MIME tree has no body we can find
        part = None
    if part is None or limit == 0:
        return None, None, False
    content = _content(part)
    kind = part.get_content_subtype()
    if kind == "html":
        content = html_text(content)
    content = _tidy(content)
    if len(content) > limit:
        return content[:limit].rstrip(), kind, True
    return content, kind, False


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]  # EmailMessage under policy.default
        if isinstance(content, str):
            return content
    except (LookupError, ValueError, AssertionError):  # unknown charset, bad transfer encoding
        pass
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, "replace")
        except LookupError:
            return payload.decode("utf-8", "replace")
    return ""


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).rstrip() for line in text.replace("\r\n", "\n").split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _CELLS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(" ".join(data.split("\n")))


def html_text(html: str) -> str:
    """The readable text of an HTML body: tags dropped, scripts and styles left out, a line
    break for each block; good enough to read and search, not a renderer."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return _tidy("\n".join(line.strip() for line in "".join(parser.parts).split("\n")))


# -- attachments ----------------------------------------------------------------------------


def attachments(message: EmailMessage) -> Iterator[JsonObject]:
    """Each attached part: filename, content type, decoded size, whether shown inline. The
    body, and the text or HTML alternatives of it, are not attachments; an attached message
    (message/rfc822) is one attachment, not searched inside."""
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:  # as in _text
        body = None
    yield from _walk(message, body)


def _walk(part: Message, body: Message | None) -> Iterator[JsonObject]:
    content_type = part.get_content_type()
    if content_type != "message/rfc822" and part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _walk(child, body)
        return
    if part is body:
        return
    filename = _filename(part)
    disposition = part.get_content_disposition()
    if filename is None and disposition != "attachment" and part.get_content_maintype() == "text":
        return
    yield {
        "filename": filename,
        "content_type": content_type,
        "size": _size(part),
        "inline": disposition == "inline",
    }


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except Exception:  # a malformed Content-Disposition: no name we can read
        return None


def _size(part: Message) -> int:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return len(payload)
    try:
        return len(part.as_bytes())
    except Exception:  # an attached message that cannot be written back: count what we have
        return len(str(part.get_payload()))


def _clean(value: JsonValue) -> JsonValue:
    """Strings fit for JSON storage: NUL removed, lone surrogates replaced."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    return value
