"""`integration-hub keys …`: a new key, and re-sealing every credential under the primary one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from runtime.store import AuditIn, Store, StoredCredential
from runtime.vault import Credential, Position, RotationProgress, RotationResult, Vault, rotate


async def rotate_keys(
    store: Store, vault: Vault, *, origin: str, report: Callable[[str], None]
) -> RotationResult:
    """Re-seal under the primary key, in batches each saved in one transaction; safe to run
    again after an interruption (what is done stays done), and a no-op once all is current."""
    everything = sorted(
        (_credential(stored) for stored in await store.list_credentials()),
        key=lambda c: c.position,
    )

    async def load_batch(after: Position | None, limit: int) -> Sequence[Credential]:
        rest = [c for c in everything if after is None or c.position > after]
        return rest[:limit]

    async def save_batch(batch: Sequence[Credential]) -> None:
        now = datetime.now(UTC)
        await store.replace_credentials(
            [StoredCredential(c.integration_id, c.field, c.sealed, now) for c in batch]
        )

    def progress(step: RotationProgress) -> None:
        report(f"  {step.total_seen}/{len(everything)} checked, {step.rotated} re-sealed")

    report(f"re-sealing credentials under key {vault.keyring.primary_id!r}")
    result = await rotate(load_batch, save_batch, vault, progress=progress)
    await store.append_audit(
        AuditIn(
            origin,
            "keys.rotate",
            "vault",
            {
                "primary_key": vault.keyring.primary_id,
                "rotated": result.rotated,
                "already_current": result.already_current,
            },
        )
    )
    return result


def _credential(stored: StoredCredential) -> Credential:
    return Credential(stored.integration_id, stored.field, stored.sealed)
