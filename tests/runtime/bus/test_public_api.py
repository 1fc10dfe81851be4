"""Everything public in a `runtime/bus/_module` is re-exported from `runtime.bus`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import runtime.bus


def test_public_api_exports_every_public_definition() -> None:
    missing = set()
    for module_info in pkgutil.iter_modules(runtime.bus.__path__):
        module = importlib.import_module(f"runtime.bus.{module_info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            public = not name.startswith("_") and (
                inspect.isclass(value) | inspect.isfunction(value)
            )
            if defined_here and public and name not in runtime.bus.__all__:
                missing.add(name)
    assert not missing, f"defined in runtime/bus/_modules but not exported: {sorted(missing)}"


def test_public_api_names_all_resolve() -> None:
    for name in runtime.bus.__all__:
        assert hasattr(runtime.bus, name), name
