"""Everything public in an `adapters/_module` is re-exported from `adapters` (as anyio does)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import adapters


def _public_definitions() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(adapters.__path__):
        if not module_info.name.startswith("_") or module_info.name.startswith("_demo"):
            continue
        module = importlib.import_module(f"adapters.{module_info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if (
                not name.startswith("_")
                and defined_here
                and inspect.isclass(value) | inspect.isfunction(value)
            ):
                names.add(name)
    return names


def test_public_api_exports_every_public_definition() -> None:
    missing = _public_definitions() - set(adapters.__all__)
    assert not missing, f"defined in adapters/_modules but not exported: {sorted(missing)}"


def test_public_api_names_all_resolve() -> None:
    for name in adapters.__all__:
        assert hasattr(adapters, name), name
