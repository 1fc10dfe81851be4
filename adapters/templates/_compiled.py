"""Loading a template: YAML with lines -> pydantic model -> cross-checks -> `CompiledTemplate`.

Every problem found is collected and raised together as one `TemplateError` whose lines
each name the field and the line it is on, e.g.
`xentral.yaml: line 31: streams.invoices.paginator.page_size: {size} is not one of the
template's settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pydantic
from pydantic import BaseModel

from adapters.templates._checks import Stream, credential_fields, cross_check, resolve
from adapters.templates._model import RestTemplate
from adapters.templates._settings import settings_model
from adapters.templates._yaml import Located, TemplateError, TemplateProblem, parse, problems_of


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A checked template, ready to become an adapter (`template_spec`)."""

    template: RestTemplate = field(repr=False)
    streams: Mapping[str, Stream] = field(repr=False)
    settings_model: type[BaseModel] = field(repr=False)
    credential_fields: tuple[str, ...]
    source: str

    @property
    def name(self) -> str:
        return self.template.name


def load_template(text: str, source: str = "<template>") -> CompiledTemplate:
    """Check a REST template's text; a `TemplateError` names each bad field and its line.
    (`template_text_spec` reads a template of any kind.)"""
    located = parse(text, source)
    if not isinstance(located.data, dict):
        raise TemplateError(source, [TemplateProblem("", 1, "a template is a mapping of fields")])
    kind = located.data.get("kind", "rest")
    if isinstance(kind, str) and kind != "rest":
        message = f"a {kind} template: load_template reads REST ones (template_text_spec: any)"
        raise TemplateError(source, [TemplateProblem("kind", located.line_of(("kind",)), message)])
    return compile_template(located, source)


def compile_template(located: Located, source: str) -> CompiledTemplate:
    """Check a parsed REST template (`_kinds` has read its `kind` already)."""
    try:
        template = RestTemplate.model_validate(located.data)
    except pydantic.ValidationError as error:
        raise TemplateError(source, problems_of(error, located)) from None
    problems = [
        TemplateProblem(".".join(map(str, path)), located.line_of(path), message)
        for path, message in cross_check(template)
    ]
    model: type[BaseModel] | None = None
    try:
        model = settings_model(template)
    except ValueError as error:
        problems.append(TemplateProblem("settings", located.line_of(("settings",)), str(error)))
    if problems or model is None:
        problems.sort(key=lambda problem: problem.line or 0)
        raise TemplateError(source, problems)
    return CompiledTemplate(
        template=template,
        streams=resolve(template),
        settings_model=model,
        credential_fields=credential_fields(template),
        source=source,
    )


def load_template_file(path: str | os.PathLike[str]) -> CompiledTemplate:
    """`load_template` of a file (UTF-8); problems name the file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = TemplateProblem("", None, f"cannot read the file: {type(error).__name__}")
        raise TemplateError(file.name, [problem]) from None
    return load_template(text, file.name)
