"""Everything a caller of the store needs is exported from `runtime.store` (as anyio does)."""

from __future__ import annotations

import importlib
import inspect

import runtime.store

# Modules whose public classes make up the interface (values, errors, the protocol), and the
# one whose functions do. The rest, like the error-mapping helpers, serve the backends only.
_CLASSES_FROM = ("_model", "_errors", "_interface", "_sqlite", "_postgres")
_FUNCTIONS_FROM = ("_open",)


def _defined(module_name: str, kind: str) -> set[str]:
    module = importlib.import_module(f"runtime.store.{module_name}")
    test = inspect.isclass if kind == "class" else inspect.isfunction
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and test(value) and value.__module__ == module.__name__
    }


def test_public_api_exports_every_interface_definition() -> None:
    wanted = set().union(
        *(_defined(name, "class") for name in _CLASSES_FROM),
        *(_defined(name, "function") for name in _FUNCTIONS_FROM),
    )

    missing = wanted - set(runtime.store.__all__)

    assert not missing, f"defined but not exported from runtime.store: {sorted(missing)}"
    assert {"canonical_json", "record_json_and_hash"} <= set(runtime.store.__all__)


def test_public_api_names_all_resolve() -> None:
    for name in runtime.store.__all__:
        assert hasattr(runtime.store, name), name
