"""Declarative REST templates: an integration kind described by one YAML file, no Python.

`load_template` checks a template's text (errors name the field and the line),
`template_spec` turns it into an `AdapterSpec` whose adapter (`TemplateAdapter`) runs it, and
`packaged_template_spec` loads a file shipped in a package, as the registry does for an entry
point such as `xentral = "adapters.templates:xentral.yaml"`. The format is described in
`docs/templates.md`; the built-in templates are the `*.yaml` files beside this module.
"""

from adapters.templates._adapter import TemplateAdapter
from adapters.templates._auth import Credentials, OAuth2Tokens
from adapters.templates._checks import Stream
from adapters.templates._compiled import CompiledTemplate, load_template, load_template_file
from adapters.templates._model import (
    ApiKeyAuth,
    Backoff,
    BasicAuth,
    BearerAuth,
    Check,
    ClientCredentialsAuth,
    CursorPages,
    Errors,
    Incremental,
    LinkPages,
    NoAuth,
    NoPages,
    OffsetPages,
    PageNumberPages,
    RateLimitSpec,
    RefreshTokenAuth,
    RestTemplate,
    SettingField,
    StreamFields,
)
from adapters.templates._spec import (
    TEMPLATE_SUFFIXES,
    is_template_reference,
    packaged_template_spec,
    template_file_spec,
    template_spec,
)
from adapters.templates._yaml import TemplateError, TemplateProblem

__all__ = [
    "TEMPLATE_SUFFIXES",
    "ApiKeyAuth",
    "Backoff",
    "BasicAuth",
    "BearerAuth",
    "Check",
    "ClientCredentialsAuth",
    "CompiledTemplate",
    "Credentials",
    "CursorPages",
    "Errors",
    "Incremental",
    "LinkPages",
    "NoAuth",
    "NoPages",
    "OAuth2Tokens",
    "OffsetPages",
    "PageNumberPages",
    "RateLimitSpec",
    "RefreshTokenAuth",
    "RestTemplate",
    "SettingField",
    "Stream",
    "StreamFields",
    "TemplateAdapter",
    "TemplateError",
    "TemplateProblem",
    "is_template_reference",
    "load_template",
    "load_template_file",
    "packaged_template_spec",
    "template_file_spec",
    "template_spec",
]
