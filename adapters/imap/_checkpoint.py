"""Where a sync of the mailbox stands, and the UIDVALIDITY decisions; pure, no I/O.

A *pass* reads the folders one after the other. The checkpoint after each batch holds:
- `kind`: the pass's kind. A full pass reads every message of every folder; an incremental
  pass only the UIDs above each folder's mark.
- `marks`: per folder (by its name on the wire) the UIDVALIDITY it was read under and the
  highest UID read. UIDs only grow within one UIDVALIDITY, so "above the mark" is "new".
- `todo`: the folders of this pass still to read, the one being read first; empty when the
  pass is done.
- `at`: in the folder being read, the highest UID this pass has read (None: not started).

Decisions:
- A pass that is not done is finished in its **own** kind, whatever kind the next sync asks
  for: the store may be resuming a full run whose deletions count on it seeing everything.
- A done pass is followed by a new one of the kind asked for, over the folders found then;
  the marks of folders no longer there are dropped.
- A folder whose UIDVALIDITY differs from its mark is read from the start under the new
  value (its messages get new external ids). In a full pass the old records are then not
  seen, so the store marks them deleted when the pass completes: a clean resync. In an
  incremental pass both live side by side until the next full pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Annotated, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from adapters._errors import ConfigError
from adapters._values import JsonObject, SyncKind

VERSION = 1  # of the checkpoint's shape


@dataclass(frozen=True, slots=True)
class Mark:
    uidvalidity: int
    uid: int  # the highest UID read under this UIDVALIDITY (0: none yet)


@dataclass(frozen=True, slots=True)
class Cursor:
    kind: SyncKind
    marks: Mapping[str, Mark] = field(default_factory=lambda: MappingProxyType({}))
    todo: tuple[str, ...] = ()
    at: int | None = None

    @property
    def done(self) -> bool:
        return not self.todo

    @property
    def folder(self) -> str:
        return self.todo[0]

    def enter(self, uidvalidity: int) -> tuple[int, Cursor]:
        """Start (or go on) reading the current folder, which SELECT says has `uidvalidity`:
        the UID to read after, and the cursor with the folder's mark under that value."""
        mark = self.marks.get(self.folder)
        valid = mark is not None and mark.uidvalidity == uidvalidity
        after = start_after(self.kind, mark.uid if mark and valid else None, self.at, valid)
        kept = mark.uid if mark is not None and valid else 0
        at = self.at if valid else None
        return after, self._with_mark(Mark(uidvalidity, kept), at)

    def advance(self, uidvalidity: int, uid: int) -> Cursor:
        """The current folder has been read up to `uid` (under `uidvalidity`)."""
        mark = self.marks.get(self.folder)
        kept = mark.uid if mark is not None and mark.uidvalidity == uidvalidity else 0
        return self._with_mark(Mark(uidvalidity, max(kept, uid)), uid)

    def leave(self) -> Cursor:
        """The current folder is done (or gone): on to the next."""
        return replace(self, todo=self.todo[1:], at=None)

    def _with_mark(self, mark: Mark, at: int | None) -> Cursor:
        marks = {**self.marks, self.folder: mark}
        return replace(self, marks=MappingProxyType(marks), at=at)

    def to_json(self) -> JsonObject:
        return {
            "v": VERSION,
            "kind": self.kind.value,
            "marks": {name: [m.uidvalidity, m.uid] for name, m in sorted(self.marks.items())},
            "todo": list(self.todo),
            "at": self.at,
        }


def start_after(kind: SyncKind, mark: int | None, at: int | None, valid: bool) -> int:
    """The UID after which to read a folder: where this pass got to, if it got anywhere under
    the same UIDVALIDITY; else from the start (a full pass, a new folder, or a changed
    UIDVALIDITY), or above the mark (an incremental pass)."""
    if not valid:
        return 0
    if at is not None:
        return at
    if kind is SyncKind.INCREMENTAL and mark is not None:
        return mark
    return 0


def needs_folders(previous: Cursor | None) -> bool:
    """Whether the sync starts a new pass (and so must find the folders)."""
    return previous is None or previous.done


def begin(previous: Cursor | None, kind: SyncKind, folders: Sequence[str]) -> Cursor:
    """The pass a sync reads: the unfinished one it resumes, or a new one over `folders`."""
    if previous is not None and not previous.done:
        return previous
    marks = previous.marks if previous is not None else {}
    kept = {name: mark for name, mark in marks.items() if name in folders}
    return Cursor(kind, MappingProxyType(kept), tuple(folders))


UidNumber = Annotated[StrictInt, Field(ge=0)]


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1]
    kind: SyncKind
    marks: dict[StrictStr, tuple[UidNumber, UidNumber]]
    todo: list[StrictStr]
    at: UidNumber | None


def read_cursor(checkpoint: JsonObject | None) -> Cursor | None:
    """The cursor a checkpoint holds; one that is not ours is a ConfigError."""
    if checkpoint is None:
        return None
    try:
        stored = _Stored.model_validate(dict(checkpoint))
    except pydantic.ValidationError:
        raise ConfigError("IMAP checkpoint is not one of ours") from None
    if len(set(stored.todo)) != len(stored.todo):
        raise ConfigError("IMAP checkpoint is not one of ours (a folder twice in todo)")
    marks = {name: Mark(v, u) for name, (v, u) in stored.marks.items()}
    at = stored.at if stored.todo else None
    return Cursor(stored.kind, MappingProxyType(marks), tuple(stored.todo), at)
