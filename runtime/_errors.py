"""The runtime's own errors, grouped by what a caller does about them.

ActorError                 something about talking to an actor
├── ActorCrashed           the actor crashed handling *your* message; it may be restarted
├── ActorUnavailable       not running now (stopped, parked, never started): give up or retry later
├── MailboxFull            the mailbox is at capacity and its policy rejects: back off
├── MessageDropped         dropped by a drop-oldest mailbox to make room for a newer one
└── AskTimeout             no reply in time (also a `TimeoutError`)
SupervisorEscalation       a supervisor went over its restart intensity; its parent decides
"""

from __future__ import annotations


class ActorError(Exception):
    """Base of the errors raised when talking to an actor."""

    def __init__(self, actor: str, message: str) -> None:
        super().__init__(f"actor {actor!r}: {message}")
        self.actor = actor


class ActorCrashed(ActorError):
    def __init__(self, actor: str, cause: BaseException) -> None:
        super().__init__(actor, f"crashed handling the message: {describe(cause)}")
        self.cause = cause


class ActorUnavailable(ActorError):
    def __init__(self, actor: str, state: str) -> None:
        super().__init__(actor, f"not running (state {state})")
        self.state = state


class MailboxFull(ActorError):
    def __init__(self, actor: str, capacity: int) -> None:
        super().__init__(actor, f"mailbox full (capacity {capacity})")
        self.capacity = capacity


class MessageDropped(ActorError):
    def __init__(self, actor: str) -> None:
        super().__init__(actor, "message dropped from a full mailbox (drop-oldest)")


class AskTimeout(ActorError, TimeoutError):
    def __init__(self, actor: str, timeout: float) -> None:
        super().__init__(actor, f"no reply within {timeout} s")
        self.timeout = timeout


class SupervisorEscalation(Exception):
    """A supervisor exceeded its restart intensity and stopped; its parent handles it."""

    def __init__(self, supervisor: str, child: str, cause: BaseException | None) -> None:
        why = f": {describe(cause)}" if cause is not None else ""
        super().__init__(
            f"supervisor {supervisor!r} exceeded its restart intensity (child {child!r}{why})"
        )
        self.supervisor = supervisor
        self.child = child
        self.cause = cause


def sole_error(error: BaseException) -> BaseException:
    """The one real error inside the groups that (nested) task groups wrap it in; a group of
    several stays the group."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def describe(error: BaseException) -> str:
    """`ClassName: message`, the one-line form used in statistics, events and errors."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
