"""Signing in with an OpenID Connect provider, and REGISTRATION=open|invite|closed, on both
databases.

Against a real OpenID provider (npm `oidc-provider`, a certified implementation, started by the
test on 127.0.0.1 with tests/oidc_provider/provider.mjs; its npm dependencies are installed once
per machine into the ignored tests/oidc_provider/node_modules). A "browser" (an httpx client
with its own cookies) follows the redirects: this service's start, the provider's sign-in (a
GET with the person's claims, see provider.mjs), back to the callback, on to the frontend's
page with a one-time code, which the frontend exchanges for tokens.
"""

import base64
import hashlib
import html
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.accounts.helpers import TEMPLATE, link_token, mail_to, two_factor_on
from tests.dav.helpers import npm_installed
from tests.helpers_server import free_port, node_running
from tests.lists.sharing import invite
from tests.oauth.helpers import form_fields
from tests.reminders.smtp import mailbox
from tests.support import app_factory, assert_error, client_for, token_for
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.tables.oidc import oidc_codes
from todo_api.tables.users import users

PROVIDER_DIR = Path(__file__).resolve().parent.parent / "oidc_provider"
PUBLIC_URL = "http://test"
CALLBACK = f"{PUBLIC_URL}/api/auth/oidc/callback"
CLIENT_SECRET = secrets.token_urlsafe(24)
FRONTEND = "http://localhost:3000/signed-in"  # FRONTEND_URL's default origin in development
PASSWORD = "correct horse battery staple"


@contextmanager
def provider(callback: str) -> Iterator[str]:
    """The test OpenID provider (tests/oidc_provider, its client's secret CLIENT_SECRET)
    sending people back to `callback`: its issuer URL."""
    folder = npm_installed(PROVIDER_DIR, "oidc-provider")
    port = free_port()
    args = ("provider.mjs", str(port), callback, CLIENT_SECRET)
    with node_running(folder, *args, ready="ready", name="the OpenID provider"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """A running OpenID provider's issuer URL."""
    with provider(CALLBACK) as url:
        yield url


def signing_in_at(issuer: str) -> dict[str, str]:
    """The settings of a service signing people in at the test provider (`issuer`)."""
    return {
        "public_url": PUBLIC_URL,
        "oidc_issuer": issuer,
        "oidc_client_id": "todo-api",
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_name": "Example SSO",
    }


@pytest.fixture
async def make_app(
    settings: Settings, tmp_path: Path, issuer: str
) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path, **signing_in_at(issuer)) as make:
        yield make


@dataclass
class Person:
    """Someone at the provider."""

    sub: str
    email: str
    email_verified: bool = True
    name: str = "Ada Lovelace"


def person(**fields: Any) -> Person:
    tag = secrets.token_hex(6)
    values: dict[str, Any] = {"sub": f"sub-{tag}", "email": f"ada-{tag}@example.com", **fields}
    return Person(**values)


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def to_provider(browser: httpx.AsyncClient, redirect: str = FRONTEND, **extra: str) -> str:
    """The browser opens this service's start: the provider's authorization URL it is sent to."""
    response = await browser.get("/api/auth/oidc/start", params={"redirect": redirect, **extra})
    assert response.status_code == 302, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.headers["location"]


async def sign_in_at_provider(authorize_url: str, who: Person) -> str:
    """The provider's side, as a browser goes through it: the callback URL it is sent back to."""
    base = "{0.scheme}://{0.netloc}".format(urlsplit(authorize_url))
    async with httpx.AsyncClient(
        base_url=base, follow_redirects=False, trust_env=False, timeout=30
    ) as browser:
        response = await browser.get(authorize_url)
        assert response.status_code in (302, 303), response.text
        interaction = response.headers["location"]
        assert interaction.startswith("/interaction/"), interaction
        login = {
            "sub": who.sub,
            "email": who.email,
            "email_verified": "true" if who.email_verified else "false",
            "name": who.name,
        }
        response = await browser.get(f"{interaction}/login", params=login)
        for _ in range(5):
            assert response.status_code in (302, 303), response.text
            location = response.headers["location"]
            if location.startswith(CALLBACK):
                return location
            response = await browser.get(location)
    raise AssertionError("the provider did not send the browser back")


async def back_from_provider(browser: httpx.AsyncClient, callback_url: str) -> dict[str, str]:
    """The browser comes back to the callback: the query it is sent to the frontend with."""
    response = await browser.get(callback_url.removeprefix(PUBLIC_URL))
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(FRONTEND + "?"), location
    return query(location)


async def sign_in(app: FastAPI, who: Person, **extra: str) -> dict[str, str]:
    """A whole trip: what the frontend's page gets (`code` or `error`)."""
    async with client_for(app) as browser:
        callback = await sign_in_at_provider(await to_provider(browser, **extra), who)
        return await back_from_provider(browser, callback)


async def exchange(app: FastAPI, code: str) -> httpx.Response:
    async with client_for(app) as frontend:
        return await frontend.post("/api/auth/oidc/exchange", json={"code": code})


async def signed_in_as(app: FastAPI, who: Person, **extra: str) -> dict[str, Any]:
    """Sign in and exchange the code: the tokens."""
    answer = await sign_in(app, who, **extra)
    assert "code" in answer, answer
    response = await exchange(app, answer["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens: dict[str, Any] = response.json()
    return tokens


async def me(app: FastAPI, access_token: str) -> dict[str, Any]:
    async with client_for(app, access_token) as client:
        response = await client.get("/api/auth/me")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def register(app: FastAPI, email: str, **extra: Any) -> httpx.Response:
    async with client_for(app) as client:
        return await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, **extra}
        )


async def mark_verified(app: FastAPI, email: str) -> None:
    async with held(app, Database).connection() as conn:
        await conn.execute(update(users).where(users.c.email == email).values(email_verified=True))


async def with_two_factor(app: FastAPI) -> tuple[Person, str, str]:
    """Someone at the provider whose account here (made with a password, its email confirmed)
    has two-factor on: them, their account's id and the secret of their codes."""
    ada = person()
    registered = await register(app, ada.email)
    assert registered.status_code == 201, registered.text
    await mark_verified(app, ada.email)
    body = registered.json()
    async with client_for(app, body["access_token"]) as owner:
        return ada, body["user"]["id"], await two_factor_on(owner)


async def test_a_first_sign_in_makes_an_account_and_the_next_one_opens_it(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    ada = person()
    async with client_for(app) as browser:
        authorize = await to_provider(browser)
        asked = query(authorize)
        # Code flow, PKCE S256, state and nonce, to the endpoint the metadata names.
        assert authorize.startswith(held(app, Settings).oidc_issuer + "/auth?")  # type: ignore[operator]
        assert asked["response_type"] == "code"
        assert asked["client_id"] == "todo-api"
        assert asked["redirect_uri"] == CALLBACK
        assert asked["code_challenge_method"] == "S256"
        assert len(asked["code_challenge"]) == 43
        assert len(asked["state"]) >= 20
        assert len(asked["nonce"]) >= 20
        assert set(asked["scope"].split()) == {"openid", "email", "profile"}
        answer = await back_from_provider(browser, await sign_in_at_provider(authorize, ada))
    assert set(answer) == {"code"}
    response = await exchange(app, answer["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token", "user"}
    assert tokens["user"]["email"] == ada.email
    assert tokens["user"]["name"] == ada.name
    profile = await me(app, tokens["access_token"])
    assert profile["id"] == tokens["user"]["id"]
    # The refresh token works as a login's does.
    async with client_for(app) as client:
        refreshed = await client.post(
            "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
    assert refreshed.status_code == 200, refreshed.text
    # The same person again, with another email at the provider: the same account (by subject).
    again = await signed_in_as(app, Person(ada.sub, f"new-{ada.email}"))
    assert again["user"]["id"] == tokens["user"]["id"]
    async with held(app, Database).connection() as conn:
        row = (
            await conn.execute(select(users).where(users.c.id == uuid.UUID(profile["id"])))
        ).one()
    assert row.email_verified
    assert row.password_hash is None


async def test_start_sends_the_browser_only_to_the_frontend_or_this_service(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    async with client_for(app) as browser:
        for redirect in [
            "https://evil.example/signed-in",
            "http://localhost:3001/signed-in",
            "http://localhost:3000@evil.example/",
            "javascript:alert(1)",
            "/relative",
        ]:
            response = await browser.get("/api/auth/oidc/start", params={"redirect": redirect})
            assert_error(response, 400, "INVALID_REQUEST")
        response = await browser.get("/api/auth/oidc/start")
        assert_error(response, 400, "VALIDATION_ERROR")
        for redirect in [f"{PUBLIC_URL}/account", "http://127.0.0.1:3000/x?y=1"]:
            response = await browser.get("/api/auth/oidc/start", params={"redirect": redirect})
            assert response.status_code == 302, response.text


async def test_a_verified_email_links_to_the_account_that_verified_it(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    ada = person()
    registered = await register(app, ada.email)
    assert registered.status_code == 201, registered.text
    await mark_verified(app, ada.email)
    tokens = await signed_in_as(app, ada)
    assert tokens["user"]["id"] == registered.json()["user"]["id"]
    # Linked: the password still works, and the next sign-in finds the account by subject.
    async with client_for(app) as client:
        login = await client.post(
            "/api/auth/login", json={"email": ada.email, "password": PASSWORD}
        )
    assert login.status_code == 200, login.text
    again = await signed_in_as(app, Person(ada.sub, f"other-{ada.email}"))
    assert again["user"]["id"] == registered.json()["user"]["id"]


@pytest.mark.parametrize(
    ("provider_verified", "account_verified"),
    [(False, True), (True, False), (False, False)],
    ids=["provider-unverified", "account-unverified", "neither"],
)
async def test_an_email_not_verified_on_both_sides_never_opens_an_account(
    make_app: Callable[..., FastAPI], provider_verified: bool, account_verified: bool
) -> None:
    app = make_app()
    ada = person(email_verified=provider_verified)
    registered = await register(app, ada.email)
    assert registered.status_code == 201, registered.text
    if account_verified:
        await mark_verified(app, ada.email)
    assert await sign_in(app, ada) == {"error": "account_exists"}
    # Nothing was linked or made: the account's owner is still the only way in.
    assert await sign_in(app, ada) == {"error": "account_exists"}


async def test_an_unverified_email_makes_an_account_that_says_so(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    ada = person(email_verified=False)
    tokens = await signed_in_as(app, ada)
    assert tokens["user"]["email"] == ada.email
    async with held(app, Database).connection() as conn:
        row = (await conn.execute(select(users).where(users.c.email == ada.email))).one()
    assert not row.email_verified


async def test_a_wrong_state_or_no_sign_in_under_way_is_refused(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    ada = person()
    async with client_for(app) as browser:
        callback = await sign_in_at_provider(await to_provider(browser), ada)
        params = query(callback)
        forged = {**params, "state": params["state"][:-2] + "xx"}
        response = await browser.get("/api/auth/oidc/callback", params=forged)
        assert response.status_code == 302
        assert query(response.headers["location"]) == {"error": "invalid_state"}
        # The sign-in under way ended with it: the real answer finds nothing to finish.
        response = await browser.get(callback.removeprefix(PUBLIC_URL))
        assert_error(response, 400, "INVALID_REQUEST")
    # Another browser (a sign-in forced on someone): no sign-in of its own under way.
    async with client_for(app) as stranger:
        response = await stranger.get(callback.removeprefix(PUBLIC_URL))
        assert_error(response, 400, "INVALID_REQUEST")
    async with held(app, Database).connection() as conn:
        made = (await conn.execute(select(users.c.id).where(users.c.email == ada.email))).first()
    assert made is None


async def test_the_provider_saying_no_reaches_the_frontend(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    async with client_for(app) as browser:
        state = query(await to_provider(browser))["state"]
        response = await browser.get(
            "/api/auth/oidc/callback", params={"state": state, "error": "access_denied"}
        )
    assert response.status_code == 302
    assert query(response.headers["location"]) == {"error": "access_denied"}


async def test_an_answer_from_another_issuer_is_refused(
    make_app: Callable[..., FastAPI],
) -> None:
    """RFC 9207: the provider names itself in its answer (`iss`); another name is a mix-up."""
    app = make_app()
    async with client_for(app) as browser:
        callback = await sign_in_at_provider(await to_provider(browser), person())
        params = query(callback)
        assert params["iss"] == held(app, Settings).oidc_issuer
        forged = {**params, "iss": "https://elsewhere.example"}
        response = await browser.get("/api/auth/oidc/callback", params=forged)
    assert response.status_code == 302
    assert query(response.headers["location"]) == {"error": "provider_error"}


async def test_a_code_is_exchanged_once(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    answer = await sign_in(app, person())
    first = await exchange(app, answer["code"])
    assert first.status_code == 200, first.text
    assert_error(await exchange(app, answer["code"]), 401, "INVALID_CREDENTIALS")
    assert_error(await exchange(app, secrets.token_urlsafe(32)), 401, "INVALID_CREDENTIALS")


async def test_a_code_expires_after_a_minute(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    answer = await sign_in(app, person())
    async with held(app, Database).connection() as conn:
        # Kept as its SHA-256 only, for a minute.
        mine = oidc_codes.c.code_hash == hashlib.sha256(answer["code"].encode()).hexdigest()
        row = (await conn.execute(select(oidc_codes.c.expires_at).where(mine))).one()
        assert 55 < (row.expires_at - utcnow()).total_seconds() <= 60
        await conn.execute(update(oidc_codes).where(mine).values(expires_at=utcnow()))
    assert_error(await exchange(app, answer["code"]), 401, "INVALID_CREDENTIALS")


async def test_registration_closed_refuses_every_new_account(
    make_app: Callable[..., FastAPI],
) -> None:
    open_app, closed = make_app(), make_app(registration="closed")
    known = person()
    linked = await signed_in_as(open_app, known)  # an account made while registration was open
    assert await sign_in(closed, person()) == {"error": "registration_closed"}
    assert_error(await register(closed, person().email), 403, "FORBIDDEN")
    # Accounts that exist still sign in.
    again = await signed_in_as(closed, known)
    assert again["user"]["id"] == linked["user"]["id"]


async def test_registration_by_invitation_joins_the_list(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(registration="invite")
    settings = held(app, Settings)
    async with client_for(app, token_for(settings)) as owner:
        created = await owner.post("/api/lists", json={"name": "Shared"})
        assert created.status_code == 201, created.text
        list_id = created.json()["id"]
        tokens = [await invite(owner, list_id) for _ in range(2)]
    # Without an invitation, or with one that is not good: refused, no account left behind.
    email = person().email
    assert_error(await register(app, email), 403, "FORBIDDEN")
    assert_error(await register(app, email, invitation="not-a-token"), 403, "FORBIDDEN")
    response = await register(app, email, invitation=tokens[0])
    assert response.status_code == 201, response.text
    async with client_for(app, response.json()["access_token"]) as member:
        lists = (await member.get("/api/lists")).json()
    assert list_id in {item["id"] for item in lists}
    # The identity provider's first sign-in: the invitation travels with the trip.
    assert await sign_in(app, person()) == {"error": "invitation_required"}
    assert await sign_in(app, person(), invitation="not-a-token") == {
        "error": "invitation_required"
    }
    ada = person()
    joined = await signed_in_as(app, ada, invitation=tokens[1])
    async with client_for(app, joined["access_token"]) as member:
        lists = (await member.get("/api/lists")).json()
    assert list_id in {item["id"] for item in lists}


async def test_the_oauth_sign_in_page_offers_the_provider(
    make_app: Callable[..., FastAPI],
) -> None:
    """An AI app's sign-in page (/oauth/authorize): the button goes to the provider and back to
    the page, signed in, which then asks to allow the app."""
    app = make_app()
    ada = person()
    async with client_for(app) as browser:
        registered = await browser.post(
            "/oauth/register",
            json={
                "client_name": "Test app",
                "redirect_uris": ["http://127.0.0.1:1/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            },
        )
        assert registered.status_code == 201, registered.text
        challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode()
        params = {
            "response_type": "code",
            "client_id": registered.json()["client_id"],
            "redirect_uri": "http://127.0.0.1:1/callback",
            "state": "app-state",
            "code_challenge": challenge.rstrip("="),
            "code_challenge_method": "S256",
        }
        page = await browser.get("/oauth/authorize", params=params)
        assert page.status_code == 200, page.text
        found = re.search(
            r'<a class="provider" href="([^"]+)">Sign in with Example SSO</a>', page.text
        )
        assert found is not None, page.text
        start = html.unescape(found.group(1)).removeprefix(PUBLIC_URL)
        response = await browser.get(start)
        assert response.status_code == 302, response.text
        callback = await sign_in_at_provider(response.headers["location"], ada)
        response = await browser.get(callback.removeprefix(PUBLIC_URL))
        assert response.status_code == 302, response.text
        back = response.headers["location"]
        assert back.startswith(f"{PUBLIC_URL}/oauth/authorize?")
        assert "code" in query(back)
        response = await browser.get(back.removeprefix(PUBLIC_URL))
        assert response.status_code == 303, response.text
        assert "code" not in query(response.headers["location"])
        consent = await browser.get(response.headers["location"].removeprefix(PUBLIC_URL))
        assert consent.status_code == 200, consent.text
        assert f"Signed in as {ada.email}" in consent.text
        assert 'value="allow"' in consent.text
        # The same code again: spent.
        again = await browser.get(back.removeprefix(PUBLIC_URL))
        assert again.status_code == 401
        assert "Sign in with Example SSO" in again.text
    # A code sent to someone else's browser (a link to the page with it) signs no one in.
    answer = await sign_in(app, person())
    async with client_for(app) as victim:
        await victim.get("/oauth/authorize", params=params)  # the victim's own browser cookie
        forged = await victim.get(
            back.removeprefix(PUBLIC_URL).replace(query(back)["code"], answer["code"])
        )
        assert forged.status_code == 403, forged.text
        assert "another browser" in forged.text
        assert "todo_oauth_session" not in forged.headers.get("set-cookie", "")
    assert (await exchange(app, answer["code"])).status_code == 200  # still unspent


@pytest.mark.parametrize("where", ["unreachable", "another-issuer"])
async def test_a_provider_that_cannot_be_believed_is_not_gone_to(
    make_app: Callable[..., FastAPI], issuer: str, where: str
) -> None:
    """Its metadata cannot be read, or names another issuer than OIDC_ISSUER (here with a
    trailing slash): the browser goes back to the frontend with an error, not to the provider."""
    dead = f"http://127.0.0.1:{free_port()}"
    app = make_app(oidc_issuer=dead if where == "unreachable" else f"{issuer}/")
    async with client_for(app) as browser:
        response = await browser.get("/api/auth/oidc/start", params={"redirect": FRONTEND})
    assert response.status_code == 302, response.text
    assert response.headers["location"] == f"{FRONTEND}?error=provider_unavailable"
    assert "set-cookie" not in response.headers or "Max-Age=0" in response.headers["set-cookie"]


async def test_codes_are_guessed_a_few_times_at_most(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(auth_rate_limit_attempts=3)
    for _ in range(3):
        assert_error(await exchange(app, secrets.token_urlsafe(32)), 401, "INVALID_CREDENTIALS")
    response = await exchange(app, secrets.token_urlsafe(32))
    assert_error(response, 429, "RATE_LIMITED")
    assert int(response.headers["retry-after"]) > 0


async def test_without_oidc_issuer_the_routes_are_not_there(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path) as make:
        app = make()
        async with client_for(app) as client:
            for path in ["/api/auth/oidc/start?redirect=x", "/api/auth/oidc/callback"]:
                assert_error(await client.get(path), 404, "NOT_FOUND")
            response = await client.post("/api/auth/oidc/exchange", json={"code": "x"})
            assert_error(response, 404, "NOT_FOUND")
            paths = (await client.get("/openapi.json")).json()["paths"]
            assert not [path for path in paths if path.startswith("/api/auth/oidc")]


def test_oidc_settings_need_a_client_and_a_public_url() -> None:
    with pytest.raises(ValueError, match="OIDC_CLIENT_ID"):
        Settings(_env_file=None, oidc_issuer="https://id.example.com", public_url=PUBLIC_URL)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        Settings(_env_file=None, oidc_issuer="https://id.example.com", oidc_client_id="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="OIDC_ISSUER"):
        Settings(_env_file=None, oidc_issuer="id.example.com", oidc_client_id="x")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="registration"):
        Settings(_env_file=None, registration="sometimes")  # type: ignore[call-arg]


async def test_the_frontends_own_query_comes_back_with_the_code(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    async with client_for(app) as browser:
        authorize = await to_provider(browser, redirect=f"{FRONTEND}?s=tab-42")
        callback = await sign_in_at_provider(authorize, person())
        response = await browser.get(callback.removeprefix(PUBLIC_URL))
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(f"{FRONTEND}?")
    assert query(location)["s"] == "tab-42"
    assert (await exchange(app, query(location)["code"])).status_code == 200


async def test_a_deleted_account_takes_its_link_along(make_app: Callable[..., FastAPI]) -> None:
    """The link to the provider's person goes with the account: their next sign-in makes a new
    one, not an account without a row."""
    app = make_app()
    ada = person()
    first = await signed_in_as(app, ada)
    async with client_for(app, first["access_token"]) as client:
        response = await client.request("DELETE", "/api/auth/me", json={"confirm": ada.email})
    assert response.status_code == 204, response.text
    again = await signed_in_as(app, ada)
    assert again["user"]["id"] != first["user"]["id"]
    assert again["user"]["email"] == ada.email


async def test_an_account_with_two_factor_asks_for_its_code_after_the_provider(
    make_app: Callable[..., FastAPI],
) -> None:
    """The provider stands in for the password, not for the second factor: the exchange
    answers as login does (mfa_required), and login/2fa with a code gives the tokens."""
    app = make_app()
    ada, account, secret = await with_two_factor(app)
    answer = await sign_in(app, ada)
    response = await exchange(app, answer["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token"}
    assert body["mfa_required"] is True
    async with client_for(app) as client:
        wrong = await client.post(
            "/api/auth/login/2fa", json={"mfa_token": body["mfa_token"], "code": "000000"}
        )
        assert_error(wrong, 401, "INVALID_CREDENTIALS")
        code = pyotp.TOTP(secret).at(time.time() + 30)  # the enabling code's step is spent
        tokens = await client.post(
            "/api/auth/login/2fa", json={"mfa_token": body["mfa_token"], "code": code}
        )
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["id"] == account
    assert (await me(app, tokens.json()["access_token"]))["two_factor"] is True


async def test_required_verification_refuses_an_email_the_provider_does_not_vouch_for(
    make_app: Callable[..., FastAPI],
) -> None:
    """With EMAIL_VERIFICATION=required, an unverified email at the provider makes no account
    (nobody could be sent its link), and an account made unverified before (under `optional`)
    is not opened until it is confirmed; a verified one signs in."""
    with mailbox() as box:
        required = make_app(smtp_url=box.url, email_verification="required")
        squatter = person(email_verified=False)
        assert await sign_in(required, squatter) == {"error": "email_not_verified"}
        async with held(required, Database).connection() as conn:
            found = await conn.execute(select(users).where(users.c.email == squatter.email))
            assert found.first() is None
        vouched = await signed_in_as(required, person())
        assert (await me(required, vouched["access_token"]))["email_verified"] is True

        earlier = person(email_verified=False)
        optional = make_app(smtp_url=box.url)
        made = await signed_in_as(optional, earlier)
        assert (await me(optional, made["access_token"]))["email_verified"] is False
        assert await sign_in(required, earlier) == {"error": "email_not_verified"}


async def test_optional_verification_sends_a_provider_made_account_its_link(
    make_app: Callable[..., FastAPI],
) -> None:
    """With `optional`, the unverified email makes an unverified account, which has no
    password, and email/resend sends it its link all the same."""
    with mailbox() as box:
        app = make_app(smtp_url=box.url, account_url_template=TEMPLATE)
        ada = person(email_verified=False)
        tokens = await signed_in_as(app, ada)
        assert (await me(app, tokens["access_token"]))["email_verified"] is False
        async with client_for(app) as client:
            resent = await client.post("/api/auth/email/resend", json={"email": ada.email})
            assert resent.status_code == 202, resent.text
            [message] = await mail_to(box, ada.email)
            verified = await client.post(
                "/api/auth/email/verify", json={"token": link_token(message, "verify-email")}
            )
        assert verified.status_code == 200, verified.text
        assert (await me(app, tokens["access_token"]))["email_verified"] is True


async def test_the_oauth_sign_in_page_asks_for_the_code_after_the_provider(
    make_app: Callable[..., FastAPI],
) -> None:
    """Back from the provider to /oauth/authorize, an account with two-factor on is asked for
    its code before the consent screen, as after its password."""
    app = make_app()
    ada, _account, secret = await with_two_factor(app)
    async with client_for(app) as browser:
        client = await browser.post(
            "/oauth/register",
            json={
                "client_name": "Test app",
                "redirect_uris": ["http://127.0.0.1:1/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
        challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode()
        params = {
            "response_type": "code",
            "client_id": client.json()["client_id"],
            "redirect_uri": "http://127.0.0.1:1/callback",
            "code_challenge": challenge.rstrip("="),
            "code_challenge_method": "S256",
        }
        page = await browser.get("/oauth/authorize", params=params)
        found = re.search(r'<a class="provider" href="([^"]+)">', page.text)
        assert found is not None, page.text
        response = await browser.get(html.unescape(found.group(1)).removeprefix(PUBLIC_URL))
        callback = await sign_in_at_provider(response.headers["location"], ada)
        response = await browser.get(callback.removeprefix(PUBLIC_URL))
        back = await browser.get(response.headers["location"].removeprefix(PUBLIC_URL))
        assert back.status_code == 200, back.text
        assert 'name="code"' in back.text
        assert 'value="allow"' not in back.text
        assert "todo_oauth_session" not in back.headers.get("set-cookie", "")
        fields = form_fields(back.text)
        code = pyotp.TOTP(secret).at(time.time() + 30)
        consent = await browser.post(
            "/oauth/authorize", data={**fields, "code": code, "action": "code"}
        )
        assert consent.status_code == 200, consent.text
        assert f"Signed in as {ada.email}" in consent.text
