"""Who may call what: the bearer token for `/api/*`, the session cookie, CSRF, public paths."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import pytest

from api._auth import TOKEN_FILE_NAME, ApiAuth, load_api_token, safe_next
from config import load_settings
from tests.api.served import served_hub


async def test_api_without_token_is_401_problem_json(tmp_path: Path) -> None:
    async with (
        served_hub(tmp_path, demo=False) as served,
        aiohttp.ClientSession(served.base_url) as anonymous,
    ):
        response = await anonymous.get("/api/openapi.json")
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json(content_type=None)
        assert body["status"] == 401
        wrong = await anonymous.get("/api/openapi.json", headers={"Authorization": "Bearer wrong"})
        assert wrong.status == 401


async def test_healthz_answers_without_token(tmp_path: Path) -> None:
    async with (
        served_hub(tmp_path, demo=False) as served,
        aiohttp.ClientSession(served.base_url) as anonymous,
    ):
        response = await anonymous.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_unknown_route_is_problem_json(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        response = await served.client.get("/api/no-such-thing")
        assert response.status == 404
        assert response.content_type == "application/problem+json"


async def test_cookie_session_needs_csrf_token_for_unsafe_methods(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        cookies = {"hub_session": served.auth.session_value}
        async with aiohttp.ClientSession(served.base_url, cookies=cookies) as browser:
            refused = await browser.post("/api/integrations", json={})
            assert refused.status == 403
            assert "CSRF" in (await refused.json(content_type=None))["detail"]


def test_api_token_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path)})
    first = load_api_token(settings)
    mode = stat.S_IMODE((tmp_path / TOKEN_FILE_NAME).stat().st_mode)
    assert mode == 0o600
    assert first.from_file
    assert load_api_token(settings).value == first.value


def test_api_token_from_setting_is_not_from_file(tmp_path: Path) -> None:
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path), "HUB_API_TOKEN": "x" * 24})
    token = load_api_token(settings)
    assert token.value == "x" * 24
    assert not token.from_file
    assert not (tmp_path / TOKEN_FILE_NAME).exists()


def test_session_and_csrf_values_do_not_reveal_the_token() -> None:
    auth = ApiAuth("secret-token-value")
    assert "secret-token-value" not in auth.session_value
    assert auth.session_value != auth.csrf_token


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/"),
        ("/integrations/demo", "/integrations/demo"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_safe_next_allows_only_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
