"""Everything public in a `runtime/vault/_module` is re-exported from `runtime.vault`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import runtime.vault


def _public_definitions() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(runtime.vault.__path__):
        module = importlib.import_module(f"runtime.vault.{module_info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if (
                not name.startswith("_")
                and defined_here
                and inspect.isclass(value) | inspect.isfunction(value)
            ):
                names.add(name)
    return names


def test_vault_public_api_exports_every_public_definition() -> None:
    missing = _public_definitions() - set(runtime.vault.__all__)
    assert not missing, f"defined in runtime/vault/_modules but not exported: {sorted(missing)}"


def test_vault_public_api_names_all_resolve() -> None:
    for name in runtime.vault.__all__:
        assert hasattr(runtime.vault, name), name
