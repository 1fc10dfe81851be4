"""Mail as a person's mail program writes it, for the tests to deliver."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime


def message(
    n: int,
    *,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
    sender: str = "Anna Schmidt <anna@example.com>",
    to: str = "Hub <hub@example.com>",
    cc: str | None = None,
    in_reply_to: str | None = None,
    date: datetime = datetime(2025, 7, 1, 10, 0, tzinfo=UTC),
) -> bytes:
    """Message `n` (Message-ID `<n@example.com>`): a plain text body unless `html` is given
    (then both, as alternatives, or HTML only when `text` is ""), and an attachment."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject if subject is not None else f"Message {n}"
    mail["Message-ID"] = f"<{n}@example.com>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    mail["Date"] = format_datetime(date)
    body = text if text is not None else f"Hello, this is message {n}."
    if html is not None and body == "":
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
        if html is not None:
            mail.add_alternative(html, subtype="html")
    if attachment is not None:
        filename, content_type, data = attachment
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
