"""EMAIL_VERIFICATION=required holds on every request, through HTTP on both databases: an
account whose email is not confirmed gets 403 EMAIL_NOT_VERIFIED for its access and refresh
tokens, personal tokens, an app's (OAuth) tokens, CalDAV and MCP, but for GET /api/auth/me and
logout; switching to `required` (a restart with it) holds for the tokens minted before; the
confirmation counts from the next request on every process. A real SMTP server catches the
emails."""

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.authenticator import Authenticator
from tests.accounts.helpers import (
    PASSWORD,
    TEMPLATE,
    bearer,
    link_token,
    mail_to,
    sign_up,
    unique_email,
)
from tests.oauth.helpers import (
    REDIRECT_URI,
    authorize_url,
    form_fields,
    pkce,
    query_of,
    refresh_in_process,
)
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, assert_error, client_for
from todo_api.config import Settings

BASE = "http://test"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
async def make_app(
    settings: Settings, tmp_path: Path, box: Mailbox
) -> AsyncIterator[Callable[..., FastAPI]]:
    """Apps on one database: `make_app(email_verification=...)` is the service restarted with
    that setting."""
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        public_url=BASE,
        smtp_url=box.url,
        account_url_template=TEMPLATE,
    ) as make:
        yield make


async def app_token(client: httpx.AsyncClient, email: str) -> str:
    """An AI app's access token (for /mcp), allowed on the sign-in page by `email`'s user."""
    access: str = (await app_grant(client, email))["access_token"]
    return access


async def app_grant(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """An AI app allowed on the sign-in page by `email`'s user: its first tokens and client id."""
    registered = await client.post(
        "/oauth/register",
        json={
            "client_name": "Test app",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier, challenge = pkce()
    page = await client.get(authorize_url(BASE, client_id, challenge))
    fields = {**form_fields(page.text), "email": email, "password": PASSWORD}
    page = await client.post("/oauth/authorize", data={**fields, "action": "signin"})
    done = await client.post("/oauth/authorize", data={**form_fields(page.text), "action": "allow"})
    assert done.status_code == 303, done.text
    tokens = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(done.headers["location"])["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": f"{BASE}/mcp",
        },
    )
    assert tokens.status_code == 200, tokens.text
    return {**tokens.json(), "client_id": client_id}


def basic(personal_token: str) -> dict[str, str]:
    encoded = base64.b64encode(f"any:{personal_token}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def credentials(client: httpx.AsyncClient) -> dict[str, Any]:
    """An account (not confirmed) with each kind of credential."""
    signed_in = await sign_up(client)
    auth = bearer(signed_in["access_token"])
    personal = await client.post("/api/tokens", json={"name": "script"}, headers=auth)
    assert personal.status_code == 201, personal.text
    return {
        **signed_in,
        "email": signed_in["user"]["email"],
        "personal": personal.json()["token"],
        "app": await app_token(client, signed_in["user"]["email"]),
    }


async def refused_everywhere(client: httpx.AsyncClient, held: dict[str, Any]) -> None:
    access, personal = bearer(held["access_token"]), bearer(held["personal"])
    for headers in (access, personal):
        assert_error(await client.get("/api/tasks", headers=headers), 403, "EMAIL_NOT_VERIFIED")
        created = await client.post("/api/tasks", json={"title": "x"}, headers=headers)
        assert_error(created, 403, "EMAIL_NOT_VERIFIED")
    sessions = await client.get("/api/auth/sessions", headers=access)
    assert_error(sessions, 403, "EMAIL_NOT_VERIFIED")
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": held["refresh_token"]}
    )
    assert_error(refreshed, 403, "EMAIL_NOT_VERIFIED")
    dav = await client.request(
        "PROPFIND", "/dav/", headers={**basic(held["personal"]), "Depth": "0"}
    )
    assert dav.status_code == 403, dav.text
    for token in (held["app"], held["personal"]):
        mcp = await client.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **bearer(token)})
        assert_error(mcp, 403, "EMAIL_NOT_VERIFIED")


async def test_switching_to_required_refuses_an_unconfirmed_accounts_credentials(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_for(make_app()) as optional:  # before: optional
        held = await credentials(optional)
        assert (
            await optional.get("/api/tasks", headers=bearer(held["personal"]))
        ).status_code == 200
    # Restarted with `required` (two processes of it): the tokens minted before are refused.
    one, two = make_app(email_verification="required"), make_app(email_verification="required")
    async with client_for(one) as on_one, client_for(two) as on_two:
        await refused_everywhere(on_one, held)
        await refused_everywhere(on_two, held)
        me = await on_one.get("/api/auth/me", headers=bearer(held["access_token"]))
        assert me.status_code == 200, me.text
        assert me.json()["email_verified"] is False

        # Confirmed through the first process: the second takes every credential again.
        resent = await on_one.post("/api/auth/email/resend", json={"email": held["email"]})
        assert resent.status_code == 202
        [*_, message] = await mail_to(
            box, held["email"], 2
        )  # the link of registering, then this one
        verified = await on_one.post(
            "/api/auth/email/verify", json={"token": link_token(message, "verify-email")}
        )
        assert verified.status_code == 200, verified.text
        for headers in (bearer(held["access_token"]), bearer(held["personal"])):
            assert (await on_two.get("/api/tasks", headers=headers)).status_code == 200
        dav = await on_two.request(
            "PROPFIND", "/dav/", headers={**basic(held["personal"]), "Depth": "0"}
        )
        assert dav.status_code == 207, dav.text
        refreshed = await on_two.post(
            "/api/auth/refresh", json={"refresh_token": held["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text


async def test_logout_stays_open_to_an_unconfirmed_account(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app()) as optional:
        held = await sign_up(optional)
    async with client_for(make_app(email_verification="required")) as required:
        auth = bearer(held["access_token"])
        logout = await required.post(
            "/api/auth/logout", json={"refresh_token": held["refresh_token"]}, headers=auth
        )
        assert logout.status_code == 204, logout.text
        assert_error(await required.get("/api/auth/me", headers=auth), 401, "INVALID_TOKEN")


async def test_a_confirmed_account_is_not_refused_under_required(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_for(make_app(email_verification="required")) as client:
        email = unique_email()
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 202, registered.text
        [message] = await mail_to(box, email)
        verified = await client.post(
            "/api/auth/email/verify", json={"token": link_token(message, "verify-email")}
        )
        assert verified.status_code == 200, verified.text
        login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = bearer(login.json()["access_token"])
        for _ in range(2):
            assert (await client.get("/api/tasks", headers=auth)).status_code == 200


async def test_a_passkey_does_not_sign_an_unconfirmed_account_in_under_required(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app()) as optional:  # before: optional, a passkey registered
        held = await sign_up(optional)
        authenticator = Authenticator(BASE)
        auth = bearer(held["access_token"])
        options = await optional.post("/api/auth/passkeys/register/options", headers=auth)
        created = await optional.post(
            "/api/auth/passkeys/register",
            headers=auth,
            json={"credential": authenticator.create(options.json())},
        )
        assert created.status_code == 201, created.text
    async with client_for(make_app(email_verification="required")) as required:
        options = await required.post("/api/auth/passkeys/login/options")
        answer = authenticator.get(options.json())
        signed_in = await required.post("/api/auth/passkeys/login", json={"credential": answer})
        assert_error(signed_in, 403, "EMAIL_NOT_VERIFIED")


async def test_an_unconfirmed_accounts_app_refresh_token_is_refused_at_oauth_token(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    async with client_for(make_app()) as optional:  # before: optional
        signed_in = await sign_up(optional)
        email = signed_in["user"]["email"]
        grant = await app_grant(optional, email)
    async with client_for(make_app(email_verification="required")) as required:
        # Refused in OAuth's shape, again and again: nothing rotates, the grant is kept.
        for _ in range(2):
            refused = await refresh_in_process(required, grant)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"] == "invalid_grant"
            assert set(refused.json()) == {"error", "error_description"}
        resent = await required.post("/api/auth/email/resend", json={"email": email})
        assert resent.status_code == 202
        [*_, message] = await mail_to(box, email, 2)
        verified = await required.post(
            "/api/auth/email/verify", json={"token": link_token(message, "verify-email")}
        )
        assert verified.status_code == 200, verified.text
        # Confirmed: the same refresh token (never used) rotates, and its successor works.
        rotated = await refresh_in_process(required, grant)
        assert rotated.status_code == 200, rotated.text
        again = await refresh_in_process(required, {**grant, **rotated.json()})
        assert again.status_code == 200, again.text
