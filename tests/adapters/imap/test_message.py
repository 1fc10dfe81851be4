"""A message's record from its raw bytes, without sockets: headers, text, attachments."""

from __future__ import annotations

import json
from email.message import EmailMessage

from adapters import JsonValue
from adapters.imap._message import Limits, html_text, message_record
from adapters.imap._responses import FetchedMessage
from tests.adapters.imap.mail import message

LIMITS = Limits(max_text_chars=20_000, max_message_bytes=1_000_000)


def _record(
    raw: bytes,
    *,
    flags: tuple[str, ...] = (),
    limits: Limits = LIMITS,
    size: int | None = None,
) -> dict[str, JsonValue]:
    fetched = FetchedMessage(
        uid=7,
        flags=flags,
        internal_date="01-Jul-2025 10:00:05 +0200",
        size=len(raw) if size is None else size,
        body=raw,
    )
    record = message_record("Archiv/2025", 42, fetched, limits)
    assert record.external_id == "Archiv/2025/42/7"
    data = dict(record.data)
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # storable: no surrogates
    return data


def test_message_headers_as_fields() -> None:
    raw = message(
        1,
        subject="Grüße aus Köln",
        sender='"Schmidt, Anna" <anna@example.com>',
        to="hub@example.com, Bob <bob@example.com>",
        cc="Carla <carla@example.com>",
        in_reply_to="<0@example.com>",
    )
    data = _record(raw, flags=("\\Seen", "\\Recent", "\\Flagged"))
    assert data["subject"] == "Grüße aus Köln"
    assert data["message_id"] == "<1@example.com>"
    assert data["in_reply_to"] == "<0@example.com>"
    assert data["from"] == [{"name": "Schmidt, Anna", "address": "anna@example.com"}]
    assert data["to"] == [
        {"name": None, "address": "hub@example.com"},
        {"name": "Bob", "address": "bob@example.com"},
    ]
    assert data["cc"] == [{"name": "Carla", "address": "carla@example.com"}]
    assert data["bcc"] == []
    assert data["date"] == "2025-07-01T10:00:00+00:00"
    assert data["received"] == "2025-07-01T10:00:05+02:00"
    assert data["flags"] == ["\\Flagged", "\\Seen"]  # \Recent is per session: left out
    assert (data["folder"], data["uidvalidity"], data["uid"]) == ("Archiv/2025", 42, 7)
    assert data["text"] == "Hello, this is message 1."
    assert (data["text_type"], data["text_truncated"], data["partial"]) == ("plain", False, False)
    assert data["attachments"] == []


def test_message_plain_text_preferred_over_html() -> None:
    data = _record(message(2, text="Plain words.", html="<p>HTML words</p>"))
    assert (data["text"], data["text_type"]) == ("Plain words.", "plain")
    assert data["attachments"] == []  # the HTML alternative is no attachment


def test_message_html_only_stripped_simply() -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<p>Hallo &amp; willkommen,</p><div>zweite&nbsp;Zeile<br>dritte</div>"
        "<script>alert(1)</script><ul><li>eins</li><li>zwei</li></ul></body></html>"
    )
    data = _record(message(3, text="", html=html))
    assert data["text_type"] == "html"
    assert data["text"] == "Hallo & willkommen,\n\nzweite Zeile\ndritte\n\neins\n\nzwei"
    assert "alert" not in str(data["text"])


def test_html_text_keeps_words_apart_across_tags() -> None:
    assert html_text("<td>a</td><td>b</td><tr><td>c</td></tr>") == "a b\nc"


def test_message_text_capped_and_marked() -> None:
    data = _record(message(4, text="x" * 50), limits=Limits(10, 1_000_000))
    assert (data["text"], data["text_truncated"]) == ("x" * 10, True)


def test_message_no_text_when_cap_is_zero() -> None:
    data = _record(message(4), limits=Limits(0, 1_000_000))
    assert (data["text"], data["text_type"]) == (None, None)


def test_message_attachment_metadata_never_bytes() -> None:
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 40
    data = _record(message(5, attachment=("Rechnung März.pdf", "application/pdf", pdf)))
    assert data["attachments"] == [
        {
            "filename": "Rechnung März.pdf",
            "content_type": "application/pdf",
            "size": len(pdf),
            "inline": False,
        }
    ]
    assert "JVBERi" not in json.dumps(data)  # the base64 of "%PDF" appears nowhere


def test_message_inline_image_and_attached_message_listed_once_each() -> None:
    mail = EmailMessage()
    mail["Subject"] = "Forward"
    mail.set_content("see below")
    mail.add_related(b"\x89PNG....", maintype="image", subtype="png", cid="<logo>")
    inner = EmailMessage()
    inner["Subject"] = "Inner"
    inner.set_content("inner text")
    inner.add_attachment(b"zip", maintype="application", subtype="zip", filename="inner.zip")
    mail.add_attachment(inner)
    data = _record(mail.as_bytes())
    attached = data["attachments"]
    assert isinstance(attached, list)
    types = [a["content_type"] for a in attached if isinstance(a, dict)]
    assert types == ["image/png", "message/rfc822"]
    assert data["text"] == "see below"


def test_message_malformed_headers_do_not_stop_it() -> None:
    raw = (
        b"From: <<<broken@@example..com\r\n"
        b"To: undisclosed-recipients:;\r\n"
        b"Subject: =?unknown-8bit?q?=E4=F6?= \xe4rger\r\n"
        b"Date: not a date\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n"
        b"\r\n"
        b"Body with a NUL \x00 and Latin-1 \xe4.\r\n"
    )
    data = _record(raw)
    assert data["date"] is None
    assert isinstance(data["subject"], str)
    assert isinstance(data["from"], list)
    assert data["to"] == []
    text = str(data["text"])
    assert "\x00" not in text
    assert text.startswith("Body with a NUL")


def test_message_without_anything_still_a_record() -> None:
    data = _record(b"\r\n")
    assert data["subject"] is None
    assert data["message_id"] is None
    assert data["references"] == []
    assert data["from"] == []


def test_message_over_the_byte_limit_is_partial() -> None:
    raw = message(6, text="y" * 100)
    data = _record(raw[:80], size=len(raw) * 100, limits=Limits(20_000, len(raw)))
    assert data["partial"] is True
