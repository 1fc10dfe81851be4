"""A long-running async function as a supervised child (the outbox relay, a listener).

Stopping it cancels it: such functions hold no mailbox to drain. A crash is the supervisor's
to handle, like an actor's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from runtime._lifecycle import Lifecycle


class Service:
    def __init__(self, run: Callable[[], Awaitable[object]]) -> None:
        self._run = run
        self._scope: anyio.CancelScope | None = None
        self.state = Lifecycle.NEW

    async def run(self, started: Callable[[], None]) -> None:
        with anyio.CancelScope() as scope:
            self._scope = scope
            started()
            await self._run()

    def request_stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    def lifecycle_changed(self, state: Lifecycle) -> None:
        self.state = state
