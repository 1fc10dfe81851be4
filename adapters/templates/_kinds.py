"""Template kinds: the one place where a template file's top-level `kind:` picks its reader.

    kind: rest       (the default) GET lists through `_compiled` / `_spec`
    kind: graphql    queries POSTed to one endpoint (`_graphql_*`)
    kind: webhook    nothing to pull: verified deliveries become records and events (`_webhook_*`)
    kind: soap       operations of a WSDL service (`soap/`)

`template_text_spec` reads a template of any kind into its `AdapterSpec`. An entry point of
the group `integration_hub.adapters` may name a template file instead of a Python object:
`name = "package:file.yaml"` loads `file.yaml` from `package` (which may be a namespace
package holding nothing else), so a plugin can ship a single YAML file. The same file gives
the same spec object however often it is asked for.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

from adapters._contract import AdapterSpec
from adapters.templates._compiled import compile_template
from adapters.templates._graphql_adapter import graphql_template_spec
from adapters.templates._graphql_compiled import compile_graphql_template
from adapters.templates._spec import template_spec
from adapters.templates._webhook_adapter import webhook_template_spec
from adapters.templates._webhook_model import compile_webhook_template
from adapters.templates._yaml import Located, TemplateError, TemplateProblem, parse
from adapters.templates.soap import soap_template_spec

TEMPLATE_KINDS = ("rest", "graphql", "webhook", "soap")


def template_kind(located: Located, source: str) -> str:
    """The kind a parsed template declares (`rest` when it names none)."""
    if not isinstance(located.data, dict):
        raise TemplateError(source, [TemplateProblem("", 1, "a template is a mapping of fields")])
    kind = located.data.get("kind", "rest")
    if kind not in TEMPLATE_KINDS:
        message = f"must be one of {', '.join(TEMPLATE_KINDS)}"
        raise TemplateError(source, [TemplateProblem("kind", located.line_of(("kind",)), message)])
    return str(kind)


def template_text_spec(text: str, source: str = "<template>") -> AdapterSpec:
    """The spec of a template of any kind; a `TemplateError` names each bad field and line."""
    located = parse(text, source)
    match template_kind(located, source):
        case "graphql":
            return graphql_template_spec(compile_graphql_template(located, source))
        case "webhook":
            return webhook_template_spec(compile_webhook_template(located, source))
        case "soap":
            return soap_template_spec(located, source)
        case _:
            return template_spec(compile_template(located, source))


def template_file_spec(path: str | os.PathLike[str]) -> AdapterSpec:
    """The spec of a template file of any kind (UTF-8); problems name the file as given (a
    SOAP template's WSDL file is read beside it)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = TemplateProblem("", None, f"cannot read the file: {type(error).__name__}")
        raise TemplateError(str(file), [problem]) from None
    return template_text_spec(text, str(file))


@functools.cache
def packaged_template_spec(package: str, filename: str) -> AdapterSpec:
    """The spec of template `filename` inside `package`, loaded once per process."""
    source = f"{package}:{filename}"
    try:
        text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError, UnicodeDecodeError) as error:
        problem = TemplateProblem("", None, f"cannot read the file: {type(error).__name__}")
        raise TemplateError(source, [problem]) from None
    return template_text_spec(text, source)
