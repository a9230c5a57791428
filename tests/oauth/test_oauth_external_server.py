"""MCP authorization with an external issuer (JWT_JWKS_URL), against a real `todo-api serve`
(SQLite and PostgreSQL): the protected resource metadata names OAUTH_ISSUER, the built-in
authorization server is off, and /mcp takes the issuer's access tokens whose `aud` names
<PUBLIC_URL>/mcp; and without PUBLIC_URL, no authorization server at all.
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.auth.jwks_server import JwksServer, SigningKey, ed25519_key, random_id
from tests.helpers_server import Server, clean_env, free_port, running_server
from tests.oauth.test_oauth_server import mcp_call, mcp_session, mcp_status
from tests.support import TEST_SECRET, assert_error, client_for

ISSUER = "http://localhost:3000"
OAUTH_ISSUER = "https://auth.example.com"
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return ed25519_key()


@pytest.fixture(scope="module")
def issuer(key: SigningKey) -> Iterator[JwksServer]:
    server = JwksServer([key.jwk()]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(
    database_url: str, issuer: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("oauth-external")
    port = free_port()
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        JWT_JWKS_URL=issuer.url,
        JWT_ISSUER=ISSUER,
        JWT_AUDIENCE=ISSUER,
        OAUTH_ISSUER=OAUTH_ISSUER,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    with running_server(cwd, env, cwd / "server.log", port) as running:
        yield running


def token(key: SigningKey, audience: Any, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": random_id(), "iss": ISSUER, "aud": audience, "iat": now, "exp": now + 900}
    return jwt.encode({**payload, **claims}, key.private_key, "EdDSA", headers={"kid": key.kid})


async def test_the_metadata_names_the_external_issuer_and_the_built_in_server_is_off(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ):
            response = await http.get(path, headers={"Origin": "https://a.example"})
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
            assert response.json()["authorization_servers"] == [OAUTH_ISSUER]
            assert response.json()["resource"] == f"{server.url}/mcp"
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            assert_error(await http.get(path), 404, "NOT_FOUND")
        for method, path in (
            ("GET", "/oauth/authorize"),
            ("POST", "/oauth/token"),
            ("POST", "/oauth/register"),
            ("POST", "/oauth/revoke"),
        ):
            response = await http.request(method, path)
            assert response.status_code == 404
            assert set(response.json()) == {"error", "error_description"}
        bare = await http.post("/mcp", json={})
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == (
        'Bearer scope="tasks:read tasks:write", '
        f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"'
    )


async def test_mcp_takes_the_issuers_tokens_for_its_resource_only_there(
    server: Server, key: SigningKey
) -> None:
    resource = f"{server.url}/mcp"
    for_mcp = token(key, [resource, "https://other.example"], scope="tasks:read tasks:write")
    async with mcp_session(server.url, for_mcp) as session:
        created = await session.call_tool("create_task", {"title": "From the assistant"})
        assert not created.is_error, created.content
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        on_api = await http.get("/api/tasks", headers={"Authorization": f"Bearer {for_mcp}"})
    assert_error(on_api, 401, "INVALID_TOKEN")
    elsewhere = token(key, "https://other.example", scope="tasks:write")
    assert_error(await mcp_status(server.url, elsewhere), 401, "INVALID_TOKEN")
    # The frontend's own tokens (JWT_AUDIENCE) go everywhere, /mcp included.
    frontend = token(key, ISSUER)
    assert (await mcp_status(server.url, frontend)).status_code == 200
    from_oauth_issuer = token(key, resource, iss=OAUTH_ISSUER, scope="tasks:write")
    assert (await mcp_status(server.url, from_oauth_issuer)).status_code == 200
    stranger = token(key, resource, iss="https://stranger.example", scope="tasks:write")
    assert_error(await mcp_status(server.url, stranger), 401, "INVALID_TOKEN")
    reading = token(key, resource, scope="tasks:read")
    async with mcp_session(server.url, reading) as session:
        assert not (await session.call_tool("list_tasks", {})).is_error
    # The issuer's read token that writes meets the scope challenge, as the built-in one's.
    refused = await mcp_call(server.url, reading, "create_task", {"title": "No"})
    assert_error(refused, 403, "FORBIDDEN")
    assert refused.headers["www-authenticate"].startswith(
        'Bearer error="insufficient_scope", scope="tasks:read tasks:write", resource_metadata='
    )


async def test_without_public_url_there_is_no_authorization_server(app: FastAPI) -> None:
    async with client_for(app) as http:
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
            "/oauth/authorize",
        ):
            assert (await http.get(path)).status_code == 404
        response = await http.post("/oauth/register", json={"redirect_uris": [str(uuid.uuid4())]})
        assert response.status_code == 404
        assert set(response.json()) == {"error", "error_description"}
        bare = await http.post("/mcp", json={})
    assert bare.headers["www-authenticate"] == "Bearer"
