"""Everything public in a `runtime/_module` is re-exported from `runtime` (as anyio does)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import runtime


def _public_definitions() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(runtime.__path__):
        if not module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"runtime.{module_info.name}")
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
    missing = _public_definitions() - set(runtime.__all__)
    assert not missing, f"defined in runtime/_modules but not exported: {sorted(missing)}"


def test_public_api_names_all_resolve() -> None:
    for name in runtime.__all__:
        assert hasattr(runtime, name), name
