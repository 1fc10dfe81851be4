"""Numbered SQL files per dialect, applied once each, under a lock, recorded in the database.

`migrations/<dialect>/NNNN_name.sql` are applied in order. Two processes starting at once
must not both apply one: each looks and applies inside one transaction that first takes a
lock, `pg_advisory_xact_lock` in PostgreSQL, `BEGIN IMMEDIATE` in SQLite (both have
transactional DDL, so a failed migration leaves nothing half-applied). A migration therefore
cannot use statements that refuse to run in a transaction (CREATE INDEX CONCURRENTLY).
Each applied file gets a `schema_migrations` row. A database that has a version this code
does not know was migrated by newer code: refused rather than run against a schema we cannot
read.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, Literal

from runtime.store._errors import StoreError
from runtime.store._model import Migration
from runtime.store._values import iso

Dialect = Literal["sqlite", "postgres"]

# asyncpg ships no type information; its connection is what this names.
PostgresConnection = Any

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

# Any fixed 64-bit number: the key of the session-level lock migrations run under.
ADVISORY_LOCK_KEY = 0x1A7E_6A7E_0000_0001

_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)"""

POSTGRES_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL
)"""


def load_migrations(dialect: Dialect) -> tuple[Migration, ...]:
    folder = resources.files("runtime.store").joinpath("migrations", dialect)
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return check_sequence(found)


def check_sequence(migrations: Sequence[Migration]) -> tuple[Migration, ...]:
    """Sorted, numbered 1, 2, 3 … without gaps or repeats."""
    ordered = tuple(sorted(migrations, key=lambda m: m.version))
    versions = [m.version for m in ordered]
    if versions != list(range(1, len(ordered) + 1)):
        raise StoreError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return ordered


def pending(available: Sequence[Migration], applied: Collection[int]) -> list[Migration]:
    known = {m.version for m in available}
    unknown = sorted(set(applied) - known)
    if unknown:
        raise StoreError(
            f"the database has schema versions {unknown} this code does not know: "
            "it was migrated by a newer version of the hub"
        )
    return [m for m in available if m.version not in applied]


def sqlite_statements(script: str) -> list[str]:
    """Split a script into statements (`executescript` would commit our transaction)."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines(keepends=True):
        current.append(line)
        candidate = "".join(current)
        if sqlite3.complete_statement(candidate):
            if _has_code(candidate):
                statements.append(candidate.strip())
            current = []
    if _has_code("".join(current)):
        raise StoreError(f"incomplete SQL statement at the end of a migration: {current!r}")
    return statements


def _has_code(sql: str) -> bool:
    return (
        any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())
        and sql.strip() != ";"
    )


def migrate_sqlite(
    connection: sqlite3.Connection, migrations: Sequence[Migration], now: datetime
) -> int:
    """Apply what is pending in one IMMEDIATE transaction; returns how many were applied."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.execute(_SQLITE_TABLE)
        applied = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
        todo = pending(migrations, applied)
        for migration in todo:
            for statement in sqlite_statements(migration.sql):
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, iso(now)),
            )
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return len(todo)


async def migrate_postgres(
    connection: PostgresConnection, migrations: Sequence[Migration], now: datetime
) -> int:
    """Apply what is pending in one transaction holding the advisory lock.

    The transaction-scoped lock (`pg_advisory_xact_lock`) ends with the transaction whatever
    happens, even on cancellation; a session-level one could stay held by a pooled connection.
    Waiting for the lock comes before reading what is applied: in READ COMMITTED that read then
    sees what the other process committed."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK_KEY)
        await connection.execute(POSTGRES_TABLE)
        rows = await connection.fetch("SELECT version FROM schema_migrations")
        todo = pending(migrations, {row[0] for row in rows})
        for migration in todo:
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                now,
            )
    return len(todo)
