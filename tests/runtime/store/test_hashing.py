"""The canonical JSON and content hash (runtime/store/_hashing.py): orjson's text, its rules.

Pure tests of what is refused and how it is named, plus one round trip per backend for the
integers orjson cannot write (the stdlib fallback).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, IntEnum
from types import MappingProxyType

import pytest

from runtime.store import (
    InvalidValue,
    RecordIn,
    RunKind,
    RunStatus,
    Store,
    canonical_json,
    record_json_and_hash,
)
from runtime.store._hashing import has_escaped_nul, prepare_records
from tests.runtime.store.helpers import audit, integration

NAN = float("nan")
INF = float("inf")


class Colour(Enum):
    RED = "red"
    BROKEN = NAN


class Level(IntEnum):
    HIGH = 3


class Score(float):
    pass


@dataclass
class Point:
    x: int


# -- the canonical text ------------------------------------------------------------------


def test_canonical_text_sorts_keys_at_every_level_without_spaces_or_escapes() -> None:
    value = {"b": [1, {"d": 2.5, "c": None}], "a": "ü ✓ 漢字", "e": True, "f": -0.0, "g": 1e16}

    assert canonical_json(value, "v") == (
        '{"a":"ü ✓ 漢字","b":[1,{"c":null,"d":2.5}],"e":true,"f":-0.0,"g":1e+16}'
    )


def test_hash_is_sha256_of_the_utf8_text_and_ignores_key_order() -> None:
    text, digest = record_json_and_hash({"z": 1, "a": {"y": [1, 2], "b": "ü"}}, "r")
    _, same = record_json_and_hash({"a": {"b": "ü", "y": [1, 2]}, "z": 1}, "r")

    assert digest == same == hashlib.sha256(text.encode()).hexdigest()
    assert json.loads(text) == {"z": 1, "a": {"y": [1, 2], "b": "ü"}}


def test_mappings_tuples_float_subclasses_enums_and_uuids_are_written_as_json() -> None:
    value = MappingProxyType(
        {
            "m": MappingProxyType({"b": 1, "a": 2}),
            "t": (1, 2),
            "s": Score(1.5),
            "e": Colour.RED,
            "i": Level.HIGH,
            "u": uuid.UUID(int=1),
        }
    )

    assert canonical_json(value, "v") == (
        '{"e":"red","i":3,"m":{"a":2,"b":1},"s":1.5,"t":[1,2],'
        '"u":"00000000-0000-0000-0000-000000000001"}'
    )


def test_null_and_the_word_null_in_text_are_fine() -> None:
    assert canonical_json({"a": None, "b": "null", "c": [None]}, "v") == (
        '{"a":null,"b":"null","c":[null]}'
    )


# -- what is refused, and how it is named --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"x": NAN}, r"\$\.x"),
        ({"x": [1, {"y": -INF}]}, r"\$\.x\[1\]\.y"),
        ({"x": None, "y": INF}, r"\$\.y"),
        ({"x": Colour.BROKEN}, r"\$\.x"),
        ({"x": Score(NAN)}, r"\$\.x"),
    ],
)
def test_nan_and_infinity_are_refused_not_written_as_null(
    value: Mapping[str, object], where: str
) -> None:
    with pytest.raises(InvalidValue, match=rf"^config: {where}: NaN and infinity are not JSON"):
        canonical_json(value, "config")


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"x": "a\x00b"}, r"\$\.x"),
        ({"x": ["ok", {"k": "\x00"}]}, r"\$\.x\[1\]\.k"),
        ({"x": {"k\x00": 1}}, r"\$\.x \(a key\)"),
    ],
)
def test_nul_in_text_or_keys_is_refused(value: Mapping[str, object], where: str) -> None:
    with pytest.raises(InvalidValue, match=rf"^details: {where}: JSON text must not contain NUL"):
        canonical_json(value, "details")


def test_escaped_nul_is_told_from_a_backslash_before_u0000() -> None:
    assert not has_escaped_nul(r'{"a":"\\u0000"}')  # backslash, then the text u0000
    assert has_escaped_nul(r'{"a":"\u0000"}')  # a NUL
    assert has_escaped_nul(r'{"a":"\\\u0000"}')  # a backslash, then a NUL
    assert not has_escaped_nul(r'{"a":"\\\\u0000","b":"\\u0000"}')
    assert canonical_json({"a": "\\u0000", "b": "\\\\u0000"}, "v") == (
        '{"a":"\\\\u0000","b":"\\\\\\\\u0000"}'
    )


@pytest.mark.parametrize(
    "value",
    [{"x": "\ud800"}, {"x": ["fine", "lone \udfff"]}, {"\ud83d": 1}],
)
def test_lone_surrogates_are_refused(value: Mapping[str, object]) -> None:
    with pytest.raises(InvalidValue, match=r"^v: not storable as JSON: \$.*lone surrogate"):
        canonical_json(value, "v")


@pytest.mark.parametrize("key", [1, None, True, 1.5, ("a",)])
def test_keys_that_are_not_str_are_refused(key: object) -> None:
    value: dict[object, object] = {"a": {key: 1}}

    with pytest.raises(InvalidValue, match=r"^v: not storable as JSON: \$\.a \(key .*must be str"):
        canonical_json(value, "v")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        (datetime(2030, 1, 1, tzinfo=UTC), "datetime"),
        (Point(1), "Point"),
        (object(), "object"),
    ],
)
def test_values_without_a_json_form_are_refused_with_their_place(item: object, kind: str) -> None:
    with pytest.raises(InvalidValue, match=rf"^v: not storable as JSON: \$\.a\[0\] \({kind}\)"):
        canonical_json({"a": [item]}, "v")


@pytest.mark.parametrize("value", [[1, 2], "text", None, 3])
def test_only_a_json_object_is_taken_at_the_top(value: object) -> None:
    with pytest.raises(InvalidValue, match="a JSON object is required"):
        canonical_json(value, "v")  # type: ignore[arg-type]


def test_nesting_too_deep_or_cyclic_is_refused_not_a_crash() -> None:
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(2_000):
        inner["a"] = {}
        inner = inner["a"]  # type: ignore[assignment]
    cyclic: dict[str, object] = {}
    cyclic["self"] = cyclic

    for value in (deep, cyclic):
        with pytest.raises(InvalidValue, match="not storable as JSON"):
            canonical_json(value, "v")


# -- integers beyond 64 bits: the stdlib's text, the same rules -----------------------------


def test_integers_beyond_64_bits_are_kept_exactly_by_the_stdlib_fallback() -> None:
    big = {"b": 2**64, "a": -(2**63) - 1, "f": 1e-5, "u": "ü"}

    text = canonical_json(big, "v")

    assert text == '{"a":-9223372036854775809,"b":18446744073709551616,"f":1e-05,"u":"ü"}'
    assert json.loads(text) == big
    assert canonical_json(dict(reversed(big.items())), "v") == text  # one text per value
    small = canonical_json({"a": 2**64 - 1, "f": 1e-5}, "v")  # orjson's own text
    assert small == '{"a":18446744073709551615,"f":0.00001}'


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"big": 2**70, "x": NAN}, "NaN"),
        ({"big": 2**70, "x": "\x00"}, "NUL"),
        ({"big": 2**70, "x": "\ud800"}, "lone surrogate"),
        ({"big": 2**70, "x": {1: 2}}, "must be str"),
        ({"big": 2**70, "x": {1, 2}}, "set"),
    ],
)
def test_the_fallback_refuses_what_orjson_refuses(
    value: Mapping[str, object], problem: str
) -> None:
    with pytest.raises(InvalidValue, match=f"^v: .*{problem}"):
        canonical_json(value, "v")


# -- a batch at once ---------------------------------------------------------------------


def test_a_batch_hashes_as_record_json_and_hash_per_record() -> None:
    batch: dict[str, Mapping[str, object]] = {
        "plain": {"b": 1, "a": "x"},
        "nulls": {"a": None, "b": "null"},
        "escaped": {"a": "\\u0000"},
        "big": {"a": 2**64},
        "proxy": MappingProxyType({"a": 1}),
        "empty": {},
    }

    assert prepare_records(batch) == [
        (key, *record_json_and_hash(value, "r")) for key, value in batch.items()
    ]
    assert prepare_records({}) == []


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"ok": {"a": None}, "bad": {"a": NAN}}, r"^record 'bad' data: \$\.a: NaN"),
        ({"ok": {}, "bad": {"a": "\x00"}}, r"^record 'bad' data: \$\.a: JSON text .* NUL"),
        ({"ok": {}, "bad\x00": {}}, r"^record 'bad\\x00': external_id must not contain NUL"),
        ({"ok": {}, "bad\ud800": {}}, r"^record 'bad\\ud800': external_id must be valid Unicode"),
        ({"ok": {}, "bad": {"a": {1}}}, r"^record 'bad' data: not storable as JSON: \$\.a \(set"),
        ({"ok": {}, "bad": {"a": 2**70, "b": {1}}}, r"^record 'bad' data: .*\(set\)"),
    ],
)
def test_a_batch_names_the_record_it_refuses(
    batch: Mapping[str, Mapping[str, object]], message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        prepare_records(batch)


def test_a_batch_refuses_a_record_that_is_not_an_object() -> None:
    with pytest.raises(InvalidValue, match=r"^record 'bad' data: a JSON object is required"):
        prepare_records({"ok": {}, "bad": [1]})  # type: ignore[dict-item]


# -- through the store ---------------------------------------------------------------------


async def test_big_integers_round_trip_exactly_and_resync_unchanged(store: Store) -> None:
    await store.create_integration(integration("int-1"), {}, audit())
    data = {"id": 2**64 + 1, "neg": -(2**80), "f": 0.1, "fine": 2**63}
    for expected in (1, 0):
        run = await store.start_run("int-1", "contacts", RunKind.FULL)
        result = await store.write_batch(run.id, "int-1", "contacts", [RecordIn("a", data)], None)
        await store.finish_run(run.id, RunStatus.COMPLETED)
        assert (result.added, result.unchanged) == (expected, 1 - expected)

    [row] = (await store.list_records("int-1", "contacts", limit=5)).items
    assert row.data == data
