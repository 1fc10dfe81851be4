"""The CalDAV adapter's settings (the wizard's form is built from their JSON Schema) and how
its credentials become the `Authorization` header."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters._errors import ConfigError
from config import describe_validation_error
from runtime.vault import Secret

PASSWORD = "password"
TOKEN = "token"
CREDENTIALS = (PASSWORD, TOKEN)


class CalDavSettings(BaseModel):
    """Where the calendars are, whose they are, and which events to keep."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="Calendar (CalDAV) settings")

    url: str = Field(
        description=(
            "The CalDAV server (https://cloud.example.com/remote.php/dav), a calendar home "
            "or one calendar's URL. The calendars are found from there."
        ),
        json_schema_extra={"format": "uri"},
    )
    username: str = Field(
        "", description="The account's user name (HTTP Basic, with the password credential)."
    )
    calendars: tuple[str, ...] = Field(
        (),
        description=(
            'Calendars to sync, by name or path (["Work", "Team"]); empty: every calendar '
            "that holds events."
        ),
    )
    window_past_days: int = Field(
        90, ge=0, le=3650, description="Events that ended up to this many days ago are kept."
    )
    window_future_days: int = Field(
        365, ge=1, le=3650, description="Events starting up to this many days ahead are kept."
    )
    page_size: int = Field(
        100, ge=1, le=1000, description="Events per batch, and per calendar-multiget request."
    )
    use_sync_collection: bool = Field(
        True,
        description=(
            "Find changes with sync tokens (RFC 6578) where the server offers them; off: "
            "compare the calendar's ctag and the events' etags."
        ),
    )
    timeout: float = Field(30.0, gt=0, le=300, description="Seconds to wait for each answer.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
        except ValueError:
            raise ValueError("must be an http:// or https:// URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not contain a user name or password: put them in credentials")
        return value

    @field_validator("username")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("must not contain ':' (HTTP Basic cannot carry it)")
        return value.strip()


def parse_settings(integration_id: str, raw: Mapping[str, object]) -> CalDavSettings:
    try:
        return CalDavSettings.model_validate(dict(raw))
    except pydantic.ValidationError as error:
        problems = "; ".join(
            f"{problem.field or '(settings)'}: {problem.message}"
            for problem in describe_validation_error(error)
        )
        raise ConfigError(f"CalDAV settings of {integration_id!r}: {problems}") from None


def authorization(
    integration_id: str, settings: CalDavSettings, credentials: Mapping[str, Secret[str]]
) -> Secret[str]:
    """HTTP Basic from the username and the `password` credential, else Bearer with the
    `token` credential; neither is a ConfigError naming what is missing (never a value)."""
    password = credentials.get(PASSWORD)
    token = credentials.get(TOKEN)
    if password is not None and settings.username:
        pair = f"{settings.username}:{password.reveal()}".encode()
        return Secret("Basic " + base64.b64encode(pair).decode("ascii"))
    if token is not None:
        return Secret(f"Bearer {token.reveal()}")
    if password is not None:
        raise ConfigError(
            f"integration {integration_id!r}: the password credential needs the username setting"
        )
    raise ConfigError(
        f"integration {integration_id!r} has neither a {PASSWORD!r} nor a {TOKEN!r} credential"
    )
