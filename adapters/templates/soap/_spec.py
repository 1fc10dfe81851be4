"""A compiled SOAP template as an `AdapterSpec`: the catalog entry and its adapter class."""

from __future__ import annotations

from pathlib import Path

from adapters._contract import AdapterSpec
from adapters.templates._catalog import catalog_spec
from adapters.templates._yaml import Located
from adapters.templates.soap._adapter import SoapTemplateAdapter
from adapters.templates.soap._compiled import CompiledSoapTemplate, compile_soap_template
from adapters.templates.soap._model import SETTING_REF
from config import IntegrationType

CREDENTIAL_HELP = "Needed unless the authentication is none."


def soap_spec(compiled: CompiledSoapTemplate) -> AdapterSpec:
    """The catalog entry and factory of a SOAP template."""
    template = compiled.template
    chosen = SETTING_REF.fullmatch(template.auth.type) is not None
    # auth chosen by a setting may be `none`: the credentials are then optional in the form,
    # and an adapter whose auth needs one that is missing says so (AuthError)
    return catalog_spec(
        compiled,
        SoapTemplateAdapter,
        IntegrationType.SOAP,
        template.entities,
        required_credentials=() if chosen else None,
        credential_help={name: CREDENTIAL_HELP for name in compiled.credential_fields}
        if chosen
        else {},
    )


def soap_template_spec(document: Located, source: str, home: Path | None = None) -> AdapterSpec:
    """The spec of a parsed `kind: soap` template (as `_kinds` reads it). A WSDL file the
    template names is read from `home`, by default the directory `source` names (a
    `package:file.yaml` entry point, or a path)."""
    return soap_spec(compile_soap_template(document, source, home))
