"""One integration's configuration, as stored and as the API accepts it.

Credentials are write-only, so there are two shapes: `IntegrationInput` (what a client sends:
the configuration plus `credentials`, secret values) and `IntegrationConfig` (what is stored
and returned: the configuration plus `credential_fields`, the names only). The vault seals the
values; nothing else keeps them.

Every string obeys `config._text` (no NUL, no lone surrogates; SQL metacharacters are just
text), every collection and the adapter `settings` blob are bounded. Whether the adapter
exists is checked only when the caller passes the installed ones:
`IntegrationConfig.model_validate(data, context={"adapters": {"demo", ...}})`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    JsonValue,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from config._integration_parts import (
    FROZEN,
    EndpointConfig,
    FieldMapping,
    HealthConfig,
    RateLimitConfig,
    RetryConfig,
    ScheduleConfig,
    WebhookConfig,
    check_unique,
)
from config._text import Identifier, check_line, check_not_blank, check_text

MAX_SETTINGS_BYTES = 64 * 1024
MAX_SETTINGS_DEPTH = 16
MAX_CREDENTIAL_CHARS = 8192
MAX_CREDENTIALS = 32
MAX_MAPPINGS_PER_ENTITY = 500


class IntegrationType(StrEnum):
    REST = "REST"
    GRAPHQL = "GraphQL"
    SOAP = "SOAP"
    WEBHOOK = "Webhook"
    IMAP = "IMAP"
    CALDAV = "CalDAV"


class ConflictPolicy(StrEnum):
    """Which side wins when the hub and the source both changed a record."""

    SOURCE_WINS = "source_wins"
    HUB_WINS = "hub_wins"
    NEWEST_WINS = "newest_wins"
    MANUAL = "manual"


def _check_credential(value: SecretStr) -> SecretStr:
    secret = value.get_secret_value()
    if not secret:
        raise ValueError("must not be empty")
    if len(secret) > MAX_CREDENTIAL_CHARS:
        raise ValueError(f"must be at most {MAX_CREDENTIAL_CHARS} characters long")
    check_text(secret)
    return value


def _check_settings(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    _check_json(value, "", 0)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_SETTINGS_BYTES:
        raise ValueError(f"must be at most {MAX_SETTINGS_BYTES} bytes as JSON (is {size})")
    return value


def _check_json(value: JsonValue, path: str, depth: int) -> None:
    """Every string (keys too) is clean text, every number finite, the nesting bounded."""
    if depth > MAX_SETTINGS_DEPTH:
        raise ValueError(f"at {path}: nests deeper than {MAX_SETTINGS_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"at {path}: must be a finite number")
    if isinstance(value, str):
        _check_string(value, f"at {path}")
    items: Collection[tuple[object, JsonValue]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        child_path = f"{path}.{key}" if path else str(key)
        if isinstance(key, str):
            _check_string(key, f"key {key[:40]!r}" + (f" at {path}" if path else ""))
        _check_json(child, child_path, depth + 1)


def _check_string(value: str, where: str) -> None:
    try:
        check_text(value)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


# Ids the dashboard's own routes use beside `/integrations/{id}`: an integration so named
# could never be opened there (`/integrations/new` is the setup wizard).
RESERVED_IDS = frozenset({"new"})


def _not_reserved(value: str) -> str:
    if value in RESERVED_IDS:
        raise ValueError(
            f"{value!r} is reserved (the dashboard's /integrations/{value} page); choose another id"
        )
    return value


# A stored integration's id: the slug rule alone, so that one stored before its id was
# reserved still loads (it can be listed, run and deleted; an edit of it is refused).
StoredIntegrationId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
# The id a new or edited integration may have: the slug rule, and not a reserved word.
IntegrationId = Annotated[StoredIntegrationId, AfterValidator(_not_reserved)]
AdapterName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
CredentialKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
CredentialValue = Annotated[SecretStr, AfterValidator(_check_credential)]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(check_line),
    AfterValidator(check_not_blank),
]
Description = Annotated[str, StringConstraints(max_length=2000), AfterValidator(check_text)]
Mappings = Annotated[tuple[FieldMapping, ...], Field(max_length=MAX_MAPPINGS_PER_ENTITY)]
SettingKey = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(check_text)
]


class _IntegrationFields(BaseModel):
    """What `IntegrationConfig` and `IntegrationInput` share: the configuration itself."""

    model_config = FROZEN

    id: IntegrationId = Field(description="Stable id: a slug or a UUID in lower case.")
    name: Name = Field(description="Name shown in the dashboard.")
    description: Description = Field(default="", description="Free text for the people who run it.")
    type: IntegrationType = Field(description="Kind of remote interface.")
    adapter: AdapterName = Field(description="Installed adapter that runs it, e.g. 'xentral'.")
    enabled: bool = Field(
        default=True, description="Run the integration (false: configured, idle)."
    )
    endpoints: tuple[EndpointConfig, ...] = Field(default=(), max_length=50)
    rate_limits: RateLimitConfig | None = Field(default=None, description="Unset: no rate limit.")
    retry_policy: RetryConfig = Field(default_factory=RetryConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    entities: tuple[Identifier, ...] = Field(
        default=(), max_length=100, description="Entities to sync, e.g. 'customers', 'invoices'."
    )
    field_mapping: dict[Identifier, Mappings] = Field(
        default_factory=dict, max_length=100, description="Per entity: fields and transforms."
    )
    conflict_policy: ConflictPolicy = Field(default=ConflictPolicy.SOURCE_WINS)
    webhook: WebhookConfig | None = Field(default=None, description="Unset: no inbound webhooks.")
    settings: Annotated[dict[SettingKey, JsonValue], AfterValidator(_check_settings)] = Field(
        default_factory=dict,
        description=f"Adapter-specific options (at most {MAX_SETTINGS_BYTES // 1024} KiB).",
    )

    @field_validator("adapter")
    @classmethod
    def _known_adapter(cls, value: str, info: ValidationInfo) -> str:
        context = info.context
        if isinstance(context, Mapping) and context.get("adapters") is not None:
            known: Collection[str] = context["adapters"]
            if value not in known:
                listing = ", ".join(sorted(known)) or "none are installed"
                raise ValueError(f"unknown adapter {value!r}; known adapters: {listing}")
        return value

    @field_validator("endpoints")
    @classmethod
    def _unique_endpoints(cls, value: tuple[EndpointConfig, ...]) -> tuple[EndpointConfig, ...]:
        check_unique(tuple(endpoint.name for endpoint in value))
        return value

    @field_validator("entities")
    @classmethod
    def _unique_entities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_unique(value)

    @field_validator("field_mapping")
    @classmethod
    def _mapped_entities(
        cls, value: dict[str, tuple[FieldMapping, ...]], info: ValidationInfo
    ) -> dict[str, tuple[FieldMapping, ...]]:
        entities = info.data.get("entities")
        for entity, mappings in value.items():
            if entities is not None and entity not in entities:
                raise ValueError(f"maps entity {entity!r}, which is not in entities")
            try:
                check_unique(tuple(mapping.target for mapping in mappings))
            except ValueError as error:
                raise ValueError(f"{entity!r} target {error}") from None
        return value


class IntegrationConfig(_IntegrationFields):
    """An integration as stored and returned: no credential values, only their names."""

    id: StoredIntegrationId = Field(description="Stable id: a slug or a UUID in lower case.")
    credential_fields: tuple[CredentialKey, ...] = Field(
        default=(), max_length=MAX_CREDENTIALS, description="Names of the credentials that are set."
    )

    @field_validator("credential_fields")
    @classmethod
    def _unique_credentials(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_unique(value)


class IntegrationInput(_IntegrationFields):
    """An integration as a client sends it: the configuration and the credential values."""

    credentials: dict[CredentialKey, CredentialValue] = Field(
        default_factory=dict,
        max_length=MAX_CREDENTIALS,
        description="Secret values by name (write-only: never returned).",
    )

    def to_config(self) -> IntegrationConfig:
        """The stored shape: everything but the secret values, which go to the vault."""
        fields = self.model_dump(exclude={"credentials"})
        return IntegrationConfig.model_validate(
            {**fields, "credential_fields": tuple(sorted(self.credentials))}
        )
