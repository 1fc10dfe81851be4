"""A compiled template of any kind as a catalog entry: one adapter class per template."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, Protocol

from pydantic import BaseModel

from adapters._contract import Adapter, AdapterSpec
from adapters._errors import AuthError, ConfigError, IntegrationError
from adapters._values import HealthStatus
from adapters.templates._settings import settings_schema
from config import IntegrationType
from runtime import Clock


class _Described(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def icon(self) -> str: ...


class CompiledKind(Protocol):
    """What every kind's compiled template has in common."""

    @property
    def template(self) -> _Described: ...
    @property
    def settings_model(self) -> type[BaseModel]: ...
    @property
    def credential_fields(self) -> tuple[str, ...]: ...


def catalog_spec(
    compiled: CompiledKind,
    base: type[Adapter],
    kind: IntegrationType,
    entities: Iterable[str],
    **extra: Any,
) -> AdapterSpec:
    """The spec of `compiled`, whose factory is a subclass of `base` bound to it (`extra`:
    further `AdapterSpec` fields)."""
    template = compiled.template
    words = template.name.replace("-", " ").replace("_", " ").title().replace(" ", "")
    adapter = type(
        f"{words}{base.__name__}",
        (base,),
        {"name": template.name, "template": compiled, "__module__": base.__module__},
    )
    return AdapterSpec(
        name=template.name,
        title=template.title,
        description=template.description,
        icon=template.icon,
        kind=kind,
        factory=adapter,
        settings_schema=settings_schema(compiled.settings_model),
        credential_fields=compiled.credential_fields,
        entities=tuple(entities),
        **extra,
    )


async def checked_health(clock: Clock, check: Callable[[], Awaitable[str]]) -> HealthStatus:
    """Test Connection for a template kind: `check` sends the template's check and names what
    it asked. Refused credentials and bad settings raise (the user must act); any other
    failure is reported, with how long the attempt took."""
    started = clock.now()
    try:
        what = await check()
    except (AuthError, ConfigError):
        raise
    except IntegrationError as error:
        return HealthStatus(False, clock.now() - started, error.message)
    return HealthStatus(True, clock.now() - started, f"{what} answered")


def require_entities(template: str, requested: Iterable[str], known: Collection[str]) -> None:
    """A sync may ask only for entities the template has: `ConfigError` naming the first
    unknown one and the ones there are."""
    unknown = [entity for entity in requested if entity not in known]
    if unknown:
        raise ConfigError(
            f"the {template} template has no entity {unknown[0]!r}; it has {', '.join(known)}"
        )
