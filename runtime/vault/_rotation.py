"""Key rotation: re-seal every stored credential under the primary key, batch by batch.

The logic touches no database: it pages through an injected source and writes to an injected
sink, so it is tested with a sorted list. Paging is by key set: each `load_batch` asks for the
credentials after the last (integration_id, field) seen, in that order, so rows added or
re-sealed meanwhile never shift the pages.

Each batch is saved in one transaction and only values under a non-primary key are re-sealed.
So a run that stops part-way (crash, cancellation, failed write) loses nothing: running it again
skips what is already under the primary key and finishes the rest, and a run over an
up-to-date store reports `rotated=0`. Once that is so, the old key can leave the keyring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import TypeAlias

from runtime.vault._errors import RotationSourceError
from runtime.vault._sealed import SealedValue
from runtime.vault._vault import Vault

Position: TypeAlias = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Credential:
    """One stored secret: the integration it belongs to, its field, its sealed value."""

    integration_id: str
    field: str
    sealed: SealedValue

    @property
    def position(self) -> Position:
        return (self.integration_id, self.field)


LoadBatch: TypeAlias = Callable[[Position | None, int], Awaitable[Sequence[Credential]]]
"""`load_batch(after, limit)`: up to `limit` credentials after `after` (None: from the start),
ordered by (integration_id, field)."""
SaveBatch: TypeAlias = Callable[[Sequence[Credential]], Awaitable[None]]
"""`save_batch(credentials)`: write the re-sealed values in one transaction, each only where the
row's stored key id still differs from the new one (`WHERE key_id <> $new`): a row already under
the primary key was rewritten since it was read and holds the newer value."""


@dataclass(frozen=True, slots=True)
class RotationProgress:
    """Reported after each batch; `done` is True on the last report."""

    done: bool
    total_seen: int
    rotated: int


@dataclass(frozen=True, slots=True)
class RotationResult:
    rotated: int
    already_current: int
    total: int


async def rotate(
    load_batch: LoadBatch,
    save_batch: SaveBatch,
    vault: Vault,
    *,
    batch_size: int = 100,
    progress: Callable[[RotationProgress], None] | None = None,
) -> RotationResult:
    """Re-seal every credential not under the vault's primary key; see the module docstring."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    after: Position | None = None
    seen = rotated = 0
    while True:
        batch = await load_batch(after, batch_size)
        _check_batch(batch, after, batch_size)
        rotated += await _rotate_batch(batch, save_batch, vault)
        seen += len(batch)
        done = len(batch) < batch_size
        if progress is not None:
            progress(RotationProgress(done=done, total_seen=seen, rotated=rotated))
        if done:
            return RotationResult(rotated=rotated, already_current=seen - rotated, total=seen)
        after = batch[-1].position


async def _rotate_batch(batch: Sequence[Credential], save_batch: SaveBatch, vault: Vault) -> int:
    stale = [credential for credential in batch if vault.needs_rotation(credential.sealed)]
    if stale:
        await save_batch([_resealed(credential, vault) for credential in stale])
    return len(stale)


def _resealed(credential: Credential, vault: Vault) -> Credential:
    sealed = vault.reseal(credential.integration_id, credential.field, credential.sealed)
    return replace(credential, sealed=sealed)


def _check_batch(batch: Sequence[Credential], after: Position | None, limit: int) -> None:
    if len(batch) > limit:
        raise RotationSourceError(f"load_batch returned {len(batch)} credentials, limit {limit}")
    positions = [credential.position for credential in batch]
    ordered = [after, *positions] if after is not None else positions
    if any(first >= second for first, second in pairwise(ordered)):
        raise RotationSourceError(
            "load_batch must return credentials after `after`, ordered by (integration_id, field)"
        )
