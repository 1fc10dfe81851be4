"""Loading a SOAP template: YAML with lines -> pydantic model -> cross-checks -> compiled.

The same reporting as a REST template's: every problem at once, each naming the field and
its line (`customers.yaml: line 12: entities.customers.paging.token_path: token paging needs
where the next token is`). `home` is the directory a WSDL file named by the template is read
from: the template's own directory (or its package's, for `package:file.yaml`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pydantic
from pydantic import BaseModel

from adapters.templates._settings import settings_model
from adapters.templates._yaml import Located, TemplateError, TemplateProblem, parse, problems_of
from adapters.templates.soap._checks import credential_fields, cross_check, settings_part
from adapters.templates.soap._model import SoapTemplate


@dataclass(frozen=True, slots=True)
class CompiledSoapTemplate:
    """A checked SOAP template, ready to become an adapter (`soap_template_spec`)."""

    template: SoapTemplate = field(repr=False)
    settings_model: type[BaseModel] = field(repr=False)
    credential_fields: tuple[str, ...]
    source: str
    home: Path | None = None

    @property
    def name(self) -> str:
        return self.template.name


def compile_soap_template(
    document: Located, source: str, home: Path | None = None
) -> CompiledSoapTemplate:
    """Check a parsed template (`_yaml.parse`); a `TemplateError` names each field and line."""
    if not isinstance(document.data, dict):
        raise TemplateError(source, [TemplateProblem("", 1, "a template is a mapping of fields")])
    try:
        template = SoapTemplate.model_validate(document.data)
    except pydantic.ValidationError as error:
        raise TemplateError(source, problems_of(error, document)) from None
    problems = [
        TemplateProblem(".".join(map(str, path)), document.line_of(path), message)
        for path, message in cross_check(template)
    ]
    model: type[BaseModel] | None = None
    try:
        model = settings_model(settings_part(template))
    except ValueError as error:
        problems.append(TemplateProblem("settings", document.line_of(("settings",)), str(error)))
    if problems or model is None:
        problems.sort(key=lambda problem: problem.line or 0)
        raise TemplateError(source, problems)
    return CompiledSoapTemplate(
        template=template,
        settings_model=model,
        credential_fields=credential_fields(template),
        source=source,
        home=home if home is not None else home_of(source),
    )


def load_soap_template(
    text: str, source: str = "<template>", home: Path | None = None
) -> CompiledSoapTemplate:
    """Check a SOAP template's text (its `kind` must be `soap`)."""
    return compile_soap_template(parse(text, source), source, home)


def load_soap_template_file(path: str | os.PathLike[str]) -> CompiledSoapTemplate:
    """`load_soap_template` of a file (UTF-8); a WSDL it names is read beside it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = TemplateProblem("", None, f"cannot read the file: {type(error).__name__}")
        raise TemplateError(file.name, [problem]) from None
    return load_soap_template(text, file.name, file.resolve().parent)


def home_of(source: str) -> Path | None:
    """The directory of a template known by its source: `package:file.yaml` (an entry point)
    or a path; None if it is neither (text loaded from elsewhere names no WSDL file)."""
    package, colon, filename = source.partition(":")
    if colon and package and filename and os.sep not in package:
        try:
            found = resources.files(package).joinpath(filename)
        except (ModuleNotFoundError, TypeError, ValueError):
            return None
        return found.parent if isinstance(found, Path) else None
    path = Path(source)
    return path.resolve().parent if path.is_file() else None
