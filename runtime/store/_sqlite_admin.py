"""Integrations, their credentials and the audit log in SQLite, run on the worker thread.

A configuration change, its credential changes, its audit row and its events are one
transaction. Optimistic concurrency: the UPDATE matches only the expected version, and a miss
is told apart (gone vs. changed meanwhile) inside the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.store import _rows as rows
from runtime.store import _sqlite_sql as sql
from runtime.store._errors import Conflict, NotFound
from runtime.store._model import AuditRow, IntegrationRow, Page, StoredCredential
from runtime.store._params import Params
from runtime.store._rows import SQLITE
from runtime.store._sqlite_tx import Connection, insert_audit, insert_events, transaction
from runtime.store._values import encode_cursor

_NO_ID_LIMIT = 2**63 - 1


def create_integration(
    connection: Connection,
    *,
    spec: Params,
    credentials: Sequence[Params],
    audit: Params,
    events: Sequence[Params],
    now: str,
) -> IntegrationRow:
    with transaction(connection):
        row = connection.execute(sql.INSERT_INTEGRATION, (*spec, now)).fetchone()
        connection.executemany(sql.UPSERT_CREDENTIAL, credentials)
        insert_audit(connection, audit)
        insert_events(connection, events)
    return rows.integration(row, SQLITE)


def update_integration(
    connection: Connection,
    *,
    spec: Params,
    expected_version: int,
    upserts: Sequence[Params],
    deletes: Sequence[tuple[str, str]],
    audit: Params,
    events: Sequence[Params],
    now: str,
) -> IntegrationRow:
    with transaction(connection):
        row = connection.execute(sql.UPDATE_INTEGRATION, (*spec, now, expected_version)).fetchone()
        if row is None:
            raise _stale_or_missing(connection, str(spec[0]), expected_version)
        connection.executemany(sql.UPSERT_CREDENTIAL, upserts)
        connection.executemany(sql.DELETE_CREDENTIAL, deletes)
        insert_audit(connection, audit)
        insert_events(connection, events)
    return rows.integration(row, SQLITE)


def _stale_or_missing(connection: Connection, integration_id: str, expected: int) -> Exception:
    found = connection.execute(sql.INTEGRATION_EXISTS, (integration_id,)).fetchone()
    if found is None:
        return NotFound(f"no integration {integration_id!r}")
    return Conflict(
        f"integration {integration_id!r} is at version {found[0]}, not {expected}:"
        " it was changed meanwhile"
    )


def delete_integration(
    connection: Connection,
    integration_id: str,
    audit: Params,
    events: Sequence[Params],
) -> None:
    with transaction(connection):
        connection.execute(sql.DELETE_INTEGRATION_SEEN, (integration_id,))
        if connection.execute(sql.DELETE_INTEGRATION, (integration_id,)).rowcount == 0:
            raise NotFound(f"no integration {integration_id!r}")
        connection.execute(sql.DELETE_INTEGRATION_RECORDS, (integration_id,))
        connection.execute(sql.DELETE_INTEGRATION_LOGS, (integration_id,))
        insert_audit(connection, audit)
        insert_events(connection, events)


def get_integration(connection: Connection, integration_id: str) -> IntegrationRow:
    row = connection.execute(sql.SELECT_INTEGRATION, (integration_id,)).fetchone()
    if row is None:
        raise NotFound(f"no integration {integration_id!r}")
    return rows.integration(row, SQLITE)


def list_integrations(connection: Connection) -> list[IntegrationRow]:
    return [rows.integration(row, SQLITE) for row in connection.execute(sql.LIST_INTEGRATIONS)]


def set_status(
    connection: Connection, integration_id: str, status: str, events: Sequence[Params]
) -> IntegrationRow:
    with transaction(connection):
        row = connection.execute(sql.SET_STATUS, (integration_id, status)).fetchone()
        if row is None:
            raise NotFound(f"no integration {integration_id!r}")
        insert_events(connection, events)
    return rows.integration(row, SQLITE)


def list_credentials(connection: Connection, integration_id: str | None) -> list[StoredCredential]:
    cursor = (
        connection.execute(sql.LIST_CREDENTIALS)
        if integration_id is None
        else connection.execute(sql.LIST_CREDENTIALS_OF, (integration_id,))
    )
    return [rows.credential(row, SQLITE) for row in cursor]


def replace_credentials(
    connection: Connection, credentials: Sequence[Params], audit: Params | None
) -> int:
    if not credentials:
        return 0
    with transaction(connection):
        replaced = connection.executemany(sql.REPLACE_CREDENTIAL, credentials).rowcount
        if audit is not None and replaced:
            insert_audit(connection, audit)
    return replaced


def append_audit(connection: Connection, audit: Params) -> None:
    with transaction(connection):
        insert_audit(connection, audit)


def list_audit(connection: Connection, limit: int, before: int | None) -> Page[AuditRow]:
    found = connection.execute(
        sql.LIST_AUDIT, (_NO_ID_LIMIT if before is None else before, limit + 1)
    ).fetchall()
    items = tuple(rows.audit(row, SQLITE) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("audit", items[-1].id) if more else None)
