"""BUILTIN_ACCOUNTS: the service's own sign-up and sign-in, on by default unless an external
issuer (JWT_JWKS_URL) owns them. When off, the account routes are 404 in the error format and
absent from the OpenAPI document, and `GET /api/auth/me` still answers."""

import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import app_factory, assert_error, client_for, token_for
from todo_api.config import Settings

JWKS_URL = "http://127.0.0.1:9/api/auth/jwks"  # never asked: these tests use HS256 tokens
PASSWORD = "correct horse battery staple"
ACCOUNT_ROUTES = [
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/token",
    "/api/auth/refresh",
    "/api/auth/logout",
]


@pytest.mark.parametrize(
    ("jwks_url", "builtin_accounts", "enabled"),
    [
        (None, None, True),
        (JWKS_URL, None, False),
        (JWKS_URL, True, True),
        (None, False, False),
    ],
    ids=["default", "default-with-jwks", "on-with-jwks", "off-without-jwks"],
)
def test_builtin_accounts_default_follows_jwt_jwks_url(
    jwks_url: str | None, builtin_accounts: bool | None, enabled: bool
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        jwt_jwks_url=jwks_url,
        builtin_accounts=builtin_accounts,
    )
    assert settings.builtin_accounts_enabled is enabled


@pytest.mark.parametrize(("value", "enabled"), [("false", False), ("true", True), ("0", False)])
def test_builtin_accounts_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool
) -> None:
    monkeypatch.setenv("BUILTIN_ACCOUNTS", value)
    monkeypatch.setenv("JWT_JWKS_URL", JWKS_URL)
    assert Settings(_env_file=None).builtin_accounts_enabled is enabled  # type: ignore[call-arg]


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


async def account_requests(client: httpx.AsyncClient) -> list[httpx.Response]:
    email = f"builtin-{secrets.token_hex(6)}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    refresh = {"refresh_token": secrets.token_urlsafe(32)}
    return [
        await client.post("/api/auth/register", json=credentials),
        await client.post("/api/auth/login", json=credentials),
        await client.post("/api/auth/token", data={"username": email, "password": PASSWORD}),
        await client.post("/api/auth/refresh", json=refresh),
        await client.post("/api/auth/logout", json=refresh),
    ]


@pytest.mark.parametrize(
    "overrides",
    [{"jwt_jwks_url": JWKS_URL}, {"builtin_accounts": False}],
    ids=["default-with-jwks", "turned-off"],
)
async def test_account_routes_are_404_when_builtin_accounts_are_off(
    make_app: Callable[..., FastAPI], settings: Settings, overrides: dict[str, Any]
) -> None:
    app = make_app(**overrides)
    # With a valid token too: logout needs one, and must not answer 401 or 204 either.
    async with client_for(app, token_for(settings)) as client:
        responses = await account_requests(client)
        me = await client.get("/api/auth/me")
    for route, response in zip(ACCOUNT_ROUTES, responses, strict=True):
        assert response.status_code == 404, route
        assert_error(response, 404, "NOT_FOUND")
    assert me.status_code == 200, me.text


async def test_account_routes_are_absent_from_openapi_when_off(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(jwt_jwks_url=JWKS_URL)
    async with client_for(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/auth/me" in paths
    for route in ACCOUNT_ROUTES:
        assert route not in paths


async def test_account_routes_are_in_openapi_when_on(app: FastAPI) -> None:
    async with client_for(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    for route in [*ACCOUNT_ROUTES, "/api/auth/me"]:
        assert route in paths


async def test_builtin_accounts_can_be_kept_beside_an_external_issuer(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(jwt_jwks_url=JWKS_URL, builtin_accounts=True)
    email = f"builtin-{secrets.token_hex(6)}@example.com"
    async with client_for(app) as client:
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        access = registered.json()["access_token"]
        me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email
