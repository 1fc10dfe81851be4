"""A compiled REST template as an `AdapterSpec`, and how an entry point names a template file.

Reading a template file of any kind, from a path or a package, is `_kinds`' job.
"""

from __future__ import annotations

from adapters._contract import AdapterSpec
from adapters.templates._adapter import TemplateAdapter
from adapters.templates._compiled import CompiledTemplate
from adapters.templates._settings import settings_schema
from config import IntegrationType

TEMPLATE_SUFFIXES = (".yaml", ".yml")


def template_spec(compiled: CompiledTemplate) -> AdapterSpec:
    """The catalog entry and factory of a template: one adapter class per template."""
    template = compiled.template
    adapter = type(
        f"{template.name.title().replace('-', '').replace('_', '')}TemplateAdapter",
        (TemplateAdapter,),
        {"name": template.name, "template": compiled, "__module__": __name__},
    )
    return AdapterSpec(
        name=template.name,
        title=template.title,
        description=template.description,
        icon=template.icon,
        kind=IntegrationType.REST,
        factory=adapter,
        settings_schema=settings_schema(compiled.settings_model),
        credential_fields=compiled.credential_fields,
        entities=tuple(compiled.streams),
    )


def is_template_reference(attribute: str | None) -> bool:
    """Whether an entry point's attribute part names a template file (`xentral.yaml`)."""
    return attribute is not None and attribute.endswith(TEMPLATE_SUFFIXES)
