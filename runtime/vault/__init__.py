"""The credential vault: AES-256-GCM with a keyring (being written)."""

from runtime.vault._sealed import SealedValue

__all__ = ["SealedValue"]
