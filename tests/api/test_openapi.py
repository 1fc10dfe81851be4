"""`/api/openapi.json`: a valid OpenAPI 3.1 document, generated from the models that validate
the requests and shape the responses, listing exactly the routes the app serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
from pydantic.json_schema import models_json_schema
from schemathesis.specs.openapi.definitions import OPENAPI_31

from api._app import build_app
from api._openapi import REF
from config import IntegrationInput
from runtime.testing import wait_for
from tests.api.served import ServedHub, served_hub

METHODS = {"get", "post", "put", "patch", "delete"}


async def document(served: ServedHub) -> dict[str, Any]:
    response = await served.client.get("/api/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.json()
    return body


def validator(doc: dict[str, Any], name: str) -> jsonschema_rs.Validator:
    schema = {"$ref": REF.format(model=name), "components": doc["components"]}
    return jsonschema_rs.validator_for(schema, validate_formats=True)


async def test_the_document_is_valid_openapi_31(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        doc = await document(served)
    assert doc["openapi"] == "3.1.0"
    jsonschema_rs.validate(OPENAPI_31, doc)
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The API token (HUB_API_TOKEN or the generated one).",
    }
    assert doc["security"] == [{"bearer": []}]


async def test_every_served_route_is_documented_and_nothing_else(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        doc = await document(served)
        app = build_app(served.running, served.auth)  # the same routes, not served
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }
    served_routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method != "HEAD" and isinstance(path, str):
            served_routes.add((route.method, path))
    api_routes = {
        (method, path)
        for method, path in served_routes
        if path.startswith(("/api/", "/webhooks/")) or path == "/healthz"
    }
    assert documented == api_routes
    assert ("POST", "/webhooks/{integration_id}") in documented
    assert doc["paths"]["/webhooks/{integration_id}"]["post"]["security"] == []
    assert doc["paths"]["/healthz"]["get"]["security"] == []


async def test_bodies_are_the_models_schemas(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        doc = await document(served)
    schemas = doc["components"]["schemas"]
    _, generated = models_json_schema([(IntegrationInput, "validation")], ref_template=REF)
    assert schemas["IntegrationInput"] == generated["$defs"]["IntegrationInput"]
    create = doc["paths"]["/api/integrations"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": REF.format(model="IntegrationInput")
    }
    patch = doc["paths"]["/api/integrations/{id}"]["patch"]["requestBody"]["content"]
    assert set(patch) == {"application/merge-patch+json", "application/json"}
    assert "required" not in schemas["IntegrationPatch"]
    assert set(schemas["IntegrationPatch"]["properties"]) == set(
        schemas["IntegrationInput"]["properties"]
    )
    assert schemas["IntegrationDraft"]["required"] == ["type", "adapter"]
    assert schemas["SampleRequest"]["properties"]["integration"]["$ref"].endswith(
        "/IntegrationDraft"
    )
    credential = schemas["IntegrationInput"]["properties"]["credentials"]
    assert next(iter(credential["patternProperties"].values()))["writeOnly"] is True


async def test_every_error_is_a_problem_and_every_operation_needs_the_token(
    tmp_path: Path,
) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        doc = await document(served)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            public = operation.get("security") == []
            assert public == (not path.startswith("/api/")), (method, path)
            if not public:
                assert "401" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    content = response["content"]["application/problem+json"]
                    assert content["schema"] == {"$ref": REF.format(model="Problem")}


async def test_responses_match_the_documented_schemas(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served:
        doc = await document(served)

        async def first_run() -> bool:
            runs = await served.running.services.store.list_runs("demo", limit=1)
            return bool(runs.items) and runs.items[0].finished_at is not None

        await wait_for(first_run, timeout=30, what="the demo's first run")
        checks = [
            ("/api/integrations", "IntegrationPage"),
            ("/api/integrations/demo", "IntegrationDetail"),
            ("/api/integrations/demo/runs", "RunPage"),
            ("/api/integrations/demo/logs", "LogPage"),
            ("/api/integrations/demo/records?entity=customers", "RecordPage"),
            ("/api/integrations/demo/webhooks", "WebhookPage"),
            ("/api/catalog", "Catalog"),
            ("/api/activity", "Activity"),
            ("/api/integrations/nope", "Problem"),
            ("/api/activity?limit=0", "Problem"),
        ]
        for path, name in checks:
            body = await (await served.client.get(path)).json(content_type=None)
            validator(doc, name).validate(body)
