"""The adapter contract: what every integration's adapter does, and the data that describes it.

An `Adapter` is built by its spec's factory from an `AdapterContext` (settings, credentials,
HTTP client, rate limiter, clock: everything it may touch is handed in, so tests hand in fakes).
It connects, checks its health, syncs entities as an async generator of `Batch`es, and may
accept webhooks. It raises only `IntegrationError`s for what it expects to go wrong; the
runtime decides what to do from their class (`classify`). An `AdapterSpec` is the adapter as
plain data: what the catalog shows, the JSON Schema of its settings, and its factory.
"""

from __future__ import annotations

import abc
import enum
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

import anyio.lowlevel

from adapters._errors import ConfigError
from adapters._http import HttpClient
from adapters._values import (
    Batch,
    ConnectionInfo,
    HealthStatus,
    JsonObject,
    JsonValue,
    SyncKind,
    SyncRequest,
    WebhookRequest,
    WebhookResult,
)
from config import IntegrationType
from runtime import Clock, RateLimiter
from runtime.vault import Secret

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")

CredentialSaver = Callable[[Mapping[str, Secret[str]]], Awaitable[None]]
"""Stores credentials the peer replaced (a rotated OAuth2 refresh token) back in the vault."""


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What an adapter instance gets to work with; its credentials print redacted.

    `save_credentials`, when given, stores credentials the peer rotated (the actor wires it to
    the vault); without it a rotated credential lives only as long as the adapter instance."""

    integration_id: str
    settings: Mapping[str, JsonValue]
    credentials: Mapping[str, Secret[str]]
    http: HttpClient
    limiter: RateLimiter
    clock: Clock
    save_credentials: CredentialSaver | None = field(default=None, repr=False, compare=False)

    def credential(self, name: str) -> Secret[str]:
        """The credential `name`; a missing one is a ConfigError naming it (never its value)."""
        try:
            return self.credentials[name]
        except KeyError:
            raise ConfigError(
                f"integration {self.integration_id!r} has no credential {name!r}"
            ) from None


class Adapter(abc.ABC):
    """Talks to one outside system for one integration.

    `sync` is an async generator: consume it with `contextlib.aclosing` so that an abandoned
    sync closes its cursors at once. `disconnect` is a no-op unless the adapter holds a
    connection of its own (the shared HTTP client belongs to whoever built the context).
    """

    name: ClassVar[str] = "adapter"

    def __init__(self, context: AdapterContext) -> None:
        self.context = context

    @abc.abstractmethod
    async def connect(self) -> ConnectionInfo:
        """Reach the peer and prove the credentials work."""

    async def disconnect(self) -> None:
        """Release what `connect` acquired."""
        await anyio.lowlevel.checkpoint()

    @abc.abstractmethod
    async def health_check(self) -> HealthStatus:
        """One cheap probe of the peer; report, don't raise, what is wrong with it."""

    @abc.abstractmethod
    def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        """Batches per requested entity, each entity ending with a `complete` batch."""

    def verify_webhook(self, request: WebhookRequest) -> bool:
        """Whether the delivery is authentic (checked on the raw body, before parsing)."""
        return False

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """The records and events a verified delivery carries."""
        raise ConfigError(f"the {self.name} adapter does not accept webhooks")

    async def watch(self) -> AsyncGenerator[SyncKind, None]:
        """Changes the peer signals (IMAP IDLE, a push channel), each as the kind of sync that
        catches up with it; the actor runs it while connected and syncs on each. It handles
        its own reconnects; an `IntegrationError` it raises ends the watching. The default
        watches nothing and ends at once: such an adapter has its schedule and webhooks."""
        nothing: tuple[SyncKind, ...] = ()
        for kind in nothing:
            yield kind


class AdapterStatus(enum.Enum):
    AVAILABLE = "available"
    COMING = "coming"


AdapterFactory = Callable[[AdapterContext], Adapter]


@dataclass(frozen=True, slots=True)
class AdapterSpec:
    """An adapter as the catalog knows it; `factory` builds an instance for one integration.
    `kind` is the integration type the adapter serves (`config.IntegrationType`).

    `required_credentials` says which of `credential_fields` must be given: each entry is a
    group of alternatives, at least one of which is needed (`(("password", "token"),)`:
    either); a credential in no group is optional. None (the default): every one is needed.
    `credential_help` explains a credential in the setup form ("or a bearer token instead of
    the password")."""

    name: str
    title: str
    description: str
    icon: str
    kind: IntegrationType
    factory: AdapterFactory
    settings_schema: JsonObject = field(repr=False)
    credential_fields: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    status: AdapterStatus = AdapterStatus.AVAILABLE
    required_credentials: tuple[tuple[str, ...], ...] | None = None
    credential_help: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"adapter name {self.name!r} must be lower-case letters, digits, '-' or '_'"
            )
        if self.settings_schema.get("type") not in (None, "object"):
            raise ValueError(f"adapter {self.name!r}: settings_schema must describe an object")
        for name in ("credential_fields", "entities"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(set(value)) != len(value):
                raise ValueError(f"adapter {self.name!r}: {name} must be a tuple of distinct names")
        known = set(self.credential_fields)
        for group in self.credential_groups:
            if not group or len(set(group)) != len(group) or not set(group) <= known:
                raise ValueError(
                    f"adapter {self.name!r}: required_credentials must be groups of distinct "
                    "names from credential_fields"
                )
        if not set(self.credential_help) <= known:
            raise ValueError(f"adapter {self.name!r}: credential_help names unknown credentials")
        object.__setattr__(self, "credential_help", MappingProxyType(dict(self.credential_help)))

    @property
    def credential_groups(self) -> tuple[tuple[str, ...], ...]:
        """The groups of alternatives of which one each must be given (`required_credentials`,
        or every credential alone when that is None)."""
        if self.required_credentials is None:
            return tuple((name,) for name in self.credential_fields)
        return self.required_credentials
