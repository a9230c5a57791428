"""A reset through the emailed link proves the mailbox, through HTTP on both databases with a
real SMTP server: the email is verified from then on, and on an account whose email was not
verified before (someone may have registered another person's email first: the pre-hijack
case), everything its holder made goes with the sign-ins: personal tokens, apps' grants and
their tokens, passkeys, linked identity providers, two-factor, webhooks. A verified account
keeps them.
The same across two server processes is tests/accounts/test_recovery_server.py."""

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select

from tests.accounts.authenticator import Authenticator
from tests.accounts.helpers import (
    NEW_PASSWORD,
    TEMPLATE,
    bearer,
    link_token,
    log_in,
    mail_to,
    sign_up,
    to,
    two_factor_on,
    unique_email,
)
from tests.oauth.helpers import connect_in_process
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, assert_error, client_for
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.tables.oidc import oidc_identities

# Passkeys belong to PUBLIC_URL's host; the OAuth pages live there too.
ORIGIN = "http://localhost:8000"
ISSUER = "https://sso.example"


@pytest.fixture
async def make_app(
    settings: Settings, tmp_path: Path, box: Mailbox
) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        smtp_url=box.url,
        account_url_template=TEMPLATE,
        public_url=ORIGIN,
    ) as make:
        yield make


async def reset_by_email(client: httpx.AsyncClient, box: Mailbox, email: str) -> None:
    """The mailbox's owner asks for a link and sets a new password with it."""
    before = len(to(box, email))
    assert (
        await client.post("/api/auth/password/forgot", json={"email": email})
    ).status_code == 202
    message = (await mail_to(box, email, before + 1))[-1]
    done = await client.post(
        "/api/auth/password/reset",
        json={"token": link_token(message, "reset-password"), "password": NEW_PASSWORD},
    )
    assert done.status_code == 204, done.text


async def app_refresh(client: httpx.AsyncClient, connected: dict[str, Any]) -> httpx.Response:
    return await client.post(
        f"{ORIGIN}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": connected["refresh_token"],
            "client_id": connected["client_id"],
        },
    )


async def passkey_registered(client: httpx.AsyncClient, access_token: str) -> Authenticator:
    authenticator = Authenticator(ORIGIN)
    options = await client.post("/api/auth/passkeys/register/options", headers=bearer(access_token))
    assert options.status_code == 200, options.text
    created = await client.post(
        "/api/auth/passkeys/register",
        headers=bearer(access_token),
        json={"credential": authenticator.create(options.json())},
    )
    assert created.status_code == 201, created.text
    return authenticator


async def passkey_login(client: httpx.AsyncClient, authenticator: Authenticator) -> int:
    options = await client.post("/api/auth/passkeys/login/options")
    answer = authenticator.get(options.json())
    signed_in = await client.post("/api/auth/passkeys/login", json={"credential": answer})
    return signed_in.status_code


async def provider_linked(app: FastAPI, user_id: str) -> None:
    """A provider's person linked to the account. No sign-in through HTTP links one to an
    unverified account today; the row stands for one linked some other way (an older release,
    or the provider's email verified at the time)."""
    async with held(app, Database).connection() as conn:
        await conn.execute(
            insert(oidc_identities).values(
                issuer=ISSUER,
                subject=f"sub-{user_id}",
                user_id=uuid.UUID(user_id),
                created_at=utcnow(),
            )
        )


async def provider_links(app: FastAPI, user_id: str) -> int:
    async with held(app, Database).connection() as conn:
        found = await conn.execute(
            select(oidc_identities.c.subject).where(oidc_identities.c.user_id == uuid.UUID(user_id))
        )
        return len(found.rows)


async def test_a_reset_removes_what_the_holder_of_an_unverified_account_made(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    # Nobody proves the mailbox at registration; the squatter's webhook points nowhere.
    app = make_app(email_verification="off", webhook_allow_private_urls=True)
    async with client_for(app) as client:
        email = unique_email()
        squatter = await sign_up(client, email)
        user_id, access = squatter["user"]["id"], squatter["access_token"]
        made = await client.post("/api/tokens", json={"name": "kept"}, headers=bearer(access))
        personal = made.json()["token"]
        authenticator = await passkey_registered(client, access)
        secret = await two_factor_on(client, **bearer(access))
        # Connected after two-factor is on (turning it on ends the apps connected before).
        connected = await connect_in_process(client, ORIGIN, email, totp_secret=secret)
        await provider_linked(app, user_id)
        hook = await client.post(
            "/api/webhooks",
            json={"url": "http://127.0.0.1:1/hook", "events": ["task.created"]},
            headers=bearer(personal),
        )
        assert hook.status_code == 201, hook.text
        assert (await client.get("/api/tasks", headers=bearer(personal))).status_code == 200
        me = await client.get("/api/auth/me", headers=bearer(access))
        assert me.json()["email_verified"] is False
        assert me.json()["two_factor"] is True

        await reset_by_email(client, box, email)

        assert_error(await client.get("/api/tasks", headers=bearer(personal)), 401, "INVALID_TOKEN")
        mcp = await client.post(
            "/mcp",
            headers=bearer(connected["access_token"]),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
        assert mcp.status_code == 401
        refreshed = await app_refresh(client, connected)
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
        assert await passkey_login(client, authenticator) == 401
        assert await provider_links(app, user_id) == 0
        owner = await log_in(client, email, NEW_PASSWORD)
        assert owner.status_code == 200, owner.text
        assert "access_token" in owner.json()  # no second factor asked: two-factor is off
        auth = bearer(owner.json()["access_token"])
        me = await client.get("/api/auth/me", headers=auth)
        assert me.json()["email_verified"] is True
        assert me.json()["two_factor"] is False
        for listing in ("/api/tokens", "/api/connections", "/api/auth/passkeys", "/api/webhooks"):
            listed = await client.get(listing, headers=auth)
            assert listed.status_code == 200, listed.text
            assert listed.json() == [], listing


async def test_a_verified_account_keeps_its_tokens_apps_and_second_factor_through_a_reset(
    make_app: Callable[..., FastAPI], box: Mailbox
) -> None:
    app = make_app(email_verification="optional")
    async with client_for(app) as client:
        email = unique_email()
        owner = await sign_up(client, email)
        [link] = await mail_to(box, email)
        verified = await client.post(
            "/api/auth/email/verify", json={"token": link_token(link, "verify-email")}
        )
        assert verified.status_code == 200, verified.text
        user_id, access = owner["user"]["id"], owner["access_token"]
        made = await client.post("/api/tokens", json={"name": "kept"}, headers=bearer(access))
        personal = made.json()["token"]
        authenticator = await passkey_registered(client, access)
        secret = await two_factor_on(client, **bearer(access))
        # Connected after two-factor is on (turning it on ends the apps connected before).
        connected = await connect_in_process(client, ORIGIN, email, totp_secret=secret)
        await provider_linked(app, user_id)

        await reset_by_email(client, box, email)

        assert (await client.get("/api/tasks", headers=bearer(personal))).status_code == 200
        assert (await app_refresh(client, connected)).status_code == 200
        assert await passkey_login(client, authenticator) == 200
        assert await provider_links(app, user_id) == 1
        again = await log_in(client, email, NEW_PASSWORD)
        assert again.json().get("mfa_required") is True
