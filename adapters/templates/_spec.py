"""A compiled template as an `AdapterSpec`, and templates shipped inside Python packages.

An entry point of the group `integration_hub.adapters` may name a template file instead of a
Python object: `name = "package:file.yaml"` loads `file.yaml` from `package` (which may be a
namespace package holding nothing else), so a plugin can ship a single YAML file. The same
file gives the same spec object however often it is asked for.
"""

from __future__ import annotations

import functools
import os
from importlib import resources

from adapters._contract import AdapterSpec
from adapters.templates._adapter import TemplateAdapter
from adapters.templates._compiled import CompiledTemplate, load_template, load_template_file
from adapters.templates._settings import settings_schema
from adapters.templates._yaml import TemplateError, TemplateProblem
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


def template_file_spec(path: str | os.PathLike[str]) -> AdapterSpec:
    """The spec of a template file (for a plugin that prefers a Python entry point)."""
    return template_spec(load_template_file(path))


def is_template_reference(attribute: str | None) -> bool:
    """Whether an entry point's attribute part names a template file (`xentral.yaml`)."""
    return attribute is not None and attribute.endswith(TEMPLATE_SUFFIXES)


@functools.cache
def packaged_template_spec(package: str, filename: str) -> AdapterSpec:
    """The spec of template `filename` inside `package`, loaded once per process."""
    source = f"{package}:{filename}"
    try:
        text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError, UnicodeDecodeError) as error:
        problem = TemplateProblem("", None, f"cannot read the file: {type(error).__name__}")
        raise TemplateError(source, [problem]) from None
    return template_spec(load_template(text, source))
