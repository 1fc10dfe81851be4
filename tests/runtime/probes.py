"""Test actors: small, scriptable, recording what happens to them."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from runtime import Actor, Control, Request


@dataclass(frozen=True)
class Note:
    """Append `text` to the journal."""

    text: str


@dataclass(frozen=True)
class Echo(Request[str]):
    text: str


@dataclass(frozen=True)
class Crash(Request[None]):
    why: str = "boom"


@dataclass(frozen=True)
class Block(Request[None]):
    """Hold the actor until `release` is set."""

    release: anyio.Event


@dataclass(frozen=True)
class Ping(Control, Request[str]):
    pass


Message = Note | Echo | Crash | Block | Ping


@dataclass
class Journal:
    """What every incarnation of a probe actor did, in order."""

    entries: list[str] = field(default_factory=list)

    def count(self, entry: str) -> int:
        return self.entries.count(entry)


class Probe(Actor[Message]):
    def __init__(self, name: str, journal: Journal, *, fail_start: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.fail_start = fail_start

    async def on_start(self) -> None:
        self.journal.entries.append(f"{self.name}:start")
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")

    async def on_stop(self) -> None:
        self.journal.entries.append(f"{self.name}:stop")

    async def receive(self, message: Message) -> object:
        match message:
            case Note(text):
                self.journal.entries.append(f"{self.name}:{text}")
            case Echo(text):
                return text
            case Crash(why):
                raise ValueError(why)
            case Block(release):
                await release.wait()
            case Ping():
                self.journal.entries.append(f"{self.name}:ping")
                return "pong"
        return None
