"""For whoever runs the service, through HTTP on both databases: the probes (GET and HEAD),
`GET /`, and the documentation pages with their assets served by the service itself."""

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support import ADMIN_URL, app_for, assert_error, client_for, make_settings
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.migrations import head_revision
from todo_api.process.shutdown import Lifecycle


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_health_answers_get_and_head(anonymous: httpx.AsyncClient, method: str) -> None:
    response = await anonymous.request(method, "/health")
    assert response.status_code == 200
    if method == "GET":
        assert response.json() == {"status": "ok"}
    else:
        assert response.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_ready_answers_get_and_head_on_a_migrated_database(
    anonymous: httpx.AsyncClient, method: str
) -> None:
    response = await anonymous.request(method, "/ready")
    assert response.status_code == 200
    if method == "GET":
        assert response.json() == {"status": "ready"}


@pytest.fixture
async def empty_database_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of the same kind with no schema at all (as after it was recreated)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    name = f"todo_empty_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_ready_is_503_on_a_database_without_the_schema(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(empty_database_url, tmp_path / "data")
    async with app_for(settings) as app, client_for(app) as client:
        ready = await client.get("/ready")
        health = await client.get("/health")
    body = assert_error(ready, 503, "DATABASE_ERROR")
    assert "no schema" in body["error"]
    assert "todo-api migrate" in body["error"]
    assert health.status_code == 200


async def test_ready_names_the_migration_a_stale_schema_is_at(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(empty_database_url, tmp_path / "data")
    async with app_for(settings) as app:
        async with held(app, Database).connection() as conn:
            await conn.run_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            await conn.run_sql("INSERT INTO alembic_version VALUES ('0001')")
        async with client_for(app) as client:
            ready = await client.get("/ready")
    body = assert_error(ready, 503, "DATABASE_ERROR")
    assert "0001" in body["error"]
    assert head_revision() in body["error"]


async def test_ready_is_503_while_the_service_shuts_down(settings: Settings) -> None:
    async with app_for(settings) as app, client_for(app) as client:
        assert (await client.get("/ready")).status_code == 200
        held(app, Lifecycle).begin_shutdown()
        ready = await client.get("/ready")
        health = await client.get("/health")
    body = assert_error(ready, 503, "DATABASE_ERROR")
    assert "shutting down" in body["error"]
    assert health.status_code == 200


async def test_root_points_to_the_docs(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["docs"] == "/docs"
    assert (await anonymous.get(response.json()["docs"])).status_code == 200


EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_doc_pages_load_only_assets_the_service_serves(
    anonymous: httpx.AsyncClient, page: str
) -> None:
    response = await anonymous.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert EXTERNAL.findall(response.text) == []  # no other host: the page works offline
    assets = ASSET.findall(response.text)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        loaded = await anonymous.get(asset)
        assert loaded.status_code == 200, asset
        assert len(loaded.content) > 0


async def test_swagger_ui_oauth2_redirect_is_served(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_docs_sign_in_with_the_password_flow_of_the_token_route(
    anonymous: httpx.AsyncClient,
) -> None:
    schema = (await anonymous.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    password = [s for s in schemes.values() if s["type"] == "oauth2"]
    assert password == [
        {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}}}
    ]
    # What that flow posts is what the token route takes.
    email = f"docs-{uuid.uuid4().hex[:8]}@example.test"
    registered = await anonymous.post(
        "/api/auth/register", json={"email": email, "password": "a long passphrase"}
    )
    assert registered.status_code == 201, registered.text
    token = await anonymous.post(
        "/api/auth/token",
        data={"grant_type": "password", "username": email, "password": "a long passphrase"},
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"] == "bearer"


async def test_without_built_in_accounts_the_docs_offer_no_password_flow(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    own = make_settings(settings.database_url, tmp_path, builtin_accounts=False)
    async with app_for(own) as app, client_for(app) as client:
        schema = (await client.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    # Bearer (a JWT or a personal token) and Basic for /dav: no OAuth2 password flow.
    assert {s["type"] for s in schemes.values()} == {"http"}
