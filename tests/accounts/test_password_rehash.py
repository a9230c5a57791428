"""Hashes keep up with the settings, through HTTP on both databases: an account made while
PASSWORD_HASH_MEMORY_KIB/PASSWORD_HASH_ITERATIONS said one cost, signed in with its password
after they say another (the service restarted), has its hash made again at the new cost,
whichever page checked the password (the API's login, the OAuth sign-in page, the web app's
sign-in); it still signs in, and a wrong password changes nothing."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import PASSWORD, log_in, sign_up
from tests.accounts.test_accounts import stored_hash
from tests.oauth.helpers import authorize_url, form_fields, pkce
from tests.support import MIN_HASH_ITERATIONS, MIN_HASH_MEMORY_KIB, app_factory, client_for
from todo_api.config import Settings

BASE = "http://test"
FIRST = f"$argon2id$v=19$m={MIN_HASH_MEMORY_KIB},t={MIN_HASH_ITERATIONS},p=4$"
NOW = f"$argon2id$v=19$m={MIN_HASH_MEMORY_KIB + 1024},t={MIN_HASH_ITERATIONS + 1},p=4$"


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, public_url=BASE, email_verification="off"
    ) as make:
        yield make


async def by_the_api(client: httpx.AsyncClient, email: str, password: str) -> bool:
    return (await log_in(client, email, password)).status_code == 200


async def on_the_oauth_page(client: httpx.AsyncClient, email: str, password: str) -> bool:
    registered = await client.post(
        "/oauth/register",
        json={
            "client_name": "Test app",
            "redirect_uris": ["http://127.0.0.1:1/callback"],
            "token_endpoint_auth_method": "none",
        },
    )
    _verifier, challenge = pkce()
    page = await client.get(authorize_url(BASE, registered.json()["client_id"], challenge))
    fields = {**form_fields(page.text), "email": email, "password": password}
    consent = await client.post("/oauth/authorize", data={**fields, "action": "signin"})
    return f"Signed in as {email}" in consent.text


async def on_the_web_app(client: httpx.AsyncClient, email: str, password: str) -> bool:
    page = await client.get("/app/signin")
    fields = {**form_fields(page.text), "email": email, "password": password}
    return (await client.post("/app/signin", data=fields)).status_code == 303


SignIn = Callable[[httpx.AsyncClient, str, str], Awaitable[bool]]


@pytest.mark.parametrize(
    "sign_in", [by_the_api, on_the_oauth_page, on_the_web_app], ids=["api", "oauth-page", "web-app"]
)
async def test_a_sign_in_hashes_the_password_again_at_the_cost_the_settings_say_now(
    make_app: Callable[..., FastAPI], sign_in: SignIn
) -> None:
    before = make_app()
    async with client_for(before) as client:
        account = await sign_up(client)
    user_id, email = account["user"]["id"], account["user"]["email"]
    assert (await stored_hash(before, user_id)).startswith(FIRST)

    now = make_app(
        password_hash_memory_kib=MIN_HASH_MEMORY_KIB + 1024,
        password_hash_iterations=MIN_HASH_ITERATIONS + 1,
    )
    async with client_for(now) as client:
        assert not await sign_in(client, email, "not the password")
        assert (await stored_hash(now, user_id)).startswith(FIRST)  # a wrong one changes nothing
    async with client_for(now) as client:
        assert await sign_in(client, email, PASSWORD)
    rehashed = await stored_hash(now, user_id)
    assert rehashed.startswith(NOW)
    async with client_for(now) as client:
        assert await sign_in(client, email, PASSWORD)  # the new hash signs in
    assert await stored_hash(now, user_id) == rehashed  # and is not made again
    async with client_for(before) as client:
        assert await by_the_api(client, email, PASSWORD)
