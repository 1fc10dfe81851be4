"""The store fixtures of the store suite, for tests that run on both backends here too."""

from tests.runtime.store.conftest import backend, now, postgres_database, store

__all__ = ["backend", "now", "postgres_database", "store"]
