"""Two-factor sign-in with TOTP through HTTP on both databases, `pyotp` computing the codes:
setting it up and turning it on (recovery codes), login answering `mfa_required`, a code
accepted once and one step either side, recovery codes good once, five wrong codes ending the
sign-in, wrong codes counted per account (whichever sign-in or address they come from, the
OAuth page's included; the owner told once by email), turning it off, and the OAuth sign-in
page asking for the code."""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
    PASSWORD,
    TEMPLATE,
    bearer,
    body_of,
    log_in,
    mail_to,
    sign_up,
    to,
)
from tests.oauth.helpers import (
    authorize_url,
    connect_in_process,
    form_fields,
    pkce,
    query_of,
    refresh_in_process,
)
from tests.reminders.smtp import mailbox
from tests.support import app_factory, assert_error, client_for, validation_details
from tests.test_instances_server import _redis_or_skip
from todo_api.config import Settings


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


def code_at(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


async def turned_on(client: httpx.AsyncClient) -> tuple[dict[str, Any], str, list[str]]:
    """A new account with two-factor on: its tokens, its secret, its recovery codes (and the
    code that turned it on, last)."""
    signed_in = await sign_up(client)
    auth = bearer(signed_in["access_token"])
    setup = await client.post("/api/auth/2fa/setup", json={"password": PASSWORD}, headers=auth)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    code = code_at(secret)
    enabled = await client.post("/api/auth/2fa/enable", json={"code": code}, headers=auth)
    assert enabled.status_code == 200, enabled.text
    return signed_in, secret, [*enabled.json()["recovery_codes"], code]


async def challenge(client: httpx.AsyncClient, email: str) -> str:
    answer = await log_in(client, email)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["mfa_required"] is True
    assert set(body) == {"mfa_required", "mfa_token"}
    token: str = body["mfa_token"]
    return token


async def second(client: httpx.AsyncClient, mfa_token: str, **given: str) -> httpx.Response:
    return await client.post("/api/auth/login/2fa", json={"mfa_token": mfa_token, **given})


async def test_setting_up_and_turning_on_two_factor(anonymous: httpx.AsyncClient) -> None:
    signed_in = await sign_up(anonymous)
    auth = bearer(signed_in["access_token"])
    wrong = await anonymous.post("/api/auth/2fa/setup", json={"password": "nope"}, headers=auth)
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    setup = await anonymous.post("/api/auth/2fa/setup", json={"password": PASSWORD}, headers=auth)
    assert setup.status_code == 200
    body = setup.json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert f"secret={body['secret']}" in body["otpauth_uri"]
    assert body["qr_svg"].startswith("<svg")
    me = await anonymous.get("/api/auth/me", headers=auth)
    assert me.json()["two_factor"] is False  # not before a code turns it on
    assert (await log_in(anonymous, signed_in["user"]["email"])).json().get("access_token")

    bad = await anonymous.post("/api/auth/2fa/enable", json={"code": "000000"}, headers=auth)
    assert validation_details(bad)[0]["field"] == "code"
    enabled = await anonymous.post(
        "/api/auth/2fa/enable", json={"code": code_at(body["secret"])}, headers=auth
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert (await anonymous.get("/api/auth/me", headers=auth)).json()["two_factor"] is True
    again = await anonymous.post("/api/auth/2fa/setup", json={"password": PASSWORD}, headers=auth)
    assert_error(again, 409, "CONFLICT")


async def test_login_asks_for_a_code_accepted_once_with_a_step_of_skew(
    anonymous: httpx.AsyncClient,
) -> None:
    signed_in, secret, codes = await turned_on(anonymous)
    email = signed_in["user"]["email"]
    assert_error(await log_in(anonymous, email, "wrong password"), 401, "INVALID_CREDENTIALS")
    form = await anonymous.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    assert form.json()["mfa_required"] is True

    # The code that turned it on is spent; the next step's (a clock a step ahead) works.
    spent = await second(anonymous, await challenge(anonymous, email), code=codes[-1])
    assert_error(spent, 401, "INVALID_CREDENTIALS")
    ahead = code_at(secret, +1)
    tokens = await second(anonymous, await challenge(anonymous, email), code=ahead)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["user"]["email"] == email
    assert (
        await anonymous.get("/api/tasks", headers=bearer(tokens.json()["access_token"]))
    ).status_code == 200
    replay = await second(anonymous, await challenge(anonymous, email), code=ahead)
    assert_error(replay, 401, "INVALID_CREDENTIALS")
    too_far = await second(anonymous, await challenge(anonymous, email), code=code_at(secret, +3))
    assert_error(too_far, 401, "INVALID_CREDENTIALS")


async def test_a_recovery_code_works_once(anonymous: httpx.AsyncClient) -> None:
    signed_in, _secret, codes = await turned_on(anonymous)
    email = signed_in["user"]["email"]
    first = await second(anonymous, await challenge(anonymous, email), recovery_code=codes[0])
    assert first.status_code == 200, first.text
    again = await second(anonymous, await challenge(anonymous, email), recovery_code=codes[0])
    assert_error(again, 401, "INVALID_CREDENTIALS")
    upper = await second(
        anonymous, await challenge(anonymous, email), recovery_code=codes[1].upper()
    )
    assert upper.status_code == 200


async def test_five_wrong_codes_end_the_sign_in_and_it_works_once(
    anonymous: httpx.AsyncClient,
) -> None:
    signed_in, secret, _codes = await turned_on(anonymous)
    email = signed_in["user"]["email"]
    mfa_token = await challenge(anonymous, email)
    for _ in range(5):
        assert_error(await second(anonymous, mfa_token, code="123456"), 401, "INVALID_CREDENTIALS")
    dead = await second(anonymous, mfa_token, code=code_at(secret, +1))
    assert_error(dead, 401, "INVALID_TOKEN")

    used = await challenge(anonymous, email)
    assert (await second(anonymous, used, code=code_at(secret, +1))).status_code == 200
    assert_error(await second(anonymous, used, code=code_at(secret, -1)), 401, "INVALID_TOKEN")
    assert_error(await second(anonymous, "forged.token", code="123456"), 401, "INVALID_TOKEN")


async def test_turning_two_factor_off(anonymous: httpx.AsyncClient) -> None:
    signed_in, secret, _codes = await turned_on(anonymous)
    auth = bearer(signed_in["access_token"])
    wrong = await anonymous.post(
        "/api/auth/2fa/disable", json={"password": PASSWORD, "code": "123456"}, headers=auth
    )
    assert_error(wrong, 401, "INVALID_CREDENTIALS")
    off = await anonymous.post(
        "/api/auth/2fa/disable",
        json={"password": PASSWORD, "code": code_at(secret, +1)},
        headers=auth,
    )
    assert off.status_code == 204, off.text
    assert (await anonymous.get("/api/auth/me", headers=auth)).json()["two_factor"] is False
    assert "access_token" in (await log_in(anonymous, signed_in["user"]["email"])).json()


async def test_a_personal_token_cannot_set_two_factor_up(anonymous: httpx.AsyncClient) -> None:
    signed_in = await sign_up(anonymous)
    made = await anonymous.post(
        "/api/tokens", json={"name": "script"}, headers=bearer(signed_in["access_token"])
    )
    setup = await anonymous.post(
        "/api/auth/2fa/setup", json={"password": PASSWORD}, headers=bearer(made.json()["token"])
    )
    assert_error(setup, 403, "FORBIDDEN")


async def test_the_oauth_sign_in_page_asks_for_the_code(
    make_app: Callable[..., FastAPI],
) -> None:
    base = "http://test"
    async with client_for(make_app(public_url=base)) as browser:
        signed_in, secret, _codes = await turned_on(browser)
        email = signed_in["user"]["email"]
        registered = await browser.post(
            "/oauth/register",
            json={
                "client_name": "Test app",
                "redirect_uris": ["http://127.0.0.1:1/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
        assert registered.status_code == 201, registered.text
        _verifier, pkce_challenge = pkce()
        url = authorize_url(base, registered.json()["client_id"], pkce_challenge)
        page = await browser.get(url)
        target = "/oauth/authorize"
        signin = {**form_fields(page.text), "email": email, "password": PASSWORD}
        page = await browser.post(target, data={**signin, "action": "signin"})
        assert page.status_code == 200, page.text
        assert 'name="code"' in page.text
        assert "Allow" not in page.text
        fields = form_fields(page.text)
        wrong = await browser.post(target, data={**fields, "code": "000000", "action": "code"})
        assert wrong.status_code == 401
        page = await browser.post(
            target, data={**fields, "code": code_at(secret, +1), "action": "code"}
        )
        assert page.status_code == 200, page.text
        assert "Allow" in page.text
        done = await browser.post(target, data={**form_fields(page.text), "action": "allow"})
        assert done.status_code == 303
        assert "code" in query_of(done.headers["location"])


def from_address(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def code_page(browser: httpx.AsyncClient, base: str, email: str) -> dict[str, str]:
    """The OAuth sign-in page signed in with the password: the code step's form fields."""
    registered = await browser.post(
        "/oauth/register",
        json={
            "client_name": "Test app",
            "redirect_uris": ["http://127.0.0.1:1/callback"],
            "token_endpoint_auth_method": "none",
        },
    )
    assert registered.status_code == 201, registered.text
    _verifier, pkce_challenge = pkce()
    page = await browser.get(authorize_url(base, registered.json()["client_id"], pkce_challenge))
    signin = {**form_fields(page.text), "email": email, "password": PASSWORD}
    page = await browser.post("/oauth/authorize", data={**signin, "action": "signin"})
    assert 'name="code"' in page.text, page.text
    return form_fields(page.text)


@pytest.mark.parametrize("counters", ["memory", "redis"])
async def test_wrong_codes_count_per_account_from_any_sign_in_or_address(
    make_app: Callable[..., FastAPI], counters: str
) -> None:
    """Ten wrong codes in 15 minutes, through login/2fa and the OAuth page, from four
    addresses and as many mfa_tokens (none of them past its own five), pause the account's
    codes: every further try is 429 with Retry-After, a right code included; the owner is told
    once. A right code on the way is not counted. With Redis, two instances count together."""
    base = "http://test"
    with mailbox() as box:
        settings: dict[str, Any] = {
            "public_url": base,
            "smtp_url": box.url,
            "account_url_template": TEMPLATE,
            "email_verification": "off",
        }
        if counters == "redis":
            settings["redis_url"] = _redis_or_skip()
        app = make_app(**settings)
        other = make_app(**settings) if counters == "redis" else app
        async with (
            from_address(app, "203.0.113.1") as first,
            from_address(app, "203.0.113.2") as second_place,
            from_address(other, "198.51.100.3") as third,
            from_address(other, "2001:db8::4") as fourth,
        ):
            signed_in, secret, _codes = await turned_on(first)
            email = signed_in["user"]["email"]
            mfa_token = await challenge(first, email)
            for _ in range(4):
                wrong = await second(first, mfa_token, code="000000")
                assert_error(wrong, 401, "INVALID_CREDENTIALS")
            fields = await code_page(second_place, base, email)
            for _ in range(4):
                page = await second_place.post(
                    "/oauth/authorize", data={**fields, "code": "000000", "action": "code"}
                )
                assert page.status_code == 401, page.text
            right = await second(third, await challenge(third, email), code=code_at(secret, +1))
            assert right.status_code == 200, right.text
            mfa_token = await challenge(fourth, email)
            for _ in range(2):  # the ninth and tenth wrong codes
                wrong = await second(fourth, mfa_token, code="000000")
                assert_error(wrong, 401, "INVALID_CREDENTIALS")

            paused = await second(first, await challenge(first, email), code=code_at(secret, 0))
            assert_error(paused, 429, "RATE_LIMITED")
            assert 0 < int(paused.headers["retry-after"]) <= 15 * 60
            fields = await code_page(third, base, email)
            page = await third.post(
                "/oauth/authorize", data={**fields, "code": code_at(secret, 0), "action": "code"}
            )
            assert page.status_code == 429
            assert 0 < int(page.headers["retry-after"]) <= 15 * 60
            assert "Allow" not in page.text

            [notice] = await mail_to(box, email)
            assert notice["Subject"] == "Wrong codes were entered for your account · Tasks"
            assert "password was just used" in body_of(notice)
            assert "wrong two-factor codes" in body_of(notice)
            await asyncio.sleep(0.5)
            assert len(to(box, email)) == 1  # once a window


# --- what two-factor did not guard ends with it --------------------------------------------

APP_ORIGIN = "http://test"


async def mcp_answers(client: httpx.AsyncClient, access_token: str) -> int:
    listed = await client.post(
        "/mcp",
        headers=bearer(access_token),
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    return listed.status_code


async def working_app(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    """An app connected by `email`'s user, whose grant works (a refresh gives new tokens)."""
    connected = await connect_in_process(client, APP_ORIGIN, email)
    refreshed = await refresh_in_process(client, connected)
    assert refreshed.status_code == 200, refreshed.text
    return {**connected, **refreshed.json()}


async def assert_app_ended(client: httpx.AsyncClient, connected: dict[str, Any]) -> None:
    assert await mcp_answers(client, connected["access_token"]) == 401
    refreshed = await refresh_in_process(client, connected)
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


async def test_turning_two_factor_on_ends_the_apps_connected_without_it(
    make_app: Callable[..., FastAPI],
) -> None:
    async with client_for(make_app(public_url=APP_ORIGIN)) as client:
        signed_in = await sign_up(client)
        email = signed_in["user"]["email"]
        connected = await working_app(client, email)
        auth = bearer(signed_in["access_token"])
        setup = await client.post("/api/auth/2fa/setup", json={"password": PASSWORD}, headers=auth)
        code = code_at(setup.json()["secret"])
        enabled = await client.post("/api/auth/2fa/enable", json={"code": code}, headers=auth)
        assert enabled.status_code == 200, enabled.text
        assert enabled.json()["apps_ended"] == ["Test app"]
        await assert_app_ended(client, connected)
        # The sign-in that turned it on goes on.
        assert (await client.get("/api/auth/me", headers=auth)).status_code == 200


async def test_the_settings_page_that_turns_two_factor_on_names_the_apps_to_connect_again(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app(public_url=APP_ORIGIN, email_verification="off")
    async with client_for(app) as client, client_for(app) as browser:
        email = (await sign_up(client))["user"]["email"]
        connected = await working_app(client, email)
        page = await browser.get("/app/signin")
        fields = {**form_fields(page.text), "email": email, "password": PASSWORD}
        assert (await browser.post("/app/signin", data=fields)).status_code == 303
        security = "/app/settings/security"
        page = await browser.get(security)
        csrf = {"csrf_token": form_fields(page.text)["csrf_token"]}
        setup = await browser.post(
            f"{security}/two-factor/setup", data={**csrf, "password": PASSWORD}
        )
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', setup.text)
        assert secret is not None, setup.text
        done = await browser.post(
            f"{security}/two-factor/enable", data={**csrf, "code": code_at(secret[1])}
        )
        assert done.status_code == 200, done.text
        assert "must be connected again" in done.text
        listed = re.search(r'<ul aria-labelledby="apps-ended">(.*?)</ul>', done.text, re.S)
        assert listed is not None, done.text
        assert re.findall(r"<li>([^<]*)</li>", listed[1]) == ["Test app"]
        await assert_app_ended(client, connected)
