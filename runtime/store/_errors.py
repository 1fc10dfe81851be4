"""The store's errors, grouped by what the caller does about them, and the edge that makes them.

StoreError                 anything the store could not do (the driver's error is the cause)
├── StoreUnavailable       connection lost, server restarting, database locked: retry later
├── Conflict               a unique key taken, a stale version, a run no longer running
├── NotFound               no such row, or the row a write refers to is gone
└── InvalidValue           a value no backend can hold (NUL in text, naive datetime, non-JSON);
                           also a `ValueError`, since it is the caller's bug, not the store's

`sqlite_errors()` and `postgres_errors()` wrap every driver call, so no `sqlite3` or `asyncpg`
exception crosses the interface; the original stays reachable as `__cause__`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped


class StoreError(Exception):
    """Base of everything the store raises."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or is busy right now; the same call may work later."""


class Conflict(StoreError):
    """The write clashes with what is stored (duplicate key, stale version, finished run)."""


class NotFound(StoreError):
    """The row asked for, or the row a write refers to, does not exist."""


class InvalidValue(StoreError, ValueError):
    """A value that cannot be stored the same way in every backend."""


_SQLITE_BY_NAME: dict[str, type[StoreError]] = {
    "SQLITE_CONSTRAINT_UNIQUE": Conflict,
    "SQLITE_CONSTRAINT_PRIMARYKEY": Conflict,
    "SQLITE_CONSTRAINT_FOREIGNKEY": NotFound,
    "SQLITE_CONSTRAINT_CHECK": InvalidValue,
    "SQLITE_CONSTRAINT_NOTNULL": InvalidValue,
    "SQLITE_TOOBIG": InvalidValue,
    "SQLITE_MISMATCH": InvalidValue,
}

# Prefixes of SQLite's (extended) result codes that mean "try again later".
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR")


def sqlite_error(error: sqlite3.Error) -> StoreError:
    name = getattr(error, "sqlite_errorname", "") or ""
    kind = _SQLITE_BY_NAME.get(name)
    if kind is None and name.startswith(_SQLITE_UNAVAILABLE):
        kind = StoreUnavailable
    if kind is None:
        kind = InvalidValue if isinstance(error, sqlite3.DataError) else StoreError
    return kind(f"sqlite: {error}")


@contextmanager
def sqlite_errors() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise sqlite_error(error) from error
    except UnicodeEncodeError as error:
        raise InvalidValue(f"text the database cannot encode: {error}") from error


def _postgres_kind(error: BaseException) -> type[StoreError]:  # one flat table
    exc = asyncpg.exceptions
    if isinstance(error, exc.UniqueViolationError | exc.ExclusionViolationError):
        return Conflict
    if isinstance(error, exc.ForeignKeyViolationError):
        return NotFound
    if isinstance(
        error,
        exc.CheckViolationError | exc.NotNullViolationError | exc.DataError | ValueError,
    ):
        return InvalidValue
    if isinstance(
        error,
        exc.PostgresConnectionError
        | exc.OperatorInterventionError
        | exc.InsufficientResourcesError
        | exc.TransactionRollbackError
        | exc.InterfaceError
        | OSError
        | TimeoutError,
    ):
        return StoreUnavailable
    return StoreError


def postgres_error(error: BaseException) -> StoreError:
    return _postgres_kind(error)(f"postgresql: {type(error).__name__}: {error}")


@contextmanager
def postgres_errors() -> Iterator[None]:
    """Translate asyncpg's and the socket's errors; our own `StoreError`s pass unchanged."""
    try:
        yield
    except StoreError:
        raise
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        raise postgres_error(error) from error
    except (UnicodeEncodeError, ValueError) as error:
        raise postgres_error(error) from error
