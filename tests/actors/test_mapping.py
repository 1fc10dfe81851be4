"""Field mapping: paths, transforms, and problems reported instead of guessed."""

from __future__ import annotations

import pytest

from actors._mapping import (
    MISSING,
    MappingProblem,
    TransformError,
    apply_transform,
    map_record,
    read_path,
)
from config import FieldMapping, Transform

CUSTOMER = {
    "id": 7,
    "name": "  Jana Nováková ",
    "address": {"city": "Brno", "zip": "60200"},
    "lines": [{"sku": "A-1"}, {"sku": "B-2"}],
    "active": "yes",
    "since": "2024-03-01T08:00:00Z",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("id", 7), ("address.city", "Brno"), ("lines.1.sku", "B-2"), ("address", CUSTOMER["address"])],
)
def test_read_path_follows_dots_into_objects_and_lists(path: str, expected: object) -> None:
    assert read_path(CUSTOMER, path) == expected


@pytest.mark.parametrize("path", ["missing", "address.street", "lines.5.sku", "id.x"])
def test_read_path_reports_missing_values(path: str) -> None:
    assert read_path(CUSTOMER, path) is MISSING
    assert map_record(CUSTOMER, [FieldMapping(source=path, target="x")]).data == {"x": None}


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [
        (Transform.NONE, {"a": 1}, {"a": 1}),
        (Transform.LOWER, "ABC", "abc"),
        (Transform.UPPER, "abc", "ABC"),
        (Transform.STRIP, "  x ", "x"),
        (Transform.STRING, 12, "12"),
        (Transform.INT, "42", 42),
        (Transform.INT, 3.0, 3),
        (Transform.FLOAT, "2.5", 2.5),
        (Transform.BOOL, "Yes", True),
        (Transform.BOOL, 0, False),
        (Transform.DATE, "2024-03-01T08:00:00Z", "2024-03-01"),
        (Transform.DATETIME, "2024-03-01T08:00:00Z", "2024-03-01T08:00:00+00:00"),
        (Transform.INT, None, None),
    ],
)
def test_apply_transform_converts(transform: Transform, value: object, expected: object) -> None:
    assert apply_transform(transform, value) == expected


@pytest.mark.parametrize(
    ("transform", "value"),
    [
        (Transform.INT, "forty-two"),
        (Transform.INT, 2.5),
        (Transform.FLOAT, "n/a"),
        (Transform.BOOL, "maybe"),
        (Transform.DATE, "yesterday"),
        (Transform.DATETIME, "soon"),
    ],
)
def test_apply_transform_refuses_values_it_cannot_convert(
    transform: Transform, value: object
) -> None:
    with pytest.raises(TransformError):
        apply_transform(transform, value)


def test_map_record_builds_the_target_shape() -> None:
    mappings = [
        FieldMapping(source="id", target="customer_id", transform=Transform.STRING),
        FieldMapping(source="name", target="name", transform=Transform.STRIP),
        FieldMapping(source="address.city", target="city", transform=Transform.UPPER),
        FieldMapping(source="active", target="active", transform=Transform.BOOL),
    ]
    mapped = map_record(CUSTOMER, mappings)
    assert mapped.data == {
        "customer_id": "7",
        "name": "Jana Nováková",
        "city": "BRNO",
        "active": True,
    }
    assert mapped.problems == ()


def test_map_record_leaves_out_a_bad_value_and_reports_it() -> None:
    mappings = [
        FieldMapping(source="name", target="count", transform=Transform.INT),
        FieldMapping(source="id", target="id"),
    ]
    mapped = map_record(CUSTOMER, mappings)
    assert mapped.data == {"id": 7}
    assert mapped.problems == (
        MappingProblem("count", "cannot convert to int: '  Jana Nováková '"),
    )


def test_map_record_without_mappings_keeps_the_record() -> None:
    assert map_record(CUSTOMER, []).data is CUSTOMER
