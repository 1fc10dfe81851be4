"""The composition root: settings in, the hub's services out, closed in reverse order.

Only here are concrete choices made (SQLite or PostgreSQL, in-process bus or NATS, key from
the environment or the key file); everything below takes what it is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from actors._integrations import IntegrationService
from adapters import Registry, default_registry
from config import Settings
from runtime.store import Store, open_store
from runtime.vault import Vault, load_or_create_key_file, parse_keyring

KEY_FILE_NAME = "secret.key"


class StartupError(Exception):
    """The hub cannot start as configured; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    vault: Vault
    integrations: IntegrationService
    registry: Registry


def open_vault(settings: Settings) -> Vault:
    """`HUB_SECRET_KEY` when set; otherwise the key file in the data directory, created with
    mode 0600 on first start (the embedded default)."""
    if settings.secret_key is not None:
        return Vault(parse_keyring(settings.secret_key.get_secret_value()))
    path = Path(settings.data_dir) / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    return Vault(parse_keyring(load_or_create_key_file(path), source=f"key file {path}"))


async def check_keys(store: Store, vault: Vault) -> None:
    """Refuse to start when a stored credential needs a key the keyring lacks."""
    missing = vault.check(c.sealed for c in await store.list_credentials())
    if missing:
        names = ", ".join(repr(key_id) for key_id in missing)
        raise StartupError(
            f"stored credentials are sealed with key {names}, which is not in the keyring: "
            "add it to HUB_SECRET_KEY (as id:BASE64 after the primary key)"
        )


@asynccontextmanager
async def open_services(
    settings: Settings, *, migrate: bool = True, registry: Registry | None = None
) -> AsyncIterator[Services]:
    """The store (migrated), the vault (keys checked) and the integration service; `registry`
    replaces the installed adapters (tests)."""
    async with AsyncExitStack() as stack:
        url = None if settings.database_url is None else settings.database_url.get_secret_value()
        store = await open_store(url, Path(settings.data_dir), migrate=migrate)
        stack.push_async_callback(store.close)
        vault = open_vault(settings)
        await check_keys(store, vault)
        registry = default_registry() if registry is None else registry
        integrations = IntegrationService(store, vault, registry.available)
        yield Services(settings, store, vault, integrations, registry)
