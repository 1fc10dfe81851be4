"""Group commit of webhook deliveries: one writer, many waiting handlers, each woken only once
its transaction committed; a failed commit fails exactly its batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import cast

import anyio
import pytest

from actors._webhook_intake import IntakeUnavailable, IntegrationGone, WebhookIntake
from runtime.store import NotFound, Store, StoreUnavailable, WebhookIn
from runtime.testing import wait_for


class GatedStore:
    """`save_webhook_deliveries` only: each call is recorded, then waits for the gate, then
    fails as scripted or dedupes by (integration, delivery id)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = anyio.Event()
        self.gate.set()
        self.script: list[Exception | None] = []
        self.stored: set[tuple[str, str]] = set()
        self.known = {"int-1"}

    async def save_webhook_deliveries(self, deliveries: Sequence[WebhookIn]) -> list[bool]:
        self.batches.append([d.delivery_id for d in deliveries])
        await self.gate.wait()
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        if any(d.integration_id not in self.known for d in deliveries):
            raise NotFound("no integration")
        results = []
        for d in deliveries:
            key = (d.integration_id, d.delivery_id)
            results.append(key not in self.stored)
            self.stored.add(key)
        return results

    def close_gate(self) -> None:
        self.gate = anyio.Event()


def _delivery(delivery_id: str, integration_id: str = "int-1") -> WebhookIn:
    return WebhookIn(f"id-{delivery_id}", integration_id, delivery_id, {}, b"{}")


@asynccontextmanager
async def running(
    store: GatedStore, **options: int
) -> AsyncIterator[tuple[WebhookIntake, list[str]]]:
    handed: list[str] = []
    intake = WebhookIntake(
        cast(Store, store),
        on_saved=lambda saved: handed.extend(d.delivery_id for d in saved),
        **{"writers": 1, **options},
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(intake.run)
        await wait_for(lambda: intake.running, what="the writer")
        yield intake, handed
        tg.cancel_scope.cancel()


async def _submit_all(
    intake: WebhookIntake, deliveries: Sequence[WebhookIn], outcomes: dict[str, object]
) -> None:
    async def one(delivery: WebhookIn) -> None:
        try:
            outcomes[delivery.delivery_id] = await intake.submit(delivery)
        except Exception as error:
            outcomes[delivery.delivery_id] = type(error)

    async with anyio.create_task_group() as tg:
        for delivery in deliveries:
            tg.start_soon(one, delivery)


async def test_intake_commits_what_waits_together_and_wakes_each_after_its_commit() -> None:
    store = GatedStore()
    async with running(store) as (intake, handed), anyio.create_task_group() as tg:
        store.close_gate()
        outcomes: dict[str, object] = {}
        tg.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: store.batches == [["d0"]], what="the first commit begun")
        tg.start_soon(_submit_all, intake, [_delivery(f"d{n}") for n in range(1, 10)], outcomes)
        await wait_for(lambda: len(intake._waiting) == 9, what="nine waiting")

        assert outcomes == {}  # nobody is answered before the commit
        store.gate.set()
        await wait_for(lambda: len(outcomes) == 10, what="every handler answered")

    assert store.batches == [["d0"], [f"d{n}" for n in range(1, 10)]]
    assert outcomes == {f"d{n}": True for n in range(10)}
    assert (intake.commits, intake.saved) == (2, 10)
    assert handed == [f"d{n}" for n in range(10)]


async def test_intake_with_two_writers_commits_two_batches_at_once() -> None:
    store = GatedStore()
    async with running(store, writers=2) as (intake, handed), anyio.create_task_group() as tg:
        store.close_gate()
        outcomes: dict[str, object] = {}
        tg.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: store.batches == [["d0"]], what="the first commit begun")
        tg.start_soon(_submit_all, intake, [_delivery("d1")], outcomes)
        await wait_for(lambda: store.batches == [["d0"], ["d1"]], what="a second one beside it")
        tg.start_soon(_submit_all, intake, [_delivery(f"d{n}") for n in range(2, 5)], outcomes)
        await wait_for(lambda: len(intake._waiting) == 3, what="three waiting")

        assert outcomes == {}
        store.gate.set()
        await wait_for(lambda: len(outcomes) == 5, what="every handler answered")

    assert store.batches[2:] == [["d2", "d3", "d4"]]
    assert outcomes == {f"d{n}": True for n in range(5)}
    assert sorted(handed) == [f"d{n}" for n in range(5)]


async def test_intake_commit_failure_fails_every_handler_of_that_batch_only() -> None:
    store = GatedStore()
    async with running(store) as (intake, handed), anyio.create_task_group() as tg:
        store.close_gate()
        store.script = [None, StoreUnavailable("database restarting")]
        outcomes: dict[str, object] = {}
        tg.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: len(store.batches) == 1, what="the first commit begun")
        tg.start_soon(_submit_all, intake, [_delivery("d1"), _delivery("d2")], outcomes)
        await wait_for(lambda: len(intake._waiting) == 2, what="two waiting")
        store.gate.set()
        await wait_for(lambda: len(outcomes) == 3, what="every handler answered")

        again: dict[str, object] = {}
        await _submit_all(intake, [_delivery("d1")], again)

    assert outcomes == {"d0": True, "d1": IntakeUnavailable, "d2": IntakeUnavailable}
    assert again == {"d1": True}
    assert handed == ["d0", "d1"]


async def test_intake_reports_duplicates_and_hands_on_only_new_deliveries() -> None:
    store = GatedStore()
    async with running(store) as (intake, handed):
        first = await intake.submit(_delivery("d0"))
        second = await intake.submit(_delivery("d0"))

    assert (first, second) == (True, False)
    assert handed == ["d0"]


async def test_intake_batch_naming_a_deleted_integration_fails_that_delivery_only() -> None:
    store = GatedStore()
    async with running(store) as (intake, handed), anyio.create_task_group() as tg:
        store.close_gate()
        outcomes: dict[str, object] = {}
        tg.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: len(store.batches) == 1, what="the first commit begun")
        batch = [_delivery("d1"), _delivery("gone", "deleted-integration"), _delivery("d2")]
        tg.start_soon(_submit_all, intake, batch, outcomes)
        await wait_for(lambda: len(intake._waiting) == 3, what="three waiting")
        store.gate.set()
        await wait_for(lambda: len(outcomes) == 4, what="every handler answered")

    assert outcomes == {"d0": True, "d1": True, "gone": IntegrationGone, "d2": True}
    assert handed == ["d0", "d1", "d2"]


async def test_intake_not_running_or_overfull_refuses_at_once() -> None:
    store = GatedStore()
    idle = WebhookIntake(cast(Store, store), on_saved=lambda saved: None)
    with pytest.raises(IntakeUnavailable, match="not running"):
        await idle.submit(_delivery("d0"))

    async with running(store, max_waiting=1) as (intake, _), anyio.create_task_group() as tg:
        store.close_gate()
        outcomes: dict[str, object] = {}
        tg.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: len(store.batches) == 1, what="the first commit begun")
        tg.start_soon(_submit_all, intake, [_delivery("d1")], outcomes)
        await wait_for(lambda: len(intake._waiting) == 1, what="one waiting")

        with pytest.raises(IntakeUnavailable, match="too many"):
            await intake.submit(_delivery("d2"))
        store.gate.set()

    assert store.batches == [["d0"], ["d1"]]


async def test_intake_stopping_fails_the_batch_in_commit_and_those_waiting() -> None:
    store = GatedStore()
    outcomes: dict[str, object] = {}
    async with anyio.create_task_group() as outer, running(store) as (intake, _):
        store.close_gate()
        outer.start_soon(_submit_all, intake, [_delivery("d0")], outcomes)
        await wait_for(lambda: len(store.batches) == 1, what="the first commit begun")
        outer.start_soon(_submit_all, intake, [_delivery("d1")], outcomes)
        await wait_for(lambda: len(intake._waiting) == 1, what="one waiting")
        # the writer was cancelled as `running` ended

    assert outcomes == {"d0": IntakeUnavailable, "d1": IntakeUnavailable}
    assert not intake.running
