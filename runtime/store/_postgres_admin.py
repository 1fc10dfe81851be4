"""Integrations, their credentials and the audit log in PostgreSQL, on a pooled connection.

Same rules as the SQLite twin (_sqlite_admin): a change, its credentials, audit row and events
in one transaction; the UPDATE matches only the expected version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runtime.store import _postgres_sql as sql
from runtime.store import _rows as rows
from runtime.store._errors import Conflict, NotFound
from runtime.store._model import AuditRow, IntegrationRow, Page, StoredCredential
from runtime.store._params import Params
from runtime.store._postgres_tx import Connection, affected, insert_audit, insert_events
from runtime.store._rows import POSTGRES
from runtime.store._values import encode_cursor

_NO_ID_LIMIT = 2**63 - 1


async def create_integration(
    connection: Connection,
    *,
    spec: Params,
    credentials: Sequence[Params],
    audit: Params,
    events: Sequence[Params],
    now: datetime,
) -> IntegrationRow:
    async with connection.transaction():
        row = await connection.fetchrow(sql.INSERT_INTEGRATION, *spec, now)
        if credentials:
            await connection.executemany(sql.UPSERT_CREDENTIAL, credentials)
        await insert_audit(connection, audit)
        await insert_events(connection, events)
    return rows.integration(row, POSTGRES)


async def update_integration(
    connection: Connection,
    *,
    spec: Params,
    expected_version: int,
    upserts: Sequence[Params],
    deletes: Sequence[tuple[str, str]],
    audit: Params,
    events: Sequence[Params],
    now: datetime,
) -> IntegrationRow:
    async with connection.transaction():
        row = await connection.fetchrow(sql.UPDATE_INTEGRATION, *spec, now, expected_version)
        if row is None:
            raise await _stale_or_missing(connection, str(spec[0]), expected_version)
        if upserts:
            await connection.executemany(sql.UPSERT_CREDENTIAL, upserts)
        if deletes:
            await connection.executemany(sql.DELETE_CREDENTIAL, deletes)
        await insert_audit(connection, audit)
        await insert_events(connection, events)
    return rows.integration(row, POSTGRES)


async def _stale_or_missing(
    connection: Connection, integration_id: str, expected: int
) -> Exception:
    found = await connection.fetchval(sql.INTEGRATION_EXISTS, integration_id)
    if found is None:
        return NotFound(f"no integration {integration_id!r}")
    return Conflict(
        f"integration {integration_id!r} is at version {found}, not {expected}:"
        " it was changed meanwhile"
    )


async def delete_integration(
    connection: Connection, integration_id: str, audit: Params, events: Sequence[Params]
) -> None:
    async with connection.transaction():
        await connection.execute(sql.DELETE_INTEGRATION_SEEN, integration_id)
        if affected(await connection.execute(sql.DELETE_INTEGRATION, integration_id)) == 0:
            raise NotFound(f"no integration {integration_id!r}")
        await connection.execute(sql.DELETE_INTEGRATION_RECORDS, integration_id)
        await connection.execute(sql.DELETE_INTEGRATION_LOGS, integration_id)
        await insert_audit(connection, audit)
        await insert_events(connection, events)


async def get_integration(connection: Connection, integration_id: str) -> IntegrationRow:
    row = await connection.fetchrow(sql.SELECT_INTEGRATION, integration_id)
    if row is None:
        raise NotFound(f"no integration {integration_id!r}")
    return rows.integration(row, POSTGRES)


async def list_integrations(connection: Connection) -> list[IntegrationRow]:
    return [
        rows.integration(row, POSTGRES) for row in await connection.fetch(sql.LIST_INTEGRATIONS)
    ]


async def set_status(
    connection: Connection, integration_id: str, status: str, events: Sequence[Params]
) -> IntegrationRow:
    async with connection.transaction():
        row = await connection.fetchrow(sql.SET_STATUS, integration_id, status)
        if row is None:
            raise NotFound(f"no integration {integration_id!r}")
        await insert_events(connection, events)
    return rows.integration(row, POSTGRES)


async def list_credentials(
    connection: Connection, integration_id: str | None
) -> list[StoredCredential]:
    found = (
        await connection.fetch(sql.LIST_CREDENTIALS)
        if integration_id is None
        else await connection.fetch(sql.LIST_CREDENTIALS_OF, integration_id)
    )
    return [rows.credential(row, POSTGRES) for row in found]


async def replace_credentials(
    connection: Connection, credentials: Sequence[Params], audit: Params | None
) -> int:
    if not credentials:
        return 0
    columns = [list(column) for column in zip(*credentials, strict=True)]
    async with connection.transaction():
        replaced = affected(await connection.execute(sql.REPLACE_CREDENTIALS, *columns))
        if audit is not None and replaced:
            await insert_audit(connection, audit)
    return replaced


async def append_audit(connection: Connection, audit: Params) -> None:
    await insert_audit(connection, audit)


async def list_audit(connection: Connection, limit: int, before: int | None) -> Page[AuditRow]:
    found = await connection.fetch(
        sql.LIST_AUDIT, _NO_ID_LIMIT if before is None else before, limit + 1
    )
    items = tuple(rows.audit(row, POSTGRES) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("audit", items[-1].id) if more else None)
