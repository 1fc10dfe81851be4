"""The store's pure parts, without a database: hashing, cursors, migration files, error mapping."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
import pytest

from runtime.store import (
    Conflict,
    InvalidValue,
    Migration,
    NotFound,
    RecordIn,
    StoreError,
    StoreUnavailable,
    canonical_json,
    record_json_and_hash,
)
from runtime.store._batch import (
    key_range,
    mostly_new,
    mostly_unchanged,
    plan_batch,
    plan_writes,
    unseen_gaps,
)
from runtime.store._errors import postgres_errors, sqlite_error
from runtime.store._migrations import check_sequence, load_migrations, pending, sqlite_statements
from runtime.store._params import records
from runtime.store._values import encode_cursor, int_cursor, iso, load_json, str_cursor


def test_content_hash_ignores_key_order_and_is_sha256_of_canonical_json() -> None:
    text, digest = record_json_and_hash({"b": [1, {"d": 2, "c": 3}], "a": "ü"}, "r")
    _, same = record_json_and_hash({"a": "ü", "b": [1, {"c": 3, "d": 2}]}, "r")

    assert text == '{"a":"ü","b":[1,{"c":3,"d":2}]}'
    assert digest == same
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert digest == "9cd30e00aaca3e68140d67a55c65e189a03c366c6b3d1e043aa742ae7d508392"


def test_canonical_json_takes_any_mapping_and_refuses_non_json() -> None:
    assert (
        canonical_json(MappingProxyType({"x": MappingProxyType({"y": 1})}), "v") == '{"x":{"y":1}}'
    )
    with pytest.raises(InvalidValue, match="config"):
        canonical_json({"x": float("inf")}, "config")
    with pytest.raises(InvalidValue, match="config"):
        canonical_json({"x": {1, 2}}, "config")


def test_nul_check_tells_a_real_nul_from_an_escaped_backslash_u() -> None:
    assert canonical_json({"text": "\\u0000"}, "v") == '{"text":"\\\\u0000"}'
    with pytest.raises(InvalidValue, match="NUL"):
        canonical_json({"list": ["ok", {"k": "\x00"}]}, "v")


def test_cursor_round_trips_and_rejects_foreign_or_garbage() -> None:
    assert str_cursor(encode_cursor("records", "c'1"), "records") == "c'1"
    assert int_cursor(encode_cursor("logs", 42), "logs") == 42
    assert int_cursor(None, "logs") is None
    for bad in ("!!!", encode_cursor("logs", 42), encode_cursor("records", "x") + "A"):
        with pytest.raises(InvalidValue):
            str_cursor(bad, "records")
    with pytest.raises(InvalidValue):
        int_cursor(encode_cursor("logs", "not-int"), "logs")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "b": [1.5, -0.0, 1E2, "x\\u00e9"], "c": {"d": null, "e": true}}',
        '{"big": 123456789012345678901234, "neg": -9223372036854775809}',
        '{"u64": 18446744073709551616, "id": "1234567890123456789012"}',
        '{"nan": NaN, "inf": Infinity, "huge": 1e400}',
        '{"lone": "\\ud800"}',
        '{"dup": 1, "dup": 2}',
    ],
)
def test_load_json_reads_as_the_stdlib_does(text: str) -> None:
    loaded, expected = load_json(text), json.loads(text)
    assert repr(loaded) == repr(expected)
    assert [type(v) for v in loaded.values()] == [type(v) for v in expected.values()]


def test_iso_is_fixed_width_utc_text() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2030, 1, 1, 2, 0, tzinfo=plus_two)) == "2030-01-01T00:00:00.000000Z"
    assert iso(datetime(2030, 1, 1, 0, 0, 0, 5, tzinfo=UTC)) == "2030-01-01T00:00:00.000005Z"


def test_migration_files_are_numbered_without_gaps_for_both_dialects() -> None:
    sqlite = load_migrations("sqlite")
    postgres = load_migrations("postgres")

    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgres]
    assert sqlite[0].version == 1
    with pytest.raises(StoreError, match="gaps"):
        check_sequence([Migration(1, "a", ""), Migration(3, "c", "")])


def test_pending_skips_applied_and_refuses_unknown_versions() -> None:
    available = [Migration(1, "a", ""), Migration(2, "b", "")]

    assert [m.version for m in pending(available, {1})] == [2]
    assert pending(available, {1, 2}) == []
    with pytest.raises(StoreError, match="newer"):
        pending(available, {1, 2, 3})


def test_sqlite_statements_split_on_complete_statements_only() -> None:
    script = "-- c\nCREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE TABLE b (y INT);\n-- end\n"

    assert sqlite_statements(script) == [
        "-- c\nCREATE TABLE a (x TEXT DEFAULT ';');",
        "CREATE TABLE b (y INT);",
    ]
    with pytest.raises(StoreError, match="incomplete"):
        sqlite_statements("CREATE TABLE c (z INT)")


def _sqlite_failure(setup: str, statement: str) -> sqlite3.Error:
    connection = sqlite3.connect(":memory:")
    connection.executescript(setup)
    try:
        connection.execute(statement)
    except sqlite3.Error as error:
        return error
    finally:
        connection.close()
    raise AssertionError("the statement did not fail")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("INSERT INTO t (a) VALUES (1)", Conflict),
        ("INSERT INTO t (a, b) VALUES (2, 99)", NotFound),
        ("INSERT INTO t (a, c) VALUES (3, NULL)", InvalidValue),
        ("SELECT * FROM missing", StoreError),
    ],
)
def test_sqlite_errors_map_by_what_the_caller_does(
    statement: str, expected: type[StoreError]
) -> None:
    setup = (
        "PRAGMA foreign_keys = ON;"
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b REFERENCES t (a), c TEXT NOT NULL DEFAULT '');"
        "INSERT INTO t (a) VALUES (1);"
    )

    mapped = sqlite_error(_sqlite_failure(setup, statement))

    assert type(mapped) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (asyncpg.exceptions.UniqueViolationError("dup"), Conflict),
        (asyncpg.exceptions.ForeignKeyViolationError("fk"), NotFound),
        (asyncpg.exceptions.CharacterNotInRepertoireError("nul"), InvalidValue),
        (asyncpg.exceptions.ConnectionDoesNotExistError("gone"), StoreUnavailable),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), StoreUnavailable),
        (asyncpg.exceptions.AdminShutdownError("bye"), StoreUnavailable),
        (asyncpg.exceptions.SerializationError("retry"), StoreUnavailable),
        (asyncpg.exceptions.InterfaceError("connection is closed"), StoreUnavailable),
        (ConnectionRefusedError(111, "refused"), StoreUnavailable),
        (asyncpg.exceptions.UndefinedTableError("no table"), StoreError),
    ],
)
def test_postgres_errors_map_by_what_the_caller_does(
    error: Exception, expected: type[StoreError]
) -> None:
    with pytest.raises(StoreError) as raised, postgres_errors():
        raise error

    assert type(raised.value) is expected
    assert raised.value.__cause__ is error


def test_prepared_records_hash_as_record_json_and_hash_and_last_wins() -> None:
    batch = [RecordIn("a", {"v": 1}), RecordIn("b", {"v": 2}), RecordIn("a", {"v": 3})]

    prepared = records(batch)

    assert prepared == [
        ("a", *record_json_and_hash({"v": 3}, "r")),
        ("b", *record_json_and_hash({"v": 2}, "r")),
    ]
    with pytest.raises(InvalidValue, match="'bad'"):
        records([RecordIn("bad", {"x": object()})])


def test_plan_batch_sorts_new_changed_and_unchanged() -> None:
    batch = [
        ("new", "{}", "h1"),
        ("same", "{}", "h2"),
        ("edited", "{}", "h3"),
        ("back", "{}", "h4"),
    ]
    stored = {"same": True, "edited": False, "back": False}

    plan = plan_batch(batch, stored)

    assert [p[0] for p in plan.new] == ["new"]
    assert [p[0] for p in plan.changed] == ["edited", "back"]
    assert plan.unchanged == ["same"]


def test_plan_writes_sorts_the_same_batch_from_the_keys_to_write() -> None:
    batch = [
        ("new", "{}", "h1"),
        ("same", "{}", "h2"),
        ("edited", "{}", "h3"),
        ("back", "{}", "h4"),
    ]

    plan = plan_writes(batch, {"new": False, "edited": True, "back": True})

    assert plan == plan_batch(batch, {"same": True, "edited": False, "back": False})
    assert [p[0] for p in plan.new] == ["new"]
    assert [p[0] for p in plan.changed] == ["edited", "back"]
    assert plan.unchanged == ["same"]


def test_a_run_with_nothing_so_far_is_neither_mostly_new_nor_mostly_unchanged() -> None:
    assert not mostly_new(0, 0, 0)
    assert not mostly_unchanged(0, 0)
    assert mostly_new(10, 3, 5)
    assert not mostly_new(10, 4, 6)
    assert mostly_unchanged(5, 6)
    assert not mostly_unchanged(6, 6)


def test_key_range_orders_by_code_point_as_the_databases_order_utf8_bytes() -> None:
    keys = ["b", "\U0001f600", "\uffff", "Z"]

    low, high = key_range([(key, "{}", "h") for key in keys])

    assert (low, high) == ("Z", "\U0001f600")  # UTF-16 order would put U+FFFF last
    assert sorted(keys) == sorted(keys, key=str.encode)


def test_unseen_gaps_lie_between_merged_ranges_with_open_ends() -> None:
    ranges = [("m", "p"), ("a", "c"), ("b", "e"), ("x", "x"), ("n", "o")]

    assert unseen_gaps(ranges) == [(None, "a"), ("e", "m"), ("p", "x"), ("x", None)]
    assert unseen_gaps([]) == [(None, None)]
