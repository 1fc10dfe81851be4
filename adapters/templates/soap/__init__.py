"""SOAP templates: an integration with a SOAP web service described by one YAML file and its WSDL.

`soap_template_spec(document, source)` turns a parsed `kind: soap` template into an
`AdapterSpec` (the template dispatcher, `adapters.templates._kinds`, calls it);
`load_soap_template` and `load_soap_template_file` check a template's text or file;
`SoapTemplateAdapter` runs one. zeep reads the WSDL and builds and parses the envelopes; every
request goes through the integration's shared HTTP client. The format is described in
`docs/templates.md` ("SOAP templates"); `adapters/templates/soap_service.yaml` is the generic one.
"""

from adapters.templates.soap._adapter import SoapTemplateAdapter
from adapters.templates.soap._compiled import (
    CompiledSoapTemplate,
    compile_soap_template,
    load_soap_template,
    load_soap_template_file,
)
from adapters.templates.soap._faults import FaultInfo, FaultKind, classify_fault
from adapters.templates.soap._model import (
    Check,
    Entity,
    Faults,
    Paging,
    SoapAuth,
    SoapIncremental,
    SoapTemplate,
)
from adapters.templates.soap._spec import soap_spec, soap_template_spec

__all__ = [
    "Check",
    "CompiledSoapTemplate",
    "Entity",
    "FaultInfo",
    "FaultKind",
    "Faults",
    "Paging",
    "SoapAuth",
    "SoapIncremental",
    "SoapTemplate",
    "SoapTemplateAdapter",
    "classify_fault",
    "compile_soap_template",
    "load_soap_template",
    "load_soap_template_file",
    "soap_spec",
    "soap_template_spec",
]
