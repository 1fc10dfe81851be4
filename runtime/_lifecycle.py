"""A supervised child's lifecycle: the states and, in one table, the moves allowed between them.

    NEW -> STARTING -> RUNNING -> STOPPING -> STOPPED
              |           |                      ^
              v           v                      |
          RESTARTING <----+---> PARKED ----------+
              |                   |
              +----> STARTING <---+

A crash moves a child to RESTARTING (waiting out its backoff) or, at a root over its restart
intensity, to PARKED (waiting out the cool-down). Anything else raises `IllegalTransition`.
"""

from __future__ import annotations

from enum import StrEnum


class Lifecycle(StrEnum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    RESTARTING = "restarting"
    PARKED = "parked"
    STOPPED = "stopped"


_L = Lifecycle

TRANSITIONS: dict[Lifecycle, frozenset[Lifecycle]] = {
    _L.NEW: frozenset({_L.STARTING, _L.STOPPED}),
    _L.STARTING: frozenset({_L.RUNNING, _L.STOPPING, _L.RESTARTING, _L.PARKED, _L.STOPPED}),
    _L.RUNNING: frozenset({_L.STOPPING, _L.RESTARTING, _L.PARKED, _L.STOPPED}),
    _L.STOPPING: frozenset({_L.STOPPED, _L.RESTARTING}),
    _L.RESTARTING: frozenset({_L.STARTING, _L.STOPPED, _L.PARKED}),
    _L.PARKED: frozenset({_L.STARTING, _L.STOPPED}),
    _L.STOPPED: frozenset({_L.STARTING}),
}

# States in which the child's code is (or is about to be) running.
ACTIVE = frozenset({_L.STARTING, _L.RUNNING})


class IllegalTransition(RuntimeError):
    def __init__(self, child: str, old: Lifecycle, new: Lifecycle) -> None:
        super().__init__(f"child {child!r}: illegal lifecycle transition {old} -> {new}")
        self.old = old
        self.new = new


def check_transition(child: str, old: Lifecycle, new: Lifecycle) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(child, old, new)
