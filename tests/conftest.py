"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from runtime.testing import MockClock


@pytest.fixture
def clock() -> MockClock:
    return MockClock()


@pytest.fixture(autouse=True)
async def no_stray_tasks() -> AsyncIterator[None]:
    """Every test must leave no task running behind it (structured concurrency)."""
    yield
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    assert not leftovers, f"tasks still running after the test: {leftovers}"
