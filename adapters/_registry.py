"""Finding adapters: the built-in ones and those plugins announce through entry points.

A plugin package adds an adapter by declaring an entry point in the group
`integration_hub.adapters` that loads an `AdapterSpec`, or a callable returning one or several,
or names a REST template file inside a package (`name = "package:file.yaml"`), so a plugin
can be a single YAML file. The built-ins are declared the same way, in code, and loaded by
the same function. A plugin that fails to load or clashes with a known name never takes the
hub down: it is left out, and the reason is kept in `Registry.problems` for the API to show.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata

from adapters._contract import AdapterSpec, AdapterStatus
from adapters._errors import ConfigError
from adapters.coming import COMING
from adapters.templates import is_template_reference, packaged_template_spec
from runtime import describe

ENTRY_POINT_GROUP = "integration_hub.adapters"

BUILTIN_ENTRY_POINTS = (metadata.EntryPoint("demo", "adapters.demo:SPEC", ENTRY_POINT_GROUP),)


@dataclass(frozen=True, slots=True)
class Registry:
    """The adapters found, in discovery order, and why any were left out."""

    specs: tuple[AdapterSpec, ...]
    problems: tuple[str, ...] = ()

    def catalog(self) -> tuple[AdapterSpec, ...]:
        return self.specs

    def available(self) -> frozenset[str]:
        """Names of the adapters that can be configured (not those marked coming)."""
        return frozenset(s.name for s in self.specs if s.status is AdapterStatus.AVAILABLE)

    def get(self, name: str) -> AdapterSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        known = ", ".join(sorted(spec.name for spec in self.specs)) or "none"
        raise ConfigError(f"unknown adapter {name!r}; known adapters: {known}")


def load_registry() -> Registry:
    """Load the built-ins, then every entry point of the group, keeping the first of a name;
    last, the design card's systems not built yet (`adapters.coming`), under names still free."""
    entry_points = (*BUILTIN_ENTRY_POINTS, *metadata.entry_points(group=ENTRY_POINT_GROUP))
    specs: dict[str, AdapterSpec] = {}
    problems: list[str] = []
    for entry_point in entry_points:
        try:
            loaded = _specs_of(_load(entry_point))
        except Exception as error:
            problems.append(f"entry point {entry_point.name!r}: {describe(error)}")
            continue
        for spec in loaded:
            known = specs.get(spec.name)
            if known is None:
                specs[spec.name] = spec
            elif known is not spec:
                problems.append(
                    f"entry point {entry_point.name!r}: adapter {spec.name!r} is already "
                    f"registered; left out"
                )
    for spec in COMING:
        specs.setdefault(spec.name, spec)
    return Registry(tuple(specs.values()), tuple(problems))


@functools.cache
def default_registry() -> Registry:
    """The process's registry, loaded once (`default_registry.cache_clear()` reloads it)."""
    return load_registry()


def catalog() -> tuple[AdapterSpec, ...]:
    return default_registry().catalog()


def get(name: str) -> AdapterSpec:
    return default_registry().get(name)


def _load(entry_point: metadata.EntryPoint) -> object:
    """What the entry point names: a Python object, or the spec of a packaged template file."""
    if is_template_reference(entry_point.attr):
        return packaged_template_spec(entry_point.module, entry_point.attr)
    return entry_point.load()


def _specs_of(value: object) -> tuple[AdapterSpec, ...]:
    if callable(value) and not isinstance(value, AdapterSpec):
        value = value()
    if isinstance(value, AdapterSpec):
        return (value,)
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        items = tuple(value)
        if items and all(isinstance(item, AdapterSpec) for item in items):
            return tuple(item for item in items if isinstance(item, AdapterSpec))
    raise TypeError(
        f"expected an AdapterSpec or a callable returning some, got {type(value).__name__}"
    )
