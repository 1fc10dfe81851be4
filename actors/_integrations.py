"""Integrations as users change them: validate, seal the credentials, store, audit, announce.

Every change goes through here, whether it comes from the API, the wizard or the CLI, so the
rules are the same everywhere: the whole configuration is validated before anything is
written (one clear error per field, nothing half-written), credential values go only to the
vault, and the change, its audit row and its `config_changed` event commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from config import FieldProblem, IntegrationConfig, IntegrationInput, describe_validation_error
from runtime.bus import EventName, new_event
from runtime.store import (
    AuditIn,
    EventIn,
    IntegrationIn,
    IntegrationRow,
    Store,
    StoredCredential,
    utc_now,
)
from runtime.telemetry import current_traceparent
from runtime.vault import SealedValue, Secret, Vault

INACTIVE = "inactive"
CONNECTING = "connecting"


class InvalidIntegration(ValueError):
    """The input breaks the rules; `problems` names each field (never a secret value)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        summary = "; ".join(f"{p.field}: {p.message}" for p in problems) or "invalid integration"
        super().__init__(summary)
        self.problems = problems


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """An integration as it is returned: configuration and state, no credential values."""

    config: IntegrationConfig
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


def event_in(
    integration_id: str, name: EventName, data: Mapping[str, Any], now: datetime
) -> EventIn:
    event = new_event(integration_id, name, data, now=now, traceparent=current_traceparent())
    return EventIn(
        id=event.id,
        integration_id=integration_id,
        type=event.type,
        source=event.source,
        time=event.time,
        data=dict(event.data),
        traceparent=event.traceparent,
    )


class IntegrationService:
    def __init__(
        self,
        store: Store,
        vault: Vault,
        adapters: Callable[[], Collection[str]],
        *,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._vault = vault
        self._adapters = adapters
        self._now = now

    async def create(self, data: Mapping[str, object], *, origin: str) -> IntegrationView:
        spec = self.validate(data)
        config = spec.to_config()
        sealed = self._seal(config.id, spec.credentials)
        audit = AuditIn(origin, "integration.create", config.id, _audit_details(config, sealed))
        row = await self._store.create_integration(
            _row_in(config, status=CONNECTING if config.enabled else INACTIVE),
            sealed,
            audit,
            events=[self._changed(config.id, "created", config)],
        )
        return _view(row)

    async def update(
        self,
        integration_id: str,
        changes: Mapping[str, object],
        *,
        origin: str,
        expected_version: int | None = None,
    ) -> IntegrationView:
        """Apply a JSON merge patch (RFC 7396) of the configuration; `credentials` maps field
        names to new values, or to None to remove one."""
        current = await self._store.get_integration(integration_id)
        if "id" in changes and changes["id"] != integration_id:
            raise InvalidIntegration([FieldProblem("id", "cannot be changed")])
        editable = {
            k: v for k, v in changes.items() if k not in ("credentials", "credential_fields")
        }
        merged = merge_patch(dict(current.config), editable)
        merged.pop("credential_fields", None)  # derived from the credentials, never edited
        credential_changes = changes.get("credentials") or {}
        if not isinstance(credential_changes, Mapping):
            raise InvalidIntegration([FieldProblem("credentials", "must be an object")])
        kept = {k: v for k, v in credential_changes.items() if v is not None}
        spec = self.validate({**merged, "id": integration_id, "credentials": kept})
        removed = {str(k) for k, v in credential_changes.items() if v is None}
        before = IntegrationConfig.model_validate(current.config).credential_fields
        fields = (set(before) | set(spec.credentials)) - removed
        config = IntegrationConfig.model_validate(
            {**spec.to_config().model_dump(), "credential_fields": tuple(sorted(fields))}
        )
        sealed: dict[str, SealedValue | None] = {**self._seal(integration_id, spec.credentials)}
        sealed.update(dict.fromkeys(removed))
        audit = AuditIn(
            origin, "integration.update", integration_id, _audit_details(config, sealed)
        )
        row = await self._store.update_integration(
            _row_in(config, status=current.status),
            current.version if expected_version is None else expected_version,
            sealed,
            audit,
            events=[self._changed(integration_id, "updated", config)],
        )
        return _view(row)

    async def delete(self, integration_id: str, *, origin: str) -> None:
        audit = AuditIn(origin, "integration.delete", integration_id, {})
        event = self._changed_data(integration_id, {"change": "deleted"})
        await self._store.delete_integration(integration_id, audit, events=[event])

    async def get(self, integration_id: str) -> IntegrationView:
        return _view(await self._store.get_integration(integration_id))

    async def list(self) -> list[IntegrationView]:
        return [_view(row) for row in await self._store.list_integrations()]

    async def rotate_credentials(
        self, integration_id: str, values: Mapping[str, Secret[str]], *, origin: str
    ) -> tuple[str, ...]:
        """Store credentials the peer replaced (a rotated OAuth2 refresh token): sealed, and
        written with an audit row `credential.rotated` naming the fields (never a value) in
        one transaction. Only credentials that are stored are replaced (one the user removed
        meanwhile stays removed). The configuration and its version stay as they are: a
        user's concurrent edit is not refused for it, and nothing restarts (the adapter that
        rotated the value goes on with it). Returns the fields asked for, if any was stored."""
        if not values:
            return ()
        now = self._now()
        fields = tuple(sorted(values))
        sealed = [
            StoredCredential(
                integration_id, field, self._vault.seal(integration_id, field, values[field]), now
            )
            for field in fields
        ]
        audit = AuditIn(
            origin, "credential.rotated", integration_id, {"credentials_rotated": list(fields)}
        )
        replaced = await self._store.replace_credentials(sealed, audit=audit)
        return fields if replaced else ()

    async def credentials(self, integration_id: str) -> dict[str, Secret[str]]:
        """The opened credential values, for the integration's adapter only."""
        stored = await self._store.list_credentials(integration_id)
        return {c.field: self._vault.open(integration_id, c.field, c.sealed) for c in stored}

    def validate(self, data: Mapping[str, object]) -> IntegrationInput:
        """The input checked against the rules and the installed adapters, nothing written;
        `InvalidIntegration` names every field that is wrong."""
        try:
            return IntegrationInput.model_validate(
                data, context={"adapters": set(self._adapters())}
            )
        except ValidationError as error:
            raise InvalidIntegration(describe_validation_error(error)) from None

    def _seal(self, integration_id: str, values: Mapping[str, Any]) -> dict[str, SealedValue]:
        return {
            field: self._vault.seal(integration_id, field, value.get_secret_value())
            for field, value in values.items()
        }

    def _changed(self, integration_id: str, change: str, config: IntegrationConfig) -> EventIn:
        return self._changed_data(
            integration_id, {"change": change, "name": config.name, "enabled": config.enabled}
        )

    def _changed_data(self, integration_id: str, data: Mapping[str, Any]) -> EventIn:
        return event_in(integration_id, EventName.CONFIG_CHANGED, data, self._now())


def merge_patch(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396: objects merge key by key, null removes, anything else replaces."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge_patch(dict(result[key]), value)
        else:
            result[key] = value
    return result


def _row_in(config: IntegrationConfig, *, status: str) -> IntegrationIn:
    return IntegrationIn(
        id=config.id,
        name=config.name,
        type=str(config.type),
        adapter=config.adapter,
        status=status,
        config=config.model_dump(mode="json"),
    )


def _view(row: IntegrationRow) -> IntegrationView:
    return IntegrationView(
        config=IntegrationConfig.model_validate(row.config),
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _audit_details(
    config: IntegrationConfig, credentials: Mapping[str, SealedValue | None]
) -> dict[str, Any]:
    """What changed, by name: never a value of a credential."""
    return {
        "name": config.name,
        "adapter": config.adapter,
        "enabled": config.enabled,
        "credentials_set": sorted(k for k, v in credentials.items() if v is not None),
        "credentials_removed": sorted(k for k, v in credentials.items() if v is None),
    }
