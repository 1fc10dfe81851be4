"""The lifecycle table: every allowed move passes, every other one raises."""

from __future__ import annotations

import itertools

import pytest

from runtime import IllegalTransition, Lifecycle, check_transition
from runtime._lifecycle import TRANSITIONS


@pytest.mark.parametrize(
    ("old", "new"),
    [(old, new) for old, targets in TRANSITIONS.items() for new in sorted(targets)],
)
def test_lifecycle_allows_the_moves_in_the_table(old: Lifecycle, new: Lifecycle) -> None:
    check_transition("child", old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (old, new)
        for old, new in itertools.product(Lifecycle, Lifecycle)
        if new not in TRANSITIONS[old]
    ],
)
def test_lifecycle_rejects_moves_outside_the_table(old: Lifecycle, new: Lifecycle) -> None:
    with pytest.raises(IllegalTransition, match=f"'child'.*{old} -> {new}"):
        check_transition("child", old, new)


def test_lifecycle_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(Lifecycle)
