"""Passkeys through HTTP, on both databases, with a software authenticator (its answers as a
browser's): registration, sign-in with no password or email, list and delete, and every
refusal (a replayed answer, a cloned authenticator, a wrong or used challenge, another origin,
another user's challenge or passkey, a deleted passkey). A real browser's ceremonies are
tests/accounts/test_passkeys_browser.py."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from webauthn.helpers import bytes_to_base64url

from tests.accounts.authenticator import Authenticator
from tests.accounts.test_accounts import assert_tokens, signed_up
from tests.oauth.helpers import REDIRECT_URI, authorize_url, form_fields, pkce
from tests.support import app_for, assert_error, client_for, make_settings, validation_details
from todo_api.config import Settings

ORIGIN = "http://localhost:8000"


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    own = make_settings(settings.database_url or "", tmp_path / "data", public_url=ORIGIN)
    async with app_for(own) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


async def account(client: httpx.AsyncClient) -> dict[str, Any]:
    """A new account's tokens, and the headers that sign it in."""
    tokens = await signed_up(client, name="Ada")
    return {**tokens, "headers": {"Authorization": f"Bearer {tokens['access_token']}"}}


async def register_passkey(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    authenticator: Authenticator,
    name: str | None = "Laptop",
) -> dict[str, Any]:
    options = await client.post("/api/auth/passkeys/register/options", headers=headers)
    assert options.status_code == 200, options.text
    body: dict[str, Any] = {"credential": authenticator.create(options.json())}
    if name is not None:
        body["name"] = name
    created = await client.post("/api/auth/passkeys/register", headers=headers, json=body)
    assert created.status_code == 201, created.text
    passkey: dict[str, Any] = created.json()
    return passkey


async def login_options(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/api/auth/passkeys/login/options")
    assert answer.status_code == 200, answer.text
    options: dict[str, Any] = answer.json()
    return options


async def login(client: httpx.AsyncClient, credential: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/auth/passkeys/login", json={"credential": credential})


async def test_a_passkey_registered_signs_in_without_a_password(
    client: httpx.AsyncClient,
) -> None:
    ada = await account(client)
    options = await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    assert options.status_code == 200, options.text
    creation = options.json()
    assert creation["rp"] == {"id": "localhost", "name": "Tasks"}
    assert creation["user"]["name"] == ada["user"]["email"]
    assert creation["user"]["displayName"] == "Ada"
    assert creation["authenticatorSelection"]["residentKey"] == "preferred"
    assert creation["authenticatorSelection"]["userVerification"] == "preferred"
    assert creation["excludeCredentials"] == []
    authenticator = Authenticator(ORIGIN)
    created = await client.post(
        "/api/auth/passkeys/register",
        headers=ada["headers"],
        json={"name": " Laptop ", "credential": authenticator.create(creation)},
    )
    assert created.status_code == 201, created.text
    passkey = created.json()
    assert set(passkey) == {"id", "name", "created_at", "last_used_at"}
    assert passkey["name"] == "Laptop"
    assert passkey["last_used_at"] is None

    request = await login_options(client)
    assert request["rpId"] == "localhost"
    assert request["userVerification"] == "preferred"
    assert not request.get("allowCredentials")  # discoverable: no email asked, none listed
    tokens = assert_tokens(await login(client, authenticator.get(request)))
    assert tokens["user"] == ada["user"]
    me = await client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["id"] == ada["user"]["id"]
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_tokens(refreshed)
    [listed] = (await client.get("/api/auth/passkeys", headers=ada["headers"])).json()
    assert listed["id"] == passkey["id"]
    assert listed["last_used_at"] is not None

    # A second registration excludes the first: the authenticator says it holds one.
    again = await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    assert [c["id"] for c in again.json()["excludeCredentials"]] == [
        bytes_to_base64url(authenticator.credentials[0].id)
    ]


async def test_a_passkey_without_a_name_is_called_passkey(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    passkey = await register_passkey(client, ada["headers"], Authenticator(ORIGIN), name=None)
    assert passkey["name"] == "Passkey"


async def test_a_replayed_sign_in_is_refused(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    await register_passkey(client, ada["headers"], authenticator)
    answer = authenticator.get(await login_options(client))
    assert_tokens(await login(client, answer))
    assert_error(await login(client, answer), 401, "INVALID_CREDENTIALS")


async def test_a_signature_count_going_back_is_refused_as_a_clone(
    client: httpx.AsyncClient,
) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    await register_passkey(client, ada["headers"], authenticator)
    assert_tokens(await login(client, authenticator.get(await login_options(client))))
    assert_tokens(await login(client, authenticator.get(await login_options(client))))
    # A copy of the key, whose counter stayed behind: count 2 again, then 1.
    for count in (2, 1):
        clone = authenticator.get(await login_options(client), sign_count=count)
        assert_error(await login(client, clone), 401, "INVALID_CREDENTIALS")
    assert_tokens(await login(client, authenticator.get(await login_options(client))))


async def test_an_authenticator_that_does_not_count_signs_in_again_and_again(
    client: httpx.AsyncClient,
) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN, counts=False)
    await register_passkey(client, ada["headers"], authenticator)
    for _ in range(3):
        assert_tokens(await login(client, authenticator.get(await login_options(client))))


async def test_a_challenge_not_handed_out_is_refused(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    options = (
        await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    ).json()
    made_up = {**options, "challenge": bytes_to_base64url(uuid.uuid4().bytes * 2)}
    refused = await client.post(
        "/api/auth/passkeys/register",
        headers=ada["headers"],
        json={"credential": authenticator.create(made_up)},
    )
    assert validation_details(refused)[0]["field"] == "credential"
    await register_passkey(client, ada["headers"], authenticator)
    request = await login_options(client)
    made_up = {**request, "challenge": bytes_to_base64url(uuid.uuid4().bytes * 2)}
    assert_error(await login(client, authenticator.get(made_up)), 401, "INVALID_CREDENTIALS")
    # A registration's challenge does not sign in.
    registration_challenge = {**request, "challenge": options["challenge"]}
    assert_error(
        await login(client, authenticator.get(registration_challenge)), 401, "INVALID_CREDENTIALS"
    )


async def test_a_registration_answer_is_used_once(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    options = (
        await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    ).json()
    answer = {"credential": Authenticator(ORIGIN).create(options)}
    first = await client.post("/api/auth/passkeys/register", headers=ada["headers"], json=answer)
    assert first.status_code == 201, first.text
    again = await client.post("/api/auth/passkeys/register", headers=ada["headers"], json=answer)
    assert validation_details(again)[0]["field"] == "credential"


async def test_another_users_registration_challenge_is_refused(
    client: httpx.AsyncClient,
) -> None:
    ada, bob = await account(client), await account(client)
    options = (
        await client.post("/api/auth/passkeys/register/options", headers=bob["headers"])
    ).json()
    answer = {"credential": Authenticator(ORIGIN).create(options)}
    refused = await client.post("/api/auth/passkeys/register", headers=ada["headers"], json=answer)
    assert validation_details(refused)[0]["field"] == "credential"


async def test_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    options = (
        await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    ).json()
    credential = authenticator.create(options, origin="http://localhost.evil.example")
    refused = await client.post(
        "/api/auth/passkeys/register", headers=ada["headers"], json={"credential": credential}
    )
    assert validation_details(refused)[0]["field"] == "credential"
    await register_passkey(client, ada["headers"], authenticator)
    elsewhere = authenticator.get(await login_options(client), origin="http://evil.example")
    assert_error(await login(client, elsewhere), 401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize(
    "credential", [{}, {"id": "x"}, {"id": "AAAA", "rawId": "AAAA", "type": "public-key"}]
)
async def test_a_credential_that_is_not_one_is_refused(
    client: httpx.AsyncClient, credential: dict[str, Any]
) -> None:
    ada = await account(client)
    await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    refused = await client.post(
        "/api/auth/passkeys/register", headers=ada["headers"], json={"credential": credential}
    )
    assert validation_details(refused)[0]["field"] == "credential"
    assert_error(await login(client, credential), 401, "INVALID_CREDENTIALS")


async def test_a_bad_signature_is_refused(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    await register_passkey(client, ada["headers"], authenticator)
    answer = authenticator.get(await login_options(client))
    answer["response"]["signature"] = bytes_to_base64url(b"\x30\x06\x02\x01\x01\x02\x01\x01")
    assert_error(await login(client, answer), 401, "INVALID_CREDENTIALS")


async def test_a_deleted_passkey_signs_in_no_more(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    passkey = await register_passkey(client, ada["headers"], authenticator)
    deleted = await client.delete(f"/api/auth/passkeys/{passkey['id']}", headers=ada["headers"])
    assert deleted.status_code == 204, deleted.text
    assert (await client.get("/api/auth/passkeys", headers=ada["headers"])).json() == []
    answer = authenticator.get(await login_options(client))
    assert_error(await login(client, answer), 401, "INVALID_CREDENTIALS")
    again = await client.delete(f"/api/auth/passkeys/{passkey['id']}", headers=ada["headers"])
    assert_error(again, 404, "NOT_FOUND")


async def test_another_users_passkey_is_not_found(client: httpx.AsyncClient) -> None:
    ada, bob = await account(client), await account(client)
    passkey = await register_passkey(client, ada["headers"], Authenticator(ORIGIN))
    by_bob = await client.delete(f"/api/auth/passkeys/{passkey['id']}", headers=bob["headers"])
    assert_error(by_bob, 404, "NOT_FOUND")
    assert (await client.get("/api/auth/passkeys", headers=bob["headers"])).json() == []
    malformed = await client.delete("/api/auth/passkeys/not-an-id", headers=bob["headers"])
    assert_error(malformed, 404, "NOT_FOUND")
    assert len((await client.get("/api/auth/passkeys", headers=ada["headers"])).json()) == 1


async def test_a_passkey_is_registered_once(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    authenticator = Authenticator(ORIGIN)
    await register_passkey(client, ada["headers"], authenticator)
    options = (
        await client.post("/api/auth/passkeys/register/options", headers=ada["headers"])
    ).json()
    credential = authenticator.create(options, again=authenticator.credentials[0])
    twice = await client.post(
        "/api/auth/passkeys/register", headers=ada["headers"], json={"credential": credential}
    )
    assert_error(twice, 409, "CONFLICT")


async def test_passkeys_are_managed_with_a_session_only(client: httpx.AsyncClient) -> None:
    ada = await account(client)
    made = await client.post("/api/tokens", headers=ada["headers"], json={"name": "script"})
    assert made.status_code == 201, made.text
    personal = {"Authorization": f"Bearer {made.json()['token']}"}
    for method, path in [
        ("POST", "/api/auth/passkeys/register/options"),
        ("GET", "/api/auth/passkeys"),
        ("DELETE", f"/api/auth/passkeys/{uuid.uuid4()}"),
    ]:
        assert_error(await client.request(method, path, headers=personal), 403, "FORBIDDEN")
    assert_error(await client.post("/api/auth/passkeys/register/options"), 401, "UNAUTHORIZED")


async def test_without_public_url_passkeys_work_on_localhost_only(
    settings: Settings, tmp_path: Path
) -> None:
    own = make_settings(settings.database_url or "", tmp_path / "data")
    async with app_for(own) as app:
        transport = httpx.ASGITransport(app=app)
        local_url = "http://localhost:5173"
        async with httpx.AsyncClient(transport=transport, base_url=local_url) as local:
            options = await login_options(local)
            assert options["rpId"] == "localhost"
            ada = await account(local)
            authenticator = Authenticator(local_url)
            await register_passkey(local, ada["headers"], authenticator)
            assert_tokens(await login(local, authenticator.get(await login_options(local))))
        async with httpx.AsyncClient(transport=transport, base_url="http://tasks.test") as other:
            refused = await other.post("/api/auth/passkeys/login/options")
            assert_error(refused, 400, "INVALID_REQUEST")


async def test_passkey_sign_ins_are_limited(settings: Settings, tmp_path: Path) -> None:
    own = make_settings(
        settings.database_url or "",
        tmp_path / "data",
        public_url=ORIGIN,
        auth_rate_limit_attempts=2,
        auth_rate_limit_address_attempts=3,
    )
    async with app_for(own) as app, client_for(app) as client:
        answers = [await client.post("/api/auth/passkeys/login/options") for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert_error(answers[3], 429, "RATE_LIMITED")
        assert answers[3].headers["Retry-After"]
        tries = [await login(client, {"id": "x"}) for _ in range(4)]
        assert [t.status_code for t in tries] == [401, 401, 401, 429]


async def test_the_oauth_sign_in_page_takes_a_passkey(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as browser:
        ada = await account(browser)
        authenticator = Authenticator(ORIGIN)
        await register_passkey(browser, ada["headers"], authenticator)
        registered = await browser.post(
            "/oauth/register",
            json={
                "client_name": "Test app",
                "redirect_uris": [REDIRECT_URI],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
            },
        )
        assert registered.status_code == 201, registered.text
        _, challenge = pkce()
        url = authorize_url(ORIGIN, registered.json()["client_id"], challenge)
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        assert "Sign in with a passkey" in page.text
        policy = page.headers["content-security-policy"]
        nonce = policy.split("script-src 'nonce-")[1].split("'")[0]
        assert f'<script nonce="{nonce}">' in page.text
        fields = {**form_fields(page.text), "action": "passkey"}

        async def post(credential: object) -> httpx.Response:
            return await browser.post(
                "/oauth/authorize", data={**fields, "credential": json.dumps(credential)}
            )

        answer = authenticator.get(await login_options(browser))
        consent = await post(answer)
        assert consent.status_code == 200, consent.text
        assert "Connect Test app?" in consent.text
        assert ada["user"]["email"] in consent.text
        for refused in (answer, {"id": "x"}, "not an object"):  # a replay, then not one
            again = await post(refused)
            assert again.status_code == 401, again.text
            assert "The passkey was not accepted." in again.text


async def test_without_built_in_accounts_there_are_no_passkeys(
    settings: Settings, tmp_path: Path
) -> None:
    own = make_settings(
        settings.database_url or "", tmp_path / "data", public_url=ORIGIN, builtin_accounts=False
    )
    async with app_for(own) as app, client_for(app) as client:
        assert_error(await client.post("/api/auth/passkeys/login/options"), 404, "NOT_FOUND")
        schema = (await client.get("/openapi.json")).json()
        assert not [path for path in schema["paths"] if path.startswith("/api/auth/passkeys")]
