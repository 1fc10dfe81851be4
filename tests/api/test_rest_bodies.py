"""Request bodies the API refuses, each as problem+json naming what is wrong, with nothing
half-written: wrong Content-Type 415, malformed JSON 400, over 1 MiB 413, not an object 422."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from api._app import API_BODY_LIMIT
from tests.api.served import ServedHub, problem, served_hub

JSON = {"Content-Type": "application/json"}
VALID = {"id": "shop", "name": "Shop", "type": "REST", "adapter": "demo"}
BODY_ROUTES = [
    ("POST", "/api/integrations"),
    ("PATCH", "/api/integrations/demo"),
    ("POST", "/api/integrations/demo/sync"),
    ("POST", "/api/connection-tests"),
    ("POST", "/api/samples"),
]


def as_file(value: object) -> io.BytesIO:
    """A large body, sent without copying (aiohttp warns about large bytes)."""
    return io.BytesIO(orjson.dumps(value))


async def nothing_written(served: ServedHub) -> None:
    views = await served.running.services.integrations.list()
    assert [(view.config.id, view.version) for view in views] == [("demo", 1)]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_wrong_content_type_is_415(tmp_path: Path, method: str, path: str) -> None:
    async with served_hub(tmp_path) as served:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
            body = await problem(
                served, method, path, data=b"{}", headers={"Content-Type": content_type}
            )
            assert body["status"] == 415
            assert "application/json" in body["detail"]
        await nothing_written(served)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_malformed_json_is_400(tmp_path: Path, method: str, path: str) -> None:
    async with served_hub(tmp_path) as served:
        for raw in (b"{", b'{"id": }', b"\xff\xfe", b"NaN", b'{"a": 1} trailing', b"[" * 2000):
            body = await problem(
                served, method, path, data=raw, headers={"Content-Type": "application/json"}
            )
            assert body["status"] == 400, raw
            assert "JSON" in body["detail"]
        await nothing_written(served)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
async def test_json_that_is_not_an_object_is_422(tmp_path: Path, method: str, path: str) -> None:
    async with served_hub(tmp_path) as served:
        for value in ([VALID], "shop", 1, True):
            body = await problem(served, method, path, json=value)
            assert body["status"] == 422
            assert body["errors"][0]["field"] == ""
        await nothing_written(served)


async def test_a_body_over_the_limit_is_413_with_or_without_content_length(
    tmp_path: Path,
) -> None:
    big = {**VALID, "description": "x" * API_BODY_LIMIT}
    async with served_hub(tmp_path) as served:
        for method, path in BODY_ROUTES:
            body = await problem(served, method, path, data=as_file(big), headers=JSON)
            assert body["status"] == 413
            assert str(API_BODY_LIMIT) in body["detail"]

            async def chunks() -> AsyncIterator[bytes]:
                yield b'{"description": "'
                for _ in range(API_BODY_LIMIT // 65536 + 1):
                    yield b"x" * 65536
                yield b'"}'

            body = await problem(
                served, method, path, data=chunks(), headers={"Content-Type": "application/json"}
            )
            assert body["status"] == 413
        await nothing_written(served)


async def test_a_body_just_under_the_limit_is_read(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served:
        settings = {"blob": "x" * 60_000}
        response = await served.client.post(
            "/api/integrations", json={**VALID, "enabled": False, "settings": settings}
        )
        assert response.status == 201
        huge = {**VALID, "id": "huge", "settings": {"blob": "x" * (API_BODY_LIMIT - 200)}}
        body = await problem(served, "POST", "/api/integrations", data=as_file(huge), headers=JSON)
        assert body["status"] == 422  # read in full, then refused by the settings' own 64 KiB bound
        assert body["errors"][0]["field"] == "settings"


async def test_nul_and_lone_surrogates_in_text_are_422(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served:
        for raw in (
            b'{"id": "shop", "name": "a\\u0000b", "type": "REST", "adapter": "demo"}',
            b'{"id": "shop", "name": "a\\ud800b", "type": "REST", "adapter": "demo"}',
            b'{"id": "shop", "name": "ok", "type": "REST", "adapter": "demo", '
            b'"settings": {"k\\u0000": 1}}',
        ):
            response = await served.client.post(
                "/api/integrations", data=raw, headers={"Content-Type": "application/json"}
            )
            assert response.status in (400, 422), raw
        await nothing_written(served)


async def test_bodies_need_the_token_too(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served:
        for method, path in BODY_ROUTES:
            response = await served.client.request(
                method, path, json=VALID, headers={"Authorization": "Bearer wrong"}
            )
            assert response.status == 401
        await nothing_written(served)
