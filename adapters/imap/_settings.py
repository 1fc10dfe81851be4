"""The IMAP adapter's settings (the setup wizard builds its form from their JSON Schema) and
its credentials: `password` for LOGIN, or `access_token` for AUTHENTICATE XOAUTH2."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Annotated

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from adapters._contract import AdapterContext
from adapters._errors import ConfigError
from adapters.imap._wire import encode_folder, normal_folder
from config import describe_validation_error
from runtime.vault import Secret

PASSWORD = "password"
ACCESS_TOKEN = "access_token"

_ONE_LINE = r"^[^\r\n\x00]+$"  # CR, LF and NUL would end an IMAP command line
FolderName = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=_ONE_LINE)]


class Security(enum.StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class ImapSettings(BaseModel):
    """Where the mailbox is, which folders to read, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Email (IMAP) settings")

    host: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9.:\[\]_-]+$",
        description="The mail server, e.g. imap.example.com.",
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Unset: 993 with ssl, 143 with starttls or none."
    )
    security: Security = Field(
        Security.SSL,
        description="ssl: TLS from the start (port 993); starttls: upgraded before login "
        "(port 143); none: plain text, for a server on the same machine only.",
    )
    username: str = Field(
        min_length=1,
        max_length=320,
        pattern=_ONE_LINE,
        description="The login name, often the mail address.",
    )
    folders: tuple[FolderName, ...] | None = Field(
        None,
        max_length=1000,
        description='Folders to sync, e.g. ["INBOX", "Sent"]. Unset: every folder the server '
        "lists.",
    )
    exclude_folders: tuple[FolderName, ...] = Field(
        (), max_length=1000, description='Folders left out when syncing all, e.g. ["Junk"].'
    )
    since_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="Only messages the server received in the last N days; older ones are "
        "not synced (and a full sync lets go of those that age out). Unset: all.",
    )
    batch_size: int = Field(50, ge=1, le=1000, description="Messages fetched per batch.")
    max_text_chars: int = Field(
        20_000, ge=0, le=1_000_000, description="Characters of body text kept per message."
    )
    max_message_bytes: int = Field(
        10 * 1024 * 1024,
        ge=64 * 1024,
        le=200 * 1024 * 1024,
        description="Bytes read of one message; of a larger one only its first part is read "
        "(its record says partial).",
    )
    timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds any IMAP command may take to answer."
    )
    watch_folder: FolderName | None = Field(
        "INBOX",
        description="The folder watched for new mail between scheduled syncs. Unset: none.",
    )
    idle: bool = Field(True, description="Watch with IDLE when the server offers it (else poll).")
    idle_refresh: float = Field(
        300.0, ge=1, le=1740, description="Seconds before IDLE is renewed (at most 29 min)."
    )
    poll_interval: float = Field(
        60.0, ge=1, le=86_400, description="Seconds between looks when watching without IDLE."
    )
    tls_ca: str | None = Field(
        None,
        max_length=64 * 1024,
        description="PEM certificate(s) to trust instead of the system's (a company's own CA).",
    )

    @property
    def server_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.security is Security.SSL else 143

    @property
    def peer(self) -> str:
        scheme = "imaps" if self.security is Security.SSL else "imap"
        return f"{scheme}://{self.host}:{self.server_port}"

    def wire_folders(self) -> tuple[str, ...] | None:
        """The configured folders by their names on the wire, or None: every folder."""
        if self.folders is None:
            return None
        return tuple(dict.fromkeys(encode_folder(normal_folder(f)) for f in self.folders))

    def excluded(self, display_name: str) -> bool:
        return normal_folder(display_name) in {normal_folder(f) for f in self.exclude_folders}


@dataclass(frozen=True, slots=True)
class Login:
    """Who logs in and how: with an access token (XOAUTH2) when there is one, else the
    password. Its repr shows neither."""

    username: str
    password: Secret[str] | None
    access_token: Secret[str] | None

    @property
    def mechanism(self) -> str:
        return "XOAUTH2" if self.access_token is not None else "LOGIN"


def parse_settings(context: AdapterContext) -> ImapSettings:
    try:
        return ImapSettings.model_validate(dict(context.settings))
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{problem.field or '(settings)'}: {problem.message}"
            for problem in describe_validation_error(error)
        )
        raise ConfigError(f"IMAP settings of {context.integration_id!r}: {problems}") from None


def login_of(context: AdapterContext, settings: ImapSettings) -> Login:
    password = context.credentials.get(PASSWORD)
    token = context.credentials.get(ACCESS_TOKEN)
    if password is None and token is None:
        raise ConfigError(
            f"integration {context.integration_id!r} has neither a {PASSWORD!r} nor an "
            f"{ACCESS_TOKEN!r} credential"
        )
    return Login(settings.username, password, token)
