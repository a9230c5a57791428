"""A browser's sign-in on the OAuth sign-in page (/oauth/authorize) is a sign-in of the account,
through HTTP on both databases: it is listed in GET /api/auth/sessions, and once it ends (its
own sign-out, DELETE /api/auth/sessions/{id}, logout-all, a reset, a change of password,
two-factor turned on, the account deleted) the page asks to sign in again and issues no code.
The emails go to a real SMTP server."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.accounts.helpers import (
    NEW_PASSWORD,
    PASSWORD,
    TEMPLATE,
    bearer,
    link_token,
    mail_to,
    sign_up,
    two_factor_on,
)
from tests.oauth.helpers import authorize_url, form_fields, pkce, query_of
from tests.reminders.smtp import Mailbox
from tests.support import app_factory, client_for
from todo_api.config import Settings

BASE = "http://test"
PAGE = "/oauth/authorize"
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@pytest.fixture
async def app(settings: Settings, tmp_path: Path, box: Mailbox) -> AsyncIterator[FastAPI]:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        public_url=BASE,
        smtp_url=box.url,
        account_url_template=TEMPLATE,
        email_verification="off",
    ) as make:
        yield make()


class Page:
    """A browser on the OAuth sign-in page of one app's request (its own cookies)."""

    def __init__(self, browser: httpx.AsyncClient, url: str) -> None:
        self.browser, self.url = browser, url

    async def open(self) -> httpx.Response:
        return await self.browser.get(self.url)

    async def press(self, action: str, **fields: str) -> httpx.Response:
        page = await self.open()
        return await self.browser.post(
            PAGE, data={**form_fields(page.text), **fields, "action": action}
        )


@asynccontextmanager
async def on_the_page(app: FastAPI) -> AsyncIterator[Page]:
    async with client_for(app) as browser:
        browser.headers["User-Agent"] = BROWSER_AGENT
        client = await browser.post(
            "/oauth/register",
            json={
                "client_name": "Test app",
                "redirect_uris": ["http://127.0.0.1:1/callback"],
                "token_endpoint_auth_method": "none",
            },
        )
        assert client.status_code == 201, client.text
        _verifier, challenge = pkce()
        yield Page(browser, authorize_url(BASE, client.json()["client_id"], challenge))


async def signed_in_on_the_page(page: Page, email: str) -> None:
    consent = await page.press("signin", email=email, password=PASSWORD)
    assert consent.status_code == 200, consent.text
    assert f"Signed in as {email}" in consent.text
    again = await page.open()  # the cookie signs the browser in
    assert f"Signed in as {email}" in again.text


async def asked_to_sign_in_again(page: Page) -> None:
    """The page shows the sign-in form, and neither a consent screen nor a code comes of the
    cookie."""
    shown = await page.open()
    assert shown.status_code == 200, shown.text
    assert 'name="password"' in shown.text
    assert "Signed in as" not in shown.text
    assert 'value="allow"' not in shown.text
    pressed = await page.press("allow")
    assert pressed.status_code == 200, pressed.text
    assert "location" not in pressed.headers
    assert 'name="password"' in pressed.text


async def sessions(client: httpx.AsyncClient, access_token: str) -> list[dict[str, Any]]:
    listed = await client.get("/api/auth/sessions", headers=bearer(access_token))
    assert listed.status_code == 200, listed.text
    body: list[dict[str, Any]] = listed.json()
    return body


async def test_the_pages_sign_in_is_listed_and_its_own_sign_out_ends_it(app: FastAPI) -> None:
    async with client_for(app) as api, on_the_page(app) as page:
        account = await sign_up(api)
        email, access = account["user"]["email"], account["access_token"]
        await signed_in_on_the_page(page, email)
        listed = await sessions(api, access)
        [on_page] = [item for item in listed if not item["current"]]
        assert on_page["user_agent"] == BROWSER_AGENT
        assert len(listed) == 2

        allowed = await page.press("allow")
        assert allowed.status_code == 303, allowed.text
        assert "code" in query_of(allowed.headers["location"])

        signed_out = await page.press("signout")
        assert signed_out.status_code == 200, signed_out.text
        assert "You are signed out" in signed_out.text
        assert [item["current"] for item in await sessions(api, access)] == [True]
        await asked_to_sign_in_again(page)


async def _end_it(api: httpx.AsyncClient, access: str) -> None:
    [browser] = [item for item in await sessions(api, access) if not item["current"]]
    ended = await api.delete(f"/api/auth/sessions/{browser['id']}", headers=bearer(access))
    assert ended.status_code == 204, ended.text


async def _logout_all(api: httpx.AsyncClient, access: str) -> None:
    ended = await api.post("/api/auth/logout-all", headers=bearer(access))
    assert ended.status_code == 204, ended.text


async def _change_password(api: httpx.AsyncClient, access: str) -> None:
    changed = await api.post(
        "/api/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(access),
    )
    assert changed.status_code == 200, changed.text


async def _turn_on_two_factor(api: httpx.AsyncClient, access: str) -> None:
    await two_factor_on(api, **bearer(access))
    assert len(await sessions(api, access)) == 1  # this one stays


async def _delete_the_account(api: httpx.AsyncClient, access: str) -> None:
    email = (await api.get("/api/auth/me", headers=bearer(access))).json()["email"]
    deleted = await api.request(
        "DELETE", "/api/auth/me", json={"confirm": email}, headers=bearer(access)
    )
    assert deleted.status_code == 204, deleted.text


Ending = Callable[[httpx.AsyncClient, str], Awaitable[None]]


@pytest.mark.parametrize(
    "end",
    [_end_it, _logout_all, _change_password, _turn_on_two_factor, _delete_the_account],
    ids=["delete-session", "logout-all", "password-change", "two-factor-on", "account-deleted"],
)
async def test_the_page_asks_to_sign_in_again_once_the_sign_in_ends_elsewhere(
    app: FastAPI, end: Ending
) -> None:
    async with client_for(app) as api, on_the_page(app) as page:
        account = await sign_up(api)
        await signed_in_on_the_page(page, account["user"]["email"])
        await end(api, account["access_token"])
        await asked_to_sign_in_again(page)


async def test_a_reset_ends_the_pages_sign_in(app: FastAPI, box: Mailbox) -> None:
    async with client_for(app) as api, on_the_page(app) as page:
        account = await sign_up(api)
        email = account["user"]["email"]
        await signed_in_on_the_page(page, email)
        assert (
            await api.post("/api/auth/password/forgot", json={"email": email})
        ).status_code == 202
        [message] = await mail_to(box, email)
        reset = await api.post(
            "/api/auth/password/reset",
            json={"token": link_token(message, "reset-password"), "password": NEW_PASSWORD},
        )
        assert reset.status_code == 204, reset.text
        await asked_to_sign_in_again(page)
        # Signing in again (the new password) makes a new sign-in, which works.
        await signed_in_on_the_page_with(page, email, NEW_PASSWORD)


async def signed_in_on_the_page_with(page: Page, email: str, password: str) -> None:
    consent = await page.press("signin", email=email, password=password)
    assert f"Signed in as {email}" in consent.text, consent.text
    allowed = await page.press("allow")
    assert allowed.status_code == 303, allowed.text


async def test_an_ended_sign_ins_cookie_is_told_and_dropped(app: FastAPI) -> None:
    async with client_for(app) as api, on_the_page(app) as page:
        account = await sign_up(api)
        await signed_in_on_the_page(page, account["user"]["email"])
        await _logout_all(api, account["access_token"])
        shown = await page.open()
        assert "Your sign-in has ended. Sign in again." in shown.text
        assert 'todo_oauth_session=""' in shown.headers.get("set-cookie", "")


async def test_signing_in_again_on_the_page_ends_the_sign_in_it_held(app: FastAPI) -> None:
    async with client_for(app) as api, on_the_page(app) as page:
        account = await sign_up(api)
        email, access = account["user"]["email"], account["access_token"]
        await signed_in_on_the_page(page, email)
        [first] = [item for item in await sessions(api, access) if not item["current"]]
        await signed_in_on_the_page(page, email)
        [second] = [item for item in await sessions(api, access) if not item["current"]]
        assert second["id"] != first["id"]
        allowed = await page.press("allow")
        assert allowed.status_code == 303, allowed.text
