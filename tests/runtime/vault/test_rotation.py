"""Key rotation over an in-memory store: complete, resumable, idempotent, paging-safe."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import pytest

from runtime.vault import (
    Credential,
    MissingKey,
    Position,
    RotationProgress,
    RotationResult,
    RotationSourceError,
    Vault,
    rotate,
)
from tests.runtime.vault.keys import keyring


class SaveFailed(Exception):
    pass


class MemoryStore:
    """Credentials by (integration_id, field); each save replaces its rows all at once."""

    def __init__(self, credentials: Sequence[Credential]) -> None:
        self.rows = {credential.position: credential for credential in credentials}
        self.saves: list[list[Position]] = []
        self.fail_on_save: int | None = None

    async def load_batch(self, after: Position | None, limit: int) -> Sequence[Credential]:
        positions = sorted(self.rows)
        start = 0 if after is None else bisect.bisect_right(positions, after)
        return [self.rows[position] for position in positions[start : start + limit]]

    async def save_batch(self, credentials: Sequence[Credential]) -> None:
        if self.fail_on_save == len(self.saves) + 1:
            raise SaveFailed("the database went away")
        self.saves.append([credential.position for credential in credentials])
        self.rows = {**self.rows, **{credential.position: credential for credential in credentials}}

    def key_ids(self) -> set[str]:
        return {credential.sealed.key_id for credential in self.rows.values()}


def plaintext(position: Position) -> str:
    return f"token-of-{position[0]}-{position[1]}"


def stored(vault: Vault, count: int) -> list[Credential]:
    credentials: list[Credential] = []
    for n in range(count):
        position = (f"integration-{n // 2:02d}", ("api_token", "refresh_token")[n % 2])
        credentials.append(Credential(*position, vault.seal(*position, plaintext(position))))
    return credentials


def assert_all_open(store: MemoryStore, vault: Vault) -> None:
    for position, credential in store.rows.items():
        assert vault.open(*position, credential.sealed).reveal() == plaintext(position)


async def test_rotate_reseals_every_credential_under_primary() -> None:
    store = MemoryStore(stored(Vault(keyring("old")), 25))
    reports: list[RotationProgress] = []

    result = await rotate(
        store.load_batch,
        store.save_batch,
        Vault(keyring("new", "old")),
        batch_size=10,
        progress=reports.append,
    )

    assert result == RotationResult(rotated=25, already_current=0, total=25)
    assert reports == [
        RotationProgress(done=False, total_seen=10, rotated=10),
        RotationProgress(done=False, total_seen=20, rotated=20),
        RotationProgress(done=True, total_seen=25, rotated=25),
    ]
    assert store.key_ids() == {"new"}
    assert_all_open(store, Vault(keyring("new")))


async def test_rotate_interrupted_then_rerun_finishes_and_old_key_can_go() -> None:
    store = MemoryStore(stored(Vault(keyring("old")), 25))
    vault = Vault(keyring("new", "old"))
    store.fail_on_save = 2

    with pytest.raises(SaveFailed):
        await rotate(store.load_batch, store.save_batch, vault, batch_size=10)

    assert len(store.saves) == 1
    assert sum(credential.sealed.key_id == "new" for credential in store.rows.values()) == 10
    store.fail_on_save = None

    resumed = await rotate(store.load_batch, store.save_batch, vault, batch_size=10)
    again = await rotate(store.load_batch, store.save_batch, vault, batch_size=10)

    assert resumed == RotationResult(rotated=15, already_current=10, total=25)
    assert again == RotationResult(rotated=0, already_current=25, total=25)
    assert store.key_ids() == {"new"}
    assert_all_open(store, Vault(keyring("new")))


async def test_rotate_saves_only_stale_credentials() -> None:
    old, new = stored(Vault(keyring("old")), 6), stored(Vault(keyring("new")), 6)
    mixed = [old[n] if n % 3 == 0 else new[n] for n in range(6)]
    store = MemoryStore(mixed)

    result = await rotate(store.load_batch, store.save_batch, Vault(keyring("new", "old")))

    assert result == RotationResult(rotated=2, already_current=4, total=6)
    assert store.saves == [[old[0].position, old[3].position]]
    assert_all_open(store, Vault(keyring("new")))


async def test_rotate_up_to_date_store_saves_nothing() -> None:
    store = MemoryStore(stored(Vault(keyring("new")), 7))

    result = await rotate(
        store.load_batch, store.save_batch, Vault(keyring("new", "old")), batch_size=3
    )

    assert result == RotationResult(rotated=0, already_current=7, total=7)
    assert store.saves == []


async def test_rotate_empty_store_reports_done_once() -> None:
    store = MemoryStore([])
    reports: list[RotationProgress] = []

    result = await rotate(
        store.load_batch, store.save_batch, Vault(keyring("new")), progress=reports.append
    )

    assert result == RotationResult(rotated=0, already_current=0, total=0)
    assert reports == [RotationProgress(done=True, total_seen=0, rotated=0)]


async def test_rotate_exact_multiple_of_batch_size_ends_on_empty_batch() -> None:
    store = MemoryStore(stored(Vault(keyring("old")), 20))
    reports: list[RotationProgress] = []

    result = await rotate(
        store.load_batch,
        store.save_batch,
        Vault(keyring("new", "old")),
        batch_size=10,
        progress=reports.append,
    )

    assert result == RotationResult(rotated=20, already_current=0, total=20)
    assert [report.done for report in reports] == [False, False, True]
    assert reports[-1] == RotationProgress(done=True, total_seen=20, rotated=20)


async def test_rotate_missing_key_stops_before_saving_the_batch() -> None:
    lost = Vault(keyring("lost")).seal("zz-last", "api_token", "token")
    store = MemoryStore(
        [*stored(Vault(keyring("old")), 4), Credential("zz-last", "api_token", lost)]
    )

    with pytest.raises(MissingKey, match="'lost'"):
        await rotate(store.load_batch, store.save_batch, Vault(keyring("new", "old")), batch_size=5)

    assert store.saves == []
    assert store.key_ids() == {"old", "lost"}


async def test_rotate_source_ignoring_after_is_refused() -> None:
    store = MemoryStore(stored(Vault(keyring("new")), 4))

    async def from_start_always(after: Position | None, limit: int) -> Sequence[Credential]:
        return await store.load_batch(None, limit)

    with pytest.raises(RotationSourceError, match="after `after`"):
        await rotate(from_start_always, store.save_batch, Vault(keyring("new")), batch_size=2)


async def test_rotate_source_out_of_order_is_refused() -> None:
    store = MemoryStore(stored(Vault(keyring("new")), 4))

    async def reversed_batch(after: Position | None, limit: int) -> Sequence[Credential]:
        return list(reversed(await store.load_batch(after, limit)))

    with pytest.raises(RotationSourceError, match="ordered by"):
        await rotate(reversed_batch, store.save_batch, Vault(keyring("new")), batch_size=2)


async def test_rotate_source_over_limit_is_refused() -> None:
    store = MemoryStore(stored(Vault(keyring("new")), 4))

    async def everything(after: Position | None, limit: int) -> Sequence[Credential]:
        return await store.load_batch(after, 100)

    with pytest.raises(RotationSourceError, match="returned 4 credentials, limit 2"):
        await rotate(everything, store.save_batch, Vault(keyring("new")), batch_size=2)


@pytest.mark.parametrize("batch_size", [0, -1])
async def test_rotate_non_positive_batch_size_is_refused(batch_size: int) -> None:
    store = MemoryStore([])

    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        await rotate(
            store.load_batch, store.save_batch, Vault(keyring("new")), batch_size=batch_size
        )
