"""MCP authorization against real `todo-api serve` processes (two instances on one database,
SQLite and PostgreSQL): the MCP SDK's own OAuth client connects from nothing but the URL, and
every refusal of the contract is provoked for real. Everything talks to 127.0.0.1.
"""

import asyncio
import hashlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from mcp_types import TextContent
from pydantic import AnyUrl
from sqlalchemy import select, update

from tests.helpers_server import Server, clean_env, free_port, running_server
from tests.oauth.helpers import (
    REDIRECT_URI,
    TIMEOUT,
    allow,
    authorize_url,
    connect,
    exchange,
    form_fields,
    pkce,
    query_of,
    refresh,
    register_client,
    register_user,
)
from tests.support import TEST_SECRET, assert_error, make_settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.oauth import scheduled
from todo_api.process.logs import LINES_HELD_SECONDS
from todo_api.tables.oauth import oauth_clients, oauth_grants, oauth_tokens


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two instances behind one PUBLIC_URL (the first's address), on one database."""
    cwd = tmp_path_factory.mktemp("oauth-servers")
    port = free_port()
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        LOG_LEVEL="INFO",
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        AUTH_RATE_LIMIT_ATTEMPTS="100000",
    )
    with (
        running_server(cwd, env, cwd / "first.log", port) as first,
        running_server(cwd, env, cwd / "second.log") as second,
    ):
        yield first, second


@pytest.fixture(scope="module")
def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture
async def email(server: Server) -> str:
    """A built-in account of its own."""
    address = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    await register_user(server.url, address)
    return address


@asynccontextmanager
async def mcp_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def tool_error(result: Any) -> dict[str, Any]:
    assert result.is_error
    [content] = result.content
    assert isinstance(content, TextContent)
    body: dict[str, Any] = json.loads(content.text)
    return body


async def mcp_status(url: str, token: str) -> httpx.Response:
    """A tools/list at /mcp with this token, as one plain POST."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        return await http.post(
            f"{url}/mcp",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-06-18",
            },
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


# --- The SDK's client, from the URL alone ----------------------------------------------------


async def test_the_sdk_oauth_client_connects_from_the_url_alone_and_refreshes(
    server: Server, email: str
) -> None:
    storage = MemoryStorage()
    redirected: list[str] = []

    async def redirect_handler(url: str) -> None:
        # The app opens the page in the user's browser; the user signs in and allows.
        redirected.append(await allow(url, email))

    async def callback_handler() -> AuthorizationCodeResult:
        parameters = query_of(redirected[-1])
        return AuthorizationCodeResult(code=parameters["code"], state=parameters.get("state"))

    auth = OAuthClientProvider(
        server_url=f"{server.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="An assistant",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope="tasks:read tasks:write",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    token_requests: list[httpx2.Request] = []

    async def record(request: httpx2.Request) -> None:
        if request.url.path == "/oauth/token":
            token_requests.append(request)

    async with (
        httpx2.AsyncClient(auth=auth, timeout=TIMEOUT, event_hooks={"request": [record]}) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert len(redirected) == 1  # discovery, registration, the page, the token
        assert storage.client is not None
        assert storage.tokens is not None
        first = storage.tokens
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {"create_task", "list_tasks", "move_task", "tasks_due_on"} <= tools
        created = await session.call_tool("create_task", {"title": "Asked by the assistant"})
        assert not created.is_error, created.content
        # The access token runs out: the client refreshes (rotation) and goes on.
        auth.context.token_expiry_time = 0.5
        listed = await session.call_tool("list_tasks", {})
        assert not listed.is_error, listed.content
        assert [t["title"] for t in (listed.structured_content or {})["tasks"]] == [
            "Asked by the assistant"
        ]
        assert storage.tokens.access_token != first.access_token
        assert storage.tokens.refresh_token != first.refresh_token
        assert len(redirected) == 1  # no second sign-in
    # The old access token still works until it expires; the old refresh token is spent.
    registered = storage.client
    assert registered.token_endpoint_auth_method == "client_secret_basic"  # RFC 7591's default
    # The code and the refresh went with HTTP Basic (RFC 6749 §2.3.1), as registered.
    assert len(token_requests) == 2
    assert all(r.headers["authorization"].startswith("Basic ") for r in token_requests)
    reused = await refresh(
        server.url, registered.client_id or "", first.refresh_token or "", registered.client_secret
    )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


# --- Discovery ---------------------------------------------------------------------------------


async def test_metadata_is_public_and_open_to_any_origin(server: Server) -> None:
    origin = {"Origin": "https://assistant.example"}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for path in (
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ):
            response = await http.get(path, headers=origin)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
            assert response.json() == {
                "resource": f"{server.url}/mcp",
                "authorization_servers": [server.url],
                "bearer_methods_supported": ["header"],
                "scopes_supported": ["tasks:read", "tasks:write"],
                "resource_name": "Tasks",
            }
        documents = []
        for path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            response = await http.get(path, headers=origin)
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
            documents.append(response.json())
        preflight = await http.options(
            "/oauth/token",
            headers={**origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"
    assert documents[0] == documents[1]
    server_metadata = documents[0]
    assert server_metadata["issuer"] == server.url
    assert server_metadata["authorization_endpoint"] == f"{server.url}/oauth/authorize"
    assert server_metadata["token_endpoint"] == f"{server.url}/oauth/token"
    assert server_metadata["registration_endpoint"] == f"{server.url}/oauth/register"
    assert server_metadata["revocation_endpoint"] == f"{server.url}/oauth/revoke"
    assert server_metadata["code_challenge_methods_supported"] == ["S256"]
    assert server_metadata["response_types_supported"] == ["code"]
    assert server_metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert server_metadata["token_endpoint_auth_methods_supported"] == [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ]
    assert server_metadata["client_id_metadata_document_supported"] is True


SCOPES = 'scope="tasks:read tasks:write"'


async def test_mcp_401_names_the_scopes_and_the_resource_metadata(server: Server) -> None:
    metadata = f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"'
    expected = f"{SCOPES}, {metadata}"
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        bare = await http.post(f"{server.url}/mcp", json={})
    assert_error(bare, 401, "UNAUTHORIZED")
    assert bare.headers["www-authenticate"] == f"Bearer {expected}"
    wrong = await mcp_status(server.url, "todo_mcp_not-a-token")
    assert_error(wrong, 401, "INVALID_TOKEN")
    challenge = wrong.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert challenge.endswith(expected)


# --- Registration ----------------------------------------------------------------------------


async def test_registration_takes_https_or_loopback_redirects_and_defaults_to_basic(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        for uri in (
            "http://example.com/callback",
            "ftp://127.0.0.1/x",
            "https://x.example/#f",
            "http://user@127.0.0.1/cb",
            "http://127.0.0.1:0/cb",
            "HTTP://127.0.0.1/cb",
        ):
            refused = await http.post(
                "/oauth/register", json={"redirect_uris": [uri], "client_name": "Bad"}
            )
            assert refused.status_code == 400, uri
            assert refused.json()["error"] == "invalid_redirect_uri"
        confidential = await http.post(
            "/oauth/register",
            json={"redirect_uris": ["https://app.example/cb"], "client_name": "Web app"},
        )
    assert confidential.status_code == 201
    body = confidential.json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"]


async def test_a_confidential_client_authenticates_with_its_secret(
    server: Server, email: str
) -> None:
    client = await register_client(server.url, token_endpoint_auth_method="client_secret_basic")
    secret = client["client_secret"]
    verifier, challenge = pkce()
    location = await allow(authorize_url(server.url, client["client_id"], challenge), email)
    data = {
        "grant_type": "authorization_code",
        "code": query_of(location)["code"],
        "redirect_uri": REDIRECT_URI,
        "client_id": client["client_id"],
        "code_verifier": verifier,
    }
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        wrong = await http.post("/oauth/token", data=data, auth=(client["client_id"], "nope"))
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        # RFC 6749 §2.3.1: the client_id is in the Basic header; the body need not repeat it.
        del data["client_id"]
        right = await http.post("/oauth/token", data=data, auth=(client["client_id"], secret))
        assert right.status_code == 200, right.text
        tokens = right.json()
        refreshed = await http.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(client["client_id"], secret),
        )
        assert refreshed.status_code == 200, refreshed.text
        unauthenticated = await http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refreshed.json()["refresh_token"],
            },
        )
        assert unauthenticated.status_code == 401
        assert unauthenticated.json()["error"] == "invalid_client"
    assert right.headers["cache-control"] == "no-store"
    assert tokens["token_type"] == "Bearer"
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert tokens["scope"] == "tasks:read tasks:write"


# --- The page's refusals ------------------------------------------------------------------------


def assert_error_page(response: httpx.Response) -> None:
    """An HTML error page, never a redirect, that cannot be framed."""
    assert response.status_code in (400, 403), response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "cannot go on" in response.text


async def test_missing_or_plain_pkce_unknown_clients_and_unregistered_redirects_get_an_error_page(
    server: Server,
) -> None:
    client = await register_client(server.url)
    client_id = client["client_id"]
    _, challenge = pkce()
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        for url in (
            authorize_url(server.url, client_id, None),  # no PKCE
            authorize_url(server.url, client_id, challenge, code_challenge_method="plain"),
            authorize_url(server.url, client_id, None, code_challenge=challenge),  # no method
            authorize_url(server.url, client_id, challenge, redirect_uri="https://evil.example/"),
            authorize_url(server.url, client_id, challenge, redirect_uri="http://127.0.0.1:1/x"),
            authorize_url(server.url, str(uuid.uuid4()), challenge),  # unknown client
            authorize_url(server.url, "", challenge),
        ):
            assert_error_page(await browser.get(url))
            assert_error_page(
                await browser.post(f"{server.url}/oauth/authorize", data=query_of(url))
            )


async def test_other_faults_go_back_to_the_app_and_deny_says_access_denied(
    server: Server, email: str
) -> None:
    client = await register_client(server.url)
    _, challenge = pkce()
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        for params, error in (
            ({"resource": "https://other.example/mcp"}, "invalid_target"),
            ({"scope": "admin"}, "invalid_scope"),
            ({"response_type": "token"}, "unsupported_response_type"),
        ):
            url = authorize_url(server.url, client["client_id"], challenge, **params)
            response = await browser.get(url)
            assert response.status_code == 302
            assert response.headers["location"].startswith(REDIRECT_URI)
            assert query_of(response.headers["location"]) == {
                "error": error,
                "error_description": query_of(response.headers["location"])["error_description"],
                "state": "some-state",
            }
    reader = await register_client(server.url, scope="tasks:read")
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        wider = await browser.get(authorize_url(server.url, reader["client_id"], challenge))
    assert wider.status_code == 302
    assert query_of(wider.headers["location"])["error"] == "invalid_scope"
    denied = await allow(authorize_url(server.url, client["client_id"], challenge), email, "deny")
    assert query_of(denied) == {"error": "access_denied", "state": "some-state"}


async def test_a_loopback_redirect_uri_matches_with_any_port(server: Server, email: str) -> None:
    client = await register_client(server.url)
    _, challenge = pkce()
    other_port = "http://127.0.0.1:53682/callback"
    url = authorize_url(server.url, client["client_id"], challenge, redirect_uri=other_port)
    location = await allow(url, email)
    assert location.startswith(other_port + "?")
    assert query_of(location)["code"]
    # The rules of registration hold for the URI asked for: any port, but nothing else.
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        for uri in (
            "http://127.0.0.1:53682/callback#fragment",
            "http://user@127.0.0.1:53682/callback",
            "http://user:secret@127.0.0.1/callback",
            "http://127.0.0.1:0/callback",
            "HTTP://127.0.0.1:53682/callback",
        ):
            url = authorize_url(server.url, client["client_id"], challenge, redirect_uri=uri)
            assert_error_page(await browser.get(url))


async def test_the_page_refuses_a_form_from_another_site_and_cannot_be_framed(
    server: Server, email: str
) -> None:
    client = await register_client(server.url)
    _, challenge = pkce()
    url = authorize_url(server.url, client["client_id"], challenge)
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        page = await browser.get(url)
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        fields = form_fields(page.text)
        assert fields["csrf_token"]
        forged = {**fields, "csrf_token": "forged", "email": email, "password": "x"}
        refused = await browser.post(
            f"{server.url}/oauth/authorize", data={**forged, "action": "signin"}
        )
        assert refused.status_code == 403
        assert "location" not in refused.headers
    # Another browser (no cookie of this one) replaying this one's form token: refused too.
    async with httpx.AsyncClient(timeout=TIMEOUT) as other:
        stolen = {**fields, "action": "allow"}
        refused = await other.post(f"{server.url}/oauth/authorize", data=stolen)
    assert refused.status_code == 403
    assert "location" not in refused.headers


# --- Codes and refresh tokens -----------------------------------------------------------------


async def test_a_code_works_once_and_its_second_use_revokes_what_the_first_issued(
    server: Server, email: str
) -> None:
    client, tokens, code = await connect(server.url, email)
    assert (await mcp_status(server.url, tokens["access_token"])).status_code == 200
    again = await exchange(server.url, client["client_id"], code, tokens["verifier"])
    assert again.status_code == 400
    assert set(again.json()) == {"error", "error_description"}
    assert again.json()["error"] == "invalid_grant"
    for url in (server.url,):
        assert_error(await mcp_status(url, tokens["access_token"]), 401, "INVALID_TOKEN")
    assert (
        await refresh(server.url, client["client_id"], tokens["refresh_token"])
    ).status_code == 400


async def test_a_code_needs_its_verifier_client_and_redirect(server: Server, email: str) -> None:
    client = await register_client(server.url)
    other = await register_client(server.url)
    verifier, challenge = pkce()
    code = query_of(await allow(authorize_url(server.url, client["client_id"], challenge), email))[
        "code"
    ]
    wrong_verifier = await exchange(server.url, client["client_id"], code, pkce()[0])
    assert wrong_verifier.json()["error"] == "invalid_grant"
    wrong_client = await exchange(server.url, other["client_id"], code, verifier)
    assert wrong_client.json()["error"] == "invalid_grant"
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        wrong_redirect = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://127.0.0.1:1/elsewhere",
                "client_id": client["client_id"],
                "code_verifier": verifier,
            },
        )
    assert wrong_redirect.status_code == 400
    assert wrong_redirect.json()["error"] == "invalid_grant"  # RFC 6749 §5.2
    assert (await exchange(server.url, client["client_id"], code, verifier)).status_code == 200


async def test_a_refresh_token_used_twice_revokes_its_family(
    server: Server, servers: tuple[Server, Server], email: str
) -> None:
    client, tokens, _ = await connect(server.url, email)
    rotated = await refresh(server.url, client["client_id"], tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    for instance in servers:
        assert (await mcp_status(instance.url, new["access_token"])).status_code == 200
    reused = await refresh(server.url, client["client_id"], tokens["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The whole family: the new access token on every instance, and the new refresh token.
    for instance in servers:
        for token in (tokens["access_token"], new["access_token"]):
            assert_error(await mcp_status(instance.url, token), 401, "INVALID_TOKEN")
    assert (await refresh(server.url, client["client_id"], new["refresh_token"])).status_code == 400


async def test_revocation_endpoint_ends_the_grant(server: Server, email: str) -> None:
    client, tokens, _ = await connect(server.url, email)
    await revoke(server.url, client["client_id"], tokens["refresh_token"])
    assert_error(await mcp_status(server.url, tokens["access_token"]), 401, "INVALID_TOKEN")


async def revoke(base: str, client_id: str, token: str) -> None:
    """/oauth/revoke of a public client's token (200, as RFC 7009 answers)."""
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        response = await http.post("/oauth/revoke", data={"token": token, "client_id": client_id})
    assert response.status_code == 200, response.text


# --- What a token may do ---------------------------------------------------------------------


async def mcp_call(url: str, token: str, tool: str, arguments: dict[str, Any]) -> httpx.Response:
    """A tools/call at /mcp with this token, as one plain POST."""
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        return await http.post(
            f"{url}/mcp",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-11-25",
            },
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            },
        )


async def test_a_read_scoped_token_reads_and_its_write_is_a_scope_challenge(
    server: Server, email: str
) -> None:
    _, tokens, _ = await connect(server.url, email, scope="tasks:read")
    assert tokens["scope"] == "tasks:read"
    async with mcp_session(server.url, tokens["access_token"]) as session:
        listed = await session.call_tool("list_tasks", {})
        assert not listed.is_error
    # MCP's scope challenge (2025-11-25): HTTP 403, naming what to ask the user for.
    refused = await mcp_call(server.url, tokens["access_token"], "create_task", {"title": "No"})
    assert_error(refused, 403, "FORBIDDEN")
    metadata = f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"'
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", {SCOPES}, {metadata}'
    )
    read = await mcp_call(server.url, tokens["access_token"], "list_tasks", {})
    assert read.status_code == 200
    assert read.json()["result"]["structuredContent"] == {"tasks": []}


async def test_the_sdk_client_asks_for_more_when_a_read_token_writes(
    server: Server, email: str
) -> None:
    """The SDK's client holds a `tasks:read` grant; calling a tool that writes meets the scope
    challenge, and the client asks the user for `tasks:write` (a second consent), then calls
    again with the new token."""
    client, tokens, _ = await connect(server.url, email, scope="tasks:read")
    storage = MemoryStorage()
    storage.client = OAuthClientInformationFull.model_validate(client)
    storage.tokens = OAuthToken.model_validate(
        {name: tokens[name] for name in ("access_token", "token_type", "refresh_token", "scope")}
    )
    asked: list[str] = []
    redirected: list[str] = []

    async def redirect_handler(url: str) -> None:
        asked.append(url)
        redirected.append(await allow(url, email))

    async def callback_handler() -> AuthorizationCodeResult:
        parameters = query_of(redirected[-1])
        return AuthorizationCodeResult(code=parameters["code"], state=parameters.get("state"))

    auth = OAuthClientProvider(
        server_url=f"{server.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Test app",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="tasks:read",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=TIMEOUT) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        assert not (await session.call_tool("list_tasks", {})).is_error
        assert asked == []  # the stored read grant serves reads
        created = await session.call_tool("create_task", {"title": "Asked for more"})
        assert not created.is_error, created.content
    assert len(asked) == 1
    assert set(query_of(asked[0])["scope"].split()) == {"tasks:read", "tasks:write"}
    assert storage.tokens is not None
    assert set((storage.tokens.scope or "").split()) == {"tasks:read", "tasks:write"}


async def test_an_mcp_token_is_refused_on_the_api(server: Server, email: str) -> None:
    _, tokens, _ = await connect(server.url, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=TIMEOUT) as http:
        assert_error(await http.get("/api/tasks"), 401, "INVALID_TOKEN")
        assert_error(await http.post("/api/tasks", json={"title": "x"}), 401, "INVALID_TOKEN")
        assert_error(await http.get("/api/connections"), 401, "INVALID_TOKEN")
        assert_error(await http.get("/api/tokens"), 403, "FORBIDDEN")
        assert_error(await http.get("/api/auth/sessions"), 403, "FORBIDDEN")
    # A refresh token is no bearer token anywhere.
    assert_error(await mcp_status(server.url, tokens["refresh_token"]), 401, "INVALID_TOKEN")


# --- Connections ------------------------------------------------------------------------------


async def session_token(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
        response = await http.post(
            "/api/auth/login", json={"email": email, "password": "correct horse battery staple"}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_the_user_sees_and_ends_a_connection_on_every_instance(
    server: Server, servers: tuple[Server, Server], email: str
) -> None:
    client, tokens, _ = await connect(server.url, email)
    _, read_tokens, _ = await connect(server.url, email, scope="tasks:read")
    headers = {"Authorization": f"Bearer {await session_token(server.url, email)}"}
    for instance in servers:  # each instance has looked the token up (and may keep it)
        assert (await mcp_status(instance.url, tokens["access_token"])).status_code == 200
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=TIMEOUT) as http:
        listed = await http.get("/api/connections")
        assert listed.status_code == 200
        connections = listed.json()
        assert len(connections) == 2
        mine = next(c for c in connections if c["client_id"] == client["client_id"])
        assert mine["client_name"] == "Test app"
        assert mine["scope"] == "tasks:read tasks:write"
        assert mine["created_at"]
        assert mine["last_used_at"]
        ended = await http.delete(f"/api/connections/{client['client_id']}")
        assert ended.status_code == 204
        assert_error(await http.delete(f"/api/connections/{client['client_id']}"), 404, "NOT_FOUND")
        assert_error(await http.delete(f"/api/connections/{uuid.uuid4()}"), 404, "NOT_FOUND")
        assert len((await http.get("/api/connections")).json()) == 1
    for instance in servers:
        assert_error(await mcp_status(instance.url, tokens["access_token"]), 401, "INVALID_TOKEN")
        assert (await mcp_status(instance.url, read_tokens["access_token"])).status_code == 200
    assert (
        await refresh(server.url, client["client_id"], tokens["refresh_token"])
    ).status_code == 400


async def test_a_revocation_reaches_every_instance_from_a_server_with_one_connection(
    postgres_url: str, tmp_path: Path
) -> None:
    """Revoking holds the grant's connection no longer than the delete: telling the other
    processes takes a connection of its own, even from a pool of one."""
    port = free_port()
    env = clean_env(
        DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET, PUBLIC_URL=f"http://127.0.0.1:{port}"
    )
    one_connection = {**env, "DATABASE_POOL_SIZE": "1"}
    with (
        running_server(tmp_path, one_connection, tmp_path / "a.log", port) as one,
        running_server(tmp_path, env, tmp_path / "b.log") as other,
    ):
        email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
        await register_user(one.url, email)
        client, tokens, _ = await connect(one.url, email)
        for _ in range(2):  # looked up, then kept by that process
            assert (await mcp_status(other.url, tokens["access_token"])).status_code == 200
        await revoke(one.url, client["client_id"], tokens["refresh_token"])
        assert_error(await mcp_status(other.url, tokens["access_token"]), 401, "INVALID_TOKEN")
    assert "revocation" not in (tmp_path / "a.log").read_text()  # neither failed nor slow


# --- Storage, logs and housekeeping --------------------------------------------------------------


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_secrets_are_stored_hashed_never_logged_and_pruned_when_expired(
    servers: tuple[Server, Server], database_url: str, email: str, tmp_path: Path
) -> None:
    server = servers[0]
    client = await register_client(server.url, token_endpoint_auth_method="client_secret_post")
    verifier, challenge = pkce()
    code = query_of(await allow(authorize_url(server.url, client["client_id"], challenge), email))[
        "code"
    ]
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client["client_id"],
                "client_secret": client["client_secret"],
                "code_verifier": verifier,
            },
        )
    assert response.status_code == 200, response.text
    tokens = response.json()
    secrets = [client["client_secret"], code, tokens["access_token"], tokens["refresh_token"]]
    settings = make_settings(database_url, tmp_path)
    db = Database(settings)
    try:
        async with db.connection() as conn:
            [stored_client] = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.id == client["client_id"])
                )
            ).rows
            [grant] = (
                await conn.execute(
                    select(oauth_grants).where(oauth_grants.c.client_id == client["client_id"])
                )
            ).rows
            stored_tokens = (
                await conn.execute(
                    select(oauth_tokens).where(oauth_tokens.c.grant_id == grant["id"])
                )
            ).rows
        assert stored_client["secret_hash"] == sha256(client["client_secret"])
        assert grant["code_hash"] == sha256(code)
        assert {t["token_hash"] for t in stored_tokens} == {
            sha256(tokens["access_token"]),
            sha256(tokens["refresh_token"]),
        }
        stored = json.dumps(
            [dict(stored_client), dict(grant), *map(dict, stored_tokens)], default=str
        )
        for secret in secrets:
            assert secret not in stored
        # Request lines are held a moment before they are written (LineHandler).
        deadline = time.monotonic() + 10
        while "/oauth/token" not in servers[0].log():
            assert time.monotonic() < deadline, servers[0].log()
            await asyncio.sleep(0.05)
        await asyncio.sleep(3 * LINES_HELD_SECONDS)  # the other instances' lines too
        for instance in servers:
            log = instance.log()
            for secret in secrets:
                assert secret not in log
        # Expired: the grant (its refresh token's end passed) and its tokens go at the next run.
        past = utcnow().replace(year=2000)
        async with db.connection() as conn:
            await conn.execute(
                update(oauth_grants).where(oauth_grants.c.id == grant["id"]).values(expires_at=past)
            )
            await conn.execute(
                update(oauth_tokens)
                .where(oauth_tokens.c.grant_id == grant["id"])
                .values(expires_at=past)
            )
        await scheduled.housekeeping(db, settings)
        async with db.connection() as conn:
            left = (
                await conn.execute(
                    select(oauth_grants.c.id).where(oauth_grants.c.id == grant["id"])
                )
            ).rows
            left_tokens = (
                await conn.execute(
                    select(oauth_tokens.c.id).where(oauth_tokens.c.grant_id == grant["id"])
                )
            ).rows
        assert left == []
        assert left_tokens == []
    finally:
        await db.close()
    assert_error(await mcp_status(server.url, tokens["access_token"]), 401, "INVALID_TOKEN")


async def test_a_client_never_used_in_a_grant_goes_after_seven_days(
    server: Server, database_url: str, email: str, tmp_path: Path
) -> None:
    used, _, _ = await connect(server.url, email)
    unused = await register_client(server.url)
    recent = await register_client(server.url)
    ids = {c["client_id"] for c in (used, unused, recent)}
    settings = make_settings(database_url, tmp_path)
    db = Database(settings)
    try:
        async with db.connection() as conn:
            for client, age in ((used, 8), (unused, 8), (recent, 6)):
                await conn.execute(
                    update(oauth_clients)
                    .where(oauth_clients.c.id == client["client_id"])
                    .values(created_at=utcnow() - timedelta(days=age))
                )
        await scheduled.housekeeping(db, settings)
        async with db.connection() as conn:
            left = (
                await conn.execute(select(oauth_clients.c.id).where(oauth_clients.c.id.in_(ids)))
            ).rows
    finally:
        await db.close()
    assert {row["id"] for row in left} == {used["client_id"], recent["client_id"]}


async def test_oauth_errors_are_in_oauths_shape(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
        not_allowed = await http.get("/oauth/token")
        unknown = await http.get("/oauth/nothing")
        bad_grant = await http.post(
            "/oauth/token", data={"grant_type": "password", "client_id": str(uuid.uuid4())}
        )
    for response, status in ((not_allowed, 405), (unknown, 404), (bad_grant, 400)):
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"error", "error_description"}, body
    assert bad_grant.json()["error"] == "unsupported_grant_type"  # RFC 6749 §5.2


# --- Client ID metadata documents --------------------------------------------------------------


class Documents:
    """An HTTP server on 127.0.0.1 serving client metadata documents, counting requests."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.requests: list[str] = []
        documents = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                documents.requests.append(self.path)
                body = documents.bodies.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, path: str, document: dict[str, Any] | None = None, **extra: Any) -> str:
        url = self.base + path
        body = {
            "client_id": url,
            "client_name": "Document app",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            **extra,
        }
        self.bodies[path] = json.dumps(document if document is not None else body).encode()
        return url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def documents() -> Iterator[Documents]:
    served = Documents()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def open_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that may fetch from private addresses (WEBHOOK_ALLOW_PRIVATE_URLS), such as the
    documents' 127.0.0.1."""
    cwd = tmp_path_factory.mktemp("oauth-open")
    port = free_port()
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
        AUTH_RATE_LIMIT_ATTEMPTS="100000",
    )
    with running_server(cwd, env, cwd / "open.log", port) as running:
        yield running


async def test_a_client_id_may_be_its_metadata_documents_url(
    open_server: Server, documents: Documents
) -> None:
    address = f"doc-{uuid.uuid4().hex[:8]}@example.com"
    await register_user(open_server.url, address)
    path = f"/clients/{uuid.uuid4().hex}.json"
    client_id = documents.publish(path)
    for _ in range(2):  # fetched once, then kept
        verifier, challenge = pkce()
        url = authorize_url(open_server.url, client_id, challenge)
        async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
            page = await browser.get(url)
        assert "Document app" in page.text
        code = query_of(await allow(url, address))["code"]
        tokens = await exchange(open_server.url, client_id, code, verifier)
        assert tokens.status_code == 200, tokens.text
        assert (await mcp_status(open_server.url, tokens.json()["access_token"])).status_code == 200
    assert documents.requests.count(path) == 1


async def test_a_metadata_document_too_large_or_not_its_own_or_private_is_no_client(
    open_server: Server, server: Server, documents: Documents
) -> None:
    _, challenge = pkce()
    large = documents.publish("/large.json", client_name="x" * 6000)
    other = documents.publish("/other.json", {"client_id": "https://elsewhere.example/c.json"})
    missing = documents.base + "/missing.json"
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        for client_id in (large, other, missing):
            assert_error_page(
                await browser.get(authorize_url(open_server.url, client_id, challenge))
            )
        # Without WEBHOOK_ALLOW_PRIVATE_URLS, an http URL (and 127.0.0.1) is no document.
        fine = documents.publish("/fine.json")
        assert_error_page(await browser.get(authorize_url(server.url, fine, challenge)))
        https_private = "https://127.0.0.1:1/client.json"
        assert_error_page(await browser.get(authorize_url(server.url, https_private, challenge)))


async def test_a_wrong_password_shows_the_sign_in_page_again(server: Server, email: str) -> None:
    client = await register_client(server.url)
    _, challenge = pkce()
    url = authorize_url(server.url, client["client_id"], challenge)
    async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
        page = await browser.get(url)
        fields = {**form_fields(page.text), "email": email, "password": "wrong", "action": "signin"}
        again = await browser.post(f"{server.url}/oauth/authorize", data=fields)
        assert again.status_code == 401
        assert "location" not in again.headers
        assert "Incorrect email or password" in again.text
        assert 'name="password"' in again.text
        # Not signed in: Allow without a session is the sign-in page, never a code.
        allow_anyway = {**form_fields(again.text), "action": "allow"}
        refused = await browser.post(f"{server.url}/oauth/authorize", data=allow_anyway)
    assert refused.status_code == 200
    assert "location" not in refused.headers
    assert 'name="password"' in refused.text
