"""Declarative templates: an integration kind described by one YAML file, no Python.

A template's top-level `kind:` says what it describes: `rest` (the default: lists read with
GET), `graphql` (queries POSTed to one endpoint), `webhook` (nothing to pull: verified
deliveries become records and events) or `soap` (operations of a WSDL service).
`template_text_spec` and `template_file_spec` read any kind into an `AdapterSpec`, and
`packaged_template_spec` loads a file shipped in a package, as the registry does for an entry
point such as `xentral = "adapters.templates:xentral.yaml"`. Per kind, `load_template`
(REST), `load_graphql_template` and `load_webhook_template` check a template's text (errors
name the field and the line) and `template_spec`, `graphql_template_spec` and
`webhook_template_spec` turn the result into a spec. The format is described in
`docs/templates.md`; the built-in templates are the `*.yaml` files beside this module.
"""

from adapters.templates._adapter import TemplateAdapter
from adapters.templates._auth import Credentials, OAuth2Tokens
from adapters.templates._checks import Stream
from adapters.templates._compiled import (
    CompiledTemplate,
    compile_template,
    load_template,
    load_template_file,
)
from adapters.templates._graphql_adapter import GraphQLTemplateAdapter, graphql_template_spec
from adapters.templates._graphql_compiled import (
    CompiledGraphQL,
    GraphQLStream,
    compile_graphql_template,
    declared_variables,
    load_graphql_template,
)
from adapters.templates._graphql_errors import graphql_problem
from adapters.templates._graphql_model import (
    GraphQLCheck,
    GraphQLCursor,
    GraphQLErrors,
    GraphQLForEach,
    GraphQLNextQuery,
    GraphQLPageNumber,
    GraphQLStreamFields,
    GraphQLTemplate,
)
from adapters.templates._graphql_paging import (
    GraphQLPage,
    GraphQLPosition,
    GraphQLState,
    graphql_after,
    graphql_checkpoint,
    graphql_partitions,
    graphql_request,
    graphql_resume,
    graphql_variable,
    read_graphql_page,
)
from adapters.templates._kinds import (
    TEMPLATE_KINDS,
    packaged_template_spec,
    template_file_spec,
    template_kind,
    template_text_spec,
)
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
from adapters.templates._spec import TEMPLATE_SUFFIXES, is_template_reference, template_spec
from adapters.templates._webhook_adapter import WebhookTemplateAdapter, webhook_template_spec
from adapters.templates._webhook_mapping import webhook_result
from adapters.templates._webhook_model import (
    CompiledWebhook,
    WebhookCondition,
    WebhookDefaults,
    WebhookEntity,
    WebhookEvents,
    WebhookTemplate,
    compile_webhook_template,
    load_webhook_template,
)
from adapters.templates._yaml import TemplateError, TemplateProblem

__all__ = [
    "TEMPLATE_KINDS",
    "TEMPLATE_SUFFIXES",
    "ApiKeyAuth",
    "Backoff",
    "BasicAuth",
    "BearerAuth",
    "Check",
    "ClientCredentialsAuth",
    "CompiledGraphQL",
    "CompiledTemplate",
    "CompiledWebhook",
    "Credentials",
    "CursorPages",
    "Errors",
    "GraphQLCheck",
    "GraphQLCursor",
    "GraphQLErrors",
    "GraphQLForEach",
    "GraphQLNextQuery",
    "GraphQLPage",
    "GraphQLPageNumber",
    "GraphQLPosition",
    "GraphQLState",
    "GraphQLStream",
    "GraphQLStreamFields",
    "GraphQLTemplate",
    "GraphQLTemplateAdapter",
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
    "WebhookCondition",
    "WebhookDefaults",
    "WebhookEntity",
    "WebhookEvents",
    "WebhookTemplate",
    "WebhookTemplateAdapter",
    "compile_graphql_template",
    "compile_template",
    "compile_webhook_template",
    "declared_variables",
    "graphql_after",
    "graphql_checkpoint",
    "graphql_partitions",
    "graphql_problem",
    "graphql_request",
    "graphql_resume",
    "graphql_template_spec",
    "graphql_variable",
    "is_template_reference",
    "load_graphql_template",
    "load_template",
    "load_template_file",
    "load_webhook_template",
    "packaged_template_spec",
    "read_graphql_page",
    "template_file_spec",
    "template_kind",
    "template_spec",
    "template_text_spec",
    "webhook_result",
    "webhook_template_spec",
]
