"""/oauth/token of the built-in authorization server, in process on SQLite and PostgreSQL:
every error code of RFC 6749 §5.2 provoked for real (so that a change of the endpoint cannot
drift from them), a grant type the server does not serve answered `unsupported_grant_type`,
and the limits per client address and per client (60 a minute each by default, then 429 with
Retry-After, in OAuth's shape)."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import sign_up, unique_email
from tests.oauth.helpers import REDIRECT_URI, connect_in_process
from tests.support import app_factory, client_for
from todo_api.config import Settings

PUBLIC_URL = "http://test"
NOT_SERVED = (
    "password",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "something-else",
)


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    async with app_factory(settings.database_url, tmp_path, public_url=PUBLIC_URL) as make:
        yield make


@pytest.fixture
async def http(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(make_app()) as client:
        yield client


def oauth_error(response: httpx.Response, status: int) -> str:
    """OAuth's error shape (RFC 6749 §5.2) with this status, as no cache keeps it: its code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error_description"]
    assert response.headers["cache-control"] == "no-store"
    error: str = body["error"]
    return error


async def register(http: httpx.AsyncClient, **metadata: Any) -> dict[str, Any]:
    body = {"client_name": "Test app", "redirect_uris": [REDIRECT_URI], **metadata}
    registered = await http.post("/oauth/register", json=body)
    assert registered.status_code == 201, registered.text
    client: dict[str, Any] = registered.json()
    return client


async def token(
    http: httpx.AsyncClient, auth: tuple[str, str] | None = None, **fields: str
) -> httpx.Response:
    return await http.post("/oauth/token", data=fields, auth=auth)


async def connected(http: httpx.AsyncClient, scope: str) -> dict[str, Any]:
    email = unique_email()
    await sign_up(http, email)
    return await connect_in_process(http, PUBLIC_URL, email, scope)


async def test_invalid_request_a_parameter_missing(http: httpx.AsyncClient) -> None:
    client = await register(http, token_endpoint_auth_method="none")
    missing_code = await token(
        http,
        grant_type="authorization_code",
        client_id=client["client_id"],
        redirect_uri=REDIRECT_URI,
        code_verifier="v" * 43,
    )
    assert oauth_error(missing_code, 400) == "invalid_request"
    no_grant_type = await token(http, client_id=client["client_id"], code="whatever")
    assert oauth_error(no_grant_type, 400) == "invalid_request"


async def test_invalid_client_unknown_or_a_wrong_secret(http: httpx.AsyncClient) -> None:
    confidential = await register(http)  # client_secret_basic, RFC 7591's default
    wrong_secret = await token(
        http,
        auth=(confidential["client_id"], "not-the-secret"),
        grant_type="refresh_token",
        refresh_token="todo_mcr_whatever",
    )
    assert oauth_error(wrong_secret, 401) == "invalid_client"
    unknown = await token(
        http, grant_type="refresh_token", refresh_token="x", client_id="no-such-client"
    )
    assert oauth_error(unknown, 401) == "invalid_client"


async def test_invalid_grant_a_code_or_refresh_token_that_is_none(http: httpx.AsyncClient) -> None:
    client = await register(http, token_endpoint_auth_method="none")
    code = await token(
        http,
        grant_type="authorization_code",
        client_id=client["client_id"],
        code="todo_mcc_not-a-code",
        redirect_uri=REDIRECT_URI,
        code_verifier="v" * 43,
    )
    assert oauth_error(code, 400) == "invalid_grant"
    refresh = await token(
        http, grant_type="refresh_token", client_id=client["client_id"], refresh_token="nope"
    )
    assert oauth_error(refresh, 400) == "invalid_grant"


async def test_unauthorized_client_a_grant_type_it_did_not_register(
    http: httpx.AsyncClient,
) -> None:
    client = await register(
        http, token_endpoint_auth_method="none", grant_types=["authorization_code"]
    )
    refresh = await token(
        http, grant_type="refresh_token", client_id=client["client_id"], refresh_token="x"
    )
    assert oauth_error(refresh, 400) == "unauthorized_client"


async def test_unsupported_grant_type_for_every_grant_the_server_does_not_serve(
    http: httpx.AsyncClient,
) -> None:
    public = await register(http, token_endpoint_auth_method="none")
    confidential = await register(http)
    for grant_type in NOT_SERVED:
        for answer in (
            await token(
                http,
                grant_type=grant_type,
                client_id=public["client_id"],
                username="ada@example.com",
                password="correct horse battery staple",
                assertion="eyJ.x.y",
            ),
            await token(
                http,
                auth=(confidential["client_id"], confidential["client_secret"]),
                grant_type=grant_type,
            ),
        ):
            assert oauth_error(answer, 400) == "unsupported_grant_type", grant_type
            assert "Input tag" not in answer.json()["error_description"]


async def test_invalid_scope_a_refresh_asking_for_more_than_was_granted(
    http: httpx.AsyncClient,
) -> None:
    granted = await connected(http, "tasks:read")
    assert granted["scope"] == "tasks:read"
    wider = await token(
        http,
        grant_type="refresh_token",
        client_id=granted["client_id"],
        refresh_token=granted["refresh_token"],
        scope="tasks:read tasks:write",
    )
    assert oauth_error(wider, 400) == "invalid_scope"
    same = await token(
        http,
        grant_type="refresh_token",
        client_id=granted["client_id"],
        refresh_token=granted["refresh_token"],
        scope="tasks:read",
    )
    assert same.status_code == 200, same.text


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)


async def test_token_requests_are_limited_per_address_and_per_client(
    make_app: Callable[..., FastAPI],
) -> None:
    """60 a minute from one address, then 429; the client those went to is at its own 60, so
    it is refused from any other address too, while another client is not."""
    app = make_app(auth_rate_limit_attempts=10, auth_rate_limit_window_seconds=60)
    async with (
        from_address(app, "203.0.113.1") as first,
        from_address(app, "198.51.100.2") as elsewhere,
    ):
        busy = await register(first, token_endpoint_auth_method="none")
        quiet = await register(elsewhere, token_endpoint_auth_method="none")

        async def refresh(http: httpx.AsyncClient, client: dict[str, Any]) -> httpx.Response:
            return await token(
                http, grant_type="refresh_token", client_id=client["client_id"], refresh_token="x"
            )

        for _ in range(60):
            assert oauth_error(await refresh(first, busy), 400) == "invalid_grant"
        for refused in (await refresh(first, busy), await refresh(first, quiet)):
            assert oauth_error(refused, 429) == "temporarily_unavailable"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
        per_client = await refresh(elsewhere, busy)
        assert oauth_error(per_client, 429) == "temporarily_unavailable"
        assert 1 <= int(per_client.headers["retry-after"]) <= 60
        assert oauth_error(await refresh(elsewhere, quiet), 400) == "invalid_grant"
