"""A compiled REST template as an `AdapterSpec`, and how an entry point names a template file.

Reading a template file of any kind, from a path or a package, is `_kinds`' job.
"""

from __future__ import annotations

from adapters._contract import AdapterSpec
from adapters.templates._adapter import TemplateAdapter
from adapters.templates._catalog import catalog_spec
from adapters.templates._compiled import CompiledTemplate
from config import IntegrationType

TEMPLATE_SUFFIXES = (".yaml", ".yml")


def template_spec(compiled: CompiledTemplate) -> AdapterSpec:
    """The catalog entry and factory of a REST template."""
    return catalog_spec(compiled, TemplateAdapter, IntegrationType.REST, compiled.streams)


def is_template_reference(attribute: str | None) -> bool:
    """Whether an entry point's attribute part names a template file (`xentral.yaml`)."""
    return attribute is not None and attribute.endswith(TEMPLATE_SUFFIXES)
