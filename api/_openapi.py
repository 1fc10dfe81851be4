"""The OpenAPI 3.1 document, generated from the operations table and the pydantic models.

Every request body and response in the document is the JSON Schema of the model that
validates or shapes it (`model_json_schema`, with references into `components.schemas`). Three
schemas are derived from `config.IntegrationInput` rather than written by hand:
`IntegrationPatch` (a JSON merge patch of it: nothing required, members may be null),
`IntegrationDraft` (the wizard's unsaved integration: id and name may be left out) and
`SampleRequest` (whose `integration` is a draft). Every error is a problem+json response.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from api._openapi_ops import (
    ID_PATTERN,
    JSON,
    PROBLEM_JSON,
    Body,
    Operation,
    Param,
    Reply,
    Schema,
    SchemaRef,
)
from api._schemas import Problem, SampleRequest
from config import IntegrationInput

REF = "#/components/schemas/{model}"
VERSION = "0.1.0"
ERRORS = {
    400: "The body is not valid JSON, or a header is malformed.",
    401: "No or a wrong API token (for webhooks: the signature is missing, wrong or too old).",
    404: "No such integration (or route).",
    409: "Conflicts with the integration's state; the detail says what to do.",
    412: "If-Match names a version that is no longer current.",
    413: "The body is larger than 1 MiB.",
    415: "The body has the wrong Content-Type.",
    422: "The request is invalid: `errors` names each field or parameter.",
    502: "The outside system failed; the detail says how.",
    503: "Not available right now (restarting, database unreachable); retry later.",
    504: "The outside system did not answer in time.",
}
DESCRIPTION = """\
The Integration Hub's API. Authenticate with `Authorization: Bearer <token>` (`HUB_API_TOKEN`,
or the token the hub generated into its data directory); only `/healthz` and `/webhooks/*`
answer without one. Lists are pages: `limit` (1-200) and `cursor` (the previous page's
`next_cursor`). Times are ISO 8601 in UTC. Errors are `application/problem+json` (RFC 9457)
with `errors[{field, message}]` for invalid input. Credentials are write-only."""


def build_document(operations: Iterable[Operation]) -> dict[str, Any]:
    operations = tuple(operations)
    components = _components(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        path = paths.setdefault(operation.path, {})
        path[operation.method.lower()] = _operation(operation)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Integration Hub", "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The API token (HUB_API_TOKEN or the generated one).",
                }
            },
        },
    }


# -- schemas ----------------------------------------------------------------------------------


def _components(operations: tuple[Operation, ...]) -> dict[str, Any]:
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {
        (IntegrationInput, "validation"): None,
        (SampleRequest, "validation"): None,
        (Problem, "serialization"): None,
    }
    for operation in operations:
        if operation.body is not None and isinstance(operation.body.schema, type):
            models[(operation.body.schema, "validation")] = None
        for reply in operation.replies.values():
            if isinstance(reply.schema, type):
                models[(reply.schema, "serialization")] = None
    _, top = models_json_schema(list(models), ref_template=REF)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    integration = schemas["IntegrationInput"]
    schemas["IntegrationPatch"] = _merge_patch(integration)
    schemas["IntegrationDraft"] = _draft(integration)
    sample = copy.deepcopy(schemas["SampleRequest"])
    sample["properties"]["integration"] = {
        "$ref": REF.format(model="IntegrationDraft"),
        "description": "The integration as the wizard has it so far.",
    }
    schemas["SampleRequest"] = sample
    return schemas


def _merge_patch(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) of `schema`: every member optional, null removes it."""
    properties = {}
    for name, member in schema["properties"].items():
        if name == "credentials":
            credentials = copy.deepcopy(member)
            for value in credentials.get("patternProperties", {}).values():
                value["type"] = ["string", "null"]
            properties[name] = credentials
        elif name == "id":
            properties[name] = {**member, "description": "If given, the integration's own id."}
        else:
            properties[name] = {"anyOf": [_without_default(member), {"type": "null"}]}
    return {
        "type": "object",
        "title": "IntegrationPatch",
        "description": "A JSON merge patch of an integration: members set to null are removed "
        "(back to their default), objects merge member by member; credentials set to null are "
        "deleted.",
        "properties": properties,
        "additionalProperties": False,
    }


def _without_default(member: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in member.items() if k != "default"}


def _draft(schema: Mapping[str, Any]) -> dict[str, Any]:
    draft = copy.deepcopy(dict(schema))
    draft["title"] = "IntegrationDraft"
    draft["description"] = "An integration not saved yet: id and name may be left out."
    draft["required"] = [name for name in draft["required"] if name not in ("id", "name")]
    return draft


def _schema(schema: Schema) -> dict[str, Any]:
    if isinstance(schema, SchemaRef):
        return {"$ref": REF.format(model=schema.name)}
    if isinstance(schema, type):
        return {"$ref": REF.format(model=schema.__name__)}
    return dict(schema)


# -- operations --------------------------------------------------------------------------------


def _operation(operation: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "responses": _responses(operation),
    }
    if operation.description:
        document["description"] = operation.description
    if operation.params:
        document["parameters"] = [_param(param) for param in operation.params]
    if operation.body is not None:
        document["requestBody"] = _body(operation.body)
    if operation.public:
        document["security"] = []
    return document


def _param(param: Param) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": dict(param.schema),
    }
    if param.example is not None:
        document["example"] = param.example
    return document


def _body(body: Body) -> dict[str, Any]:
    content = {media_type: {"schema": _schema(body.schema)} for media_type in body.media_types}
    document: dict[str, Any] = {"required": body.required, "content": content}
    if body.description:
        document["description"] = body.description
    return document


def _responses(operation: Operation) -> dict[str, Any]:
    responses = {str(status): _reply(reply) for status, reply in operation.replies.items()}
    errors = set(operation.errors)
    if not operation.public:
        errors.add(401)
    if operation.params and any(p.where == "path" for p in operation.params):
        errors.add(404)
    for status in sorted(errors):
        responses[str(status)] = _problem(ERRORS[status])
    return responses


def _reply(reply: Reply) -> dict[str, Any]:
    document: dict[str, Any] = {"description": reply.description}
    if reply.schema is not None:
        document["content"] = {reply.media_type: {"schema": _schema(reply.schema)}}
    if reply.headers:
        document["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in reply.headers.items()
        }
    return document


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


# -- what other parts of the app serve -----------------------------------------------------------

WEBHOOK = Operation(
    "POST",
    "/webhooks/{integration_id}",
    "receiveWebhook",
    "Inbound webhook, verified by its signature before it is parsed",
    "webhooks",
    {
        200: Reply("Accepted: stored, and handed to the integration (a repeat is not re-run)."),
        202: Reply("Accepted: stored, and handed to the integration."),
    },
    errors=(401, 404, 413, 503),
    params=(
        Param(
            "integration_id",
            "path",
            {"type": "string", "pattern": ID_PATTERN},
            "The integration the webhook is for.",
            required=True,
        ),
    ),
    body=Body(
        {"type": "string", "format": "binary"},
        media_types=("application/octet-stream", JSON),
        description="The raw body as the sender signed it (any media type).",
    ),
    description="Schemes per integration: Standard Webhooks (webhook-id, webhook-timestamp, "
    "webhook-signature), GitHub (X-Hub-Signature-256), Stripe (Stripe-Signature), Shopify "
    "(X-Shopify-Hmac-Sha256). Public: the signature is the authentication.",
    public=True,
)
HEALTHZ = Operation(
    "GET",
    "/healthz",
    "healthz",
    "Liveness",
    "hub",
    {200: Reply("The process answers.", {"type": "object", "required": ["status"]})},
    public=True,
)
