"""Group commit of inbound webhook deliveries: many HTTP handlers, few writers, few commits.

Each handler hands its verified delivery to `submit` and waits. A writer task (`writers` of
them, in one supervised `Service` under the root) takes every delivery waiting, up to
`commit_batch`, and saves them in one transaction (`Store.save_webhook_deliveries`); only when
that has committed is each waiting handler woken, with whether its delivery was new or a
duplicate. While a transaction commits, the next batch gathers: the busier the endpoint, the
more each commit carries, with no timer and no added wait when it is quiet. A commit spends
most of its time waiting for the database's log flush; with two writers one batch gathers
while the other's flush is under way, and the database flushes concurrent commits together.

A commit that fails wakes every handler of its batch with `IntakeUnavailable` (the sender gets
503 and sends again; a delivery that did commit after all is then a duplicate, answered 2xx).
A batch refused because one of its integrations was deleted meanwhile is saved again one by
one, so only that delivery fails. Deliveries saved as new are handed on (`on_saved`) to be
processed. When the writer is not running (stopping, restarting) `submit` fails at once, as it
does when `max_waiting` deliveries wait already (back pressure, rather than unbounded memory).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from runtime import describe
from runtime.store import NotFound, Store, StoreError, WebhookIn

log = logging.getLogger("actors.webhooks")


class IntakeUnavailable(Exception):
    """The delivery was not stored: the sender should try again later (HTTP 503)."""


class IntegrationGone(Exception):
    """The delivery names an integration that no longer exists (HTTP 404)."""


@dataclass(slots=True)
class _Waiting:
    delivery: WebhookIn
    future: asyncio.Future[bool]


class WebhookIntake:
    def __init__(
        self,
        store: Store,
        *,
        on_saved: Callable[[Sequence[WebhookIn]], None],
        commit_batch: int = 500,
        max_waiting: int = 5000,
        writers: int = 2,
    ) -> None:
        self._store = store
        self._on_saved = on_saved
        self._commit_batch = commit_batch
        self._max_waiting = max_waiting
        self._writers = writers
        self._waiting: deque[_Waiting] = deque()
        self._in_commit: list[list[_Waiting]] = []
        self._wakeup: asyncio.Event | None = None
        self.commits = 0  # transactions committed, for statistics and tests
        self.saved = 0

    @property
    def running(self) -> bool:
        return self._wakeup is not None

    async def submit(self, delivery: WebhookIn) -> bool:
        """True once `delivery` is committed as new, False if it is a duplicate (committed
        before). `IntakeUnavailable` if it was not stored; `IntegrationGone` if its
        integration does not exist."""
        wakeup = self._wakeup
        if wakeup is None:
            raise IntakeUnavailable("webhook intake is not running")
        if len(self._waiting) >= self._max_waiting:
            raise IntakeUnavailable("too many webhook deliveries waiting to be stored")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(delivery, future))
        wakeup.set()
        return await future

    async def run(self) -> None:
        """The writers; run until cancelled, and then fail whatever still waits."""
        wakeup = self._wakeup = asyncio.Event()
        try:
            async with anyio.create_task_group() as writers:
                for _ in range(self._writers):
                    writers.start_soon(self._write, wakeup)
        finally:
            self._wakeup = None
            stopped = IntakeUnavailable("webhook intake stopped")
            for batch in self._in_commit:
                self._fail(batch, stopped)
            self._fail(list(self._waiting), stopped)
            self._waiting.clear()

    async def _write(self, wakeup: asyncio.Event) -> None:
        """One writer: commit what waits, batch after batch; sleep when nothing does."""
        while True:
            if not self._waiting:
                wakeup.clear()
                await wakeup.wait()
                continue
            await self._commit_next()

    async def _commit_next(self) -> None:
        waiting = self._waiting
        batch = [waiting.popleft() for _ in range(min(self._commit_batch, len(waiting)))]
        batch = [item for item in batch if not item.future.done()]  # the handler gave up
        if not batch:
            return
        self._in_commit.append(batch)  # failed by `run` if cancelled during the commit
        results = await self._save(batch)
        self._in_commit.remove(batch)
        saved = [
            item.delivery for item, result in zip(batch, results, strict=True) if result is True
        ]
        for item, result in zip(batch, results, strict=True):
            _settle(item.future, result)
        self.commits += 1
        self.saved += len(saved)
        if saved:
            self._hand_on(saved)

    async def _save(self, batch: list[_Waiting]) -> list[bool | Exception]:
        deliveries = [item.delivery for item in batch]
        try:
            return list(await self._store.save_webhook_deliveries(deliveries))
        except NotFound:
            return [await self._save_alone(delivery) for delivery in deliveries]
        except StoreError as error:
            log.warning("webhook intake: %d deliveries not stored: %s", len(batch), describe(error))
            return [IntakeUnavailable(describe(error)) for _ in batch]

    async def _save_alone(self, delivery: WebhookIn) -> bool | Exception:
        try:
            [result] = await self._store.save_webhook_deliveries([delivery])
        except NotFound:
            return IntegrationGone(delivery.integration_id)
        except StoreError as error:
            return IntakeUnavailable(describe(error))
        return result

    def _hand_on(self, saved: list[WebhookIn]) -> None:
        try:
            self._on_saved(saved)
        except Exception:  # processing picks them up on the retry scan
            log.exception("webhook intake: handing on %d deliveries failed", len(saved))

    @staticmethod
    def _fail(items: Sequence[_Waiting], error: Exception) -> None:
        for item in items:
            _settle(item.future, error)


def _settle(future: asyncio.Future[bool], result: bool | Exception) -> None:
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
