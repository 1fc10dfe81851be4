"""The shape of the code base: public names exported where they belong, and dependencies that
point one way only (config <- runtime <- adapters <- actors <- api)."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["config", "runtime", "adapters", "actors", "api"]

# Packages whose `_modules` hold their API, re-exported from the package (as anyio does).
PUBLIC_PACKAGES = ["config", "runtime", "runtime.bus", "runtime.store", "runtime.vault", "adapters"]

# Where a package keeps its API in a few modules and its machinery in the others.
API_MODULES = {"runtime.store": {"_errors", "_interface", "_model", "_open"}}

# Helpers a package's modules share among themselves, not meant for other packages.
INTERNAL = {
    "config": {"check_text", "check_line", "check_not_blank", "check_unique", "cron_problem"},
    "runtime.store": {"postgres_error", "postgres_errors", "sqlite_error", "sqlite_errors"},
}


def _private_modules(package: str) -> list[str]:
    path = importlib.import_module(package).__path__
    return [
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(path)
        if info.name.startswith("_")
        and not info.name.startswith("_demo")
        and info.name in API_MODULES.get(package, {info.name})
    ]


def _public_definitions(package: str) -> set[str]:
    names: set[str] = set()
    for module_name in _private_modules(package):
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            if (
                not name.startswith("_")
                and defined_here
                and (inspect.isclass(value) or inspect.isfunction(value))
            ):
                names.add(name)
    return names


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_public_api_exports_every_public_definition(package: str) -> None:
    exported = set(importlib.import_module(package).__all__)
    missing = _public_definitions(package) - exported - INTERNAL.get(package, set())
    assert not missing, f"defined in {package}'s _modules but not exported: {sorted(missing)}"


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_public_api_names_all_resolve(package: str) -> None:
    module = importlib.import_module(package)
    unresolved = [name for name in module.__all__ if not hasattr(module, name)]
    assert not unresolved


def _imported_layers(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.partition(".")[0])
    return roots & set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_the_layers_below_it(layer: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer) + 1])
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_layers(path) - allowed)
        for path in (ROOT / layer).rglob("*.py")
        if _imported_layers(path) - allowed
    }
    assert not wrong, f"{layer} may import only {sorted(allowed)}: {wrong}"
