"""The hub's settings: what the process needs to start, read once in the composition root.

`Settings` never reads the environment or a file by itself (its only source is the values it
is given): `load_settings` in `config._loading` layers defaults, the TOML file, `HUB_*`
variables and command-line overrides, and the result is handed down. That keeps tests free of
the developer's environment and makes every value's origin known for error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config._cron import cron_problem
from config._text import check_line, check_text

ENV_PREFIX = "HUB_"
MiB = 1024 * 1024
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# Settings whose values may carry a password: error messages never show them.
SENSITIVE_SETTINGS = frozenset({"database_url", "nats_url", "api_token", "secret_key"})
_REDACTED = "***"
_API_TOKEN_MIN = 16


def redact_url(url: str) -> str:
    """`url` with any password (in the user part or a `password=` query item) as `***`;
    everything else exactly as it was."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _REDACTED
    redacted = url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        redacted = redacted.replace(parts.netloc, f"{user}:{_REDACTED}@{hostport}", 1)
    if parts.query:
        query = "&".join(_redact_query_item(item) for item in parts.query.split("&"))
        redacted = redacted.replace(f"?{parts.query}", f"?{query}", 1)
    return redacted


def _redact_query_item(item: str) -> str:
    name = item.partition("=")[0]
    return f"{name}={_REDACTED}" if name.lower() == "password" else item


def _check_url(value: str, schemes: tuple[str, ...], *, needs_host: bool) -> str:
    check_line(value)
    if not value.lower().startswith(schemes):
        raise ValueError(f"must start with {' or '.join(schemes)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- urlsplit checks the port only when it is read
    except ValueError:
        raise ValueError("is not a valid URL (check the host and port)") from None
    if needs_host and not parts.hostname:
        raise ValueError("must name a host")
    return value


def _check_database_url(value: str) -> str:
    return _check_url(value, ("postgresql://", "postgres://"), needs_host=False)


def _check_nats_url(value: str) -> str:
    return _check_url(value, ("nats://", "tls://"), needs_host=True)


def _check_cron(value: str) -> str:
    problem = cron_problem(check_line(value))
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_host(value: str) -> str:
    check_line(value)
    if not value or any(char.isspace() for char in value):
        raise ValueError(f"must be a host name or address without spaces (got {value!r})")
    return value


def _check_path(value: Path) -> Path:
    check_line(str(value))
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        check_text(value.get_secret_value())
    return value


Days = Annotated[int, Field(ge=1, le=3650)]


class Settings(BaseSettings):
    """Everything the process reads at start-up. Frozen: built once, then passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", hide_input_in_errors=True
    )

    host: Annotated[str, AfterValidator(_check_host)] = Field(
        default="127.0.0.1", description="Address the API and dashboard listen on."
    )
    port: int = Field(
        default=8080,
        ge=0,
        le=65535,
        description="Port of the API and dashboard (0: any free port).",
    )
    data_dir: Path = Field(
        default=Path(".hub"),
        description="Where the embedded default keeps its database and key file "
        "(relative paths start at the working directory).",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:password@host/db); "
        "unset: SQLite in the data directory.",
    )
    nats_url: Annotated[str, AfterValidator(_check_nats_url)] | None = Field(
        default=None,
        description="NATS server (nats:// or tls://); unset: the in-process event bus.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description=f"Bearer token for /api/* and the dashboard login "
        f"(at least {_API_TOKEN_MIN} characters).",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master key (or keyring) of the credential vault; "
        "unset: a key file in the data directory.",
    )
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR."
    )
    retention_logs_days: Days = Field(default=30, description="Days integration logs are kept.")
    retention_events_days: Days = Field(default=7, description="Days delivered events are kept.")
    retention_webhook_payload_days: Days = Field(
        default=14, description="Days raw webhook payloads are kept."
    )
    default_schedule: Annotated[str, AfterValidator(_check_cron)] = Field(
        default="*/15 * * * *",
        description="Cron schedule of integrations that set none of their own.",
    )
    schedule_jitter_seconds: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Up to this many seconds of random delay per sync start.",
    )
    webhook_max_body_bytes: int = Field(
        default=MiB, ge=1, le=64 * MiB, description="Largest webhook body accepted (larger: 413)."
    )
    webhook_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Attempts at processing a webhook delivery before it is dead "
        "(kept, listed, replayable).",
    )
    webhook_retry_seconds: int = Field(
        default=30,
        ge=1,
        le=86_400,
        description="Seconds before a failed webhook delivery is tried again; "
        "the wait doubles with each attempt (or the peer's Retry-After, if longer).",
    )
    webhook_retry_max_seconds: int = Field(
        default=3600,
        ge=1,
        le=7 * 86_400,
        description="Longest wait between two attempts at a webhook delivery "
        "(at least webhook_retry_seconds).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given: the environment is read by `load_settings`, not here."""
        return (init_settings,)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_database_url(value.get_secret_value())
        return value

    @field_validator("api_token")
    @classmethod
    def _api_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        if len(token) < _API_TOKEN_MIN:
            raise ValueError(f"must be at least {_API_TOKEN_MIN} characters long")
        if any(char.isspace() or not char.isprintable() for char in token):
            raise ValueError("must not contain spaces or control characters")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        return _check_secret(value)

    @field_validator("webhook_retry_max_seconds")
    @classmethod
    def _retry_cap(cls, value: int, info: ValidationInfo) -> int:
        first = info.data.get("webhook_retry_seconds")
        if first is not None and value < first:
            raise ValueError(f"must be at least webhook_retry_seconds ({first}), got {value}")
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path) -> Path:
        return _check_path(value)

    @property
    def redacted_database_url(self) -> str | None:
        """The database URL with its password replaced by `***`: safe to print and log."""
        if self.database_url is None:
            return None
        return redact_url(self.database_url.get_secret_value())

    @property
    def redacted_nats_url(self) -> str | None:
        """The NATS URL with any password replaced by `***`."""
        return None if self.nats_url is None else redact_url(self.nats_url)
