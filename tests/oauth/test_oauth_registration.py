"""Registration limits of the built-in authorization server (/oauth/register, RFC 7591): anyone
may register a client, so each address may do so 10 times a minute, and what one registration
stores is bounded. In process, on SQLite and PostgreSQL."""

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.oauth.helpers import REDIRECT_URI
from tests.support import app_factory, client_for
from todo_api.config import Settings

PUBLIC_URL = "http://test"


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    async with app_factory(settings.database_url, tmp_path, public_url=PUBLIC_URL) as make:
        yield make


def metadata(**fields: Any) -> dict[str, Any]:
    return {
        "client_name": "Test app",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        **fields,
    }


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> str:
    """OAuth's error shape (RFC 7591 §3.2.2) with this status and error; its description."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error
    assert body["error_description"]
    description: str = body["error_description"]
    return description


async def test_an_address_registers_ten_clients_a_minute_then_gets_429(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(auth_rate_limit_attempts=10, auth_rate_limit_window_seconds=60)
    async with client_for(app) as http:
        for _ in range(10):
            assert (await http.post("/oauth/register", json=metadata())).status_code == 201
        refused = await http.post("/oauth/register", json=metadata())
        # Refused registrations count too: a flood of bad bodies is a flood all the same.
        still = await http.post("/oauth/register", content=b"not json")
    assert_oauth_error(refused, 429, "temporarily_unavailable")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["cache-control"] == "no-store"
    assert_oauth_error(still, 429, "temporarily_unavailable")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"client_name": "x" * 201}, "client_name"),
        ({"redirect_uris": [f"{REDIRECT_URI}/{n}" for n in range(11)]}, "redirect_uris"),
        ({"redirect_uris": ["https://app.example/" + "x" * 1981]}, "redirect URI"),
        ({"client_uri": "https://app.example/" + "x" * 16 * 1024}, "16 KiB"),
    ],
    ids=["long-name", "eleven-uris", "long-uri", "large-body"],
)
async def test_metadata_past_its_bounds_is_invalid_client_metadata(
    make_app: Callable[..., FastAPI], fields: dict[str, Any], named: str
) -> None:
    async with client_for(make_app()) as http:
        refused = await http.post("/oauth/register", json=metadata(**fields))
    assert named in assert_oauth_error(refused, 400, "invalid_client_metadata")


async def test_metadata_at_its_bounds_is_taken(make_app: Callable[..., FastAPI]) -> None:
    longest_uri = "https://app.example/" + "x" * 1980
    assert len(longest_uri) == 2000
    uris = [longest_uri, *(f"{REDIRECT_URI}/{n}" for n in range(9))]
    body = metadata(client_name="x" * 200, redirect_uris=uris)
    body["client_uri"] = "https://app.example/" + "y" * (16 * 1024 - len(json.dumps(body)) - 40)
    content = json.dumps(body).encode()
    assert 16 * 1024 - 40 < len(content) <= 16 * 1024
    async with client_for(make_app()) as http:
        taken = await http.post(
            "/oauth/register", content=content, headers={"Content-Type": "application/json"}
        )
    assert taken.status_code == 201, taken.text
    assert taken.json()["redirect_uris"] == uris


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:1/callback#done",
        "http://user@127.0.0.1:1/callback",
        "http://user:secret@localhost/callback",
        "http://127.0.0.1:0/callback",
        "HTTP://127.0.0.1:1/callback",
        "Https://app.example/callback",
        "http://127.0.0.1:65536/callback",
        "http://example.com/callback",
    ],
)
async def test_a_redirect_uri_against_the_rules_is_invalid_redirect_uri(
    make_app: Callable[..., FastAPI], uri: str
) -> None:
    async with client_for(make_app()) as http:
        refused = await http.post("/oauth/register", json=metadata(redirect_uris=[uri]))
    assert uri in assert_oauth_error(refused, 400, "invalid_redirect_uri")
