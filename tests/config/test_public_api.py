"""Everything public in a `config/_module` is re-exported from `config`, which imports nothing
from the hub's other packages (it is the bottom of the dependency order)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import config

_HUB_PACKAGES = {"runtime", "adapters", "actors", "api"}


def _public_definitions() -> set[str]:
    names: set[str] = set()
    for module_info in pkgutil.iter_modules(config.__path__):
        module = importlib.import_module(f"config.{module_info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if (
                not name.startswith("_")
                and defined_here
                and inspect.isclass(value) | inspect.isfunction(value)
            ):
                names.add(name)
    return names


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.partition(".")[0])
    return roots


def test_public_api_exports_every_public_definition() -> None:
    # Helpers the config modules share among themselves; not for other packages.
    internal = {"check_text", "check_line", "check_not_blank", "check_unique", "cron_problem"}
    missing = _public_definitions() - set(config.__all__) - internal
    assert not missing, f"defined in config/_modules but not exported: {sorted(missing)}"


def test_public_api_names_all_resolve() -> None:
    for name in config.__all__:
        assert hasattr(config, name), name


def test_config_imports_no_other_hub_package() -> None:
    for path in Path(config.__file__).parent.glob("*.py"):
        assert not _imported_packages(path) & _HUB_PACKAGES, path.name
