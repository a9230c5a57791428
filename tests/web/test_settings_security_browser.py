"""Settings, Security and Tokens and apps, in a real browser against a real server, on both
databases: two-factor sign-in turned on from the secret on the page (codes computed with
pyotp, as an authenticator app does) and used to sign in again, then turned off; a second
sign-in listed and ended from the first; the password changed with JavaScript off and the old
one refused; a passkey made by Chromium's virtual authenticator and deleted; a personal token
shown once, working against /api, revoked; an app's OAuth grant listed and revoked. axe-core
runs in light and dark on every page and state."""

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import NEW_PASSWORD, PASSWORD, bearer
from tests.helpers_server import Server, free_port, running_server
from tests.oauth.helpers import connect, refresh
from tests.web.browsing import (
    CHROMIUM,
    Watched,
    add_authenticator,
    missing,
    open_page,
    register,
    sign_in,
    sign_out,
)
from tests.web.conftest import web_env

SECURITY = "/app/settings/security"
TOKENS = "/app/settings/tokens"
STATUSES = "console: Failed to load resource: the server responded with a status of"


@dataclass
class LocalServer(Server):
    """A server addressed as localhost: WebAuthn takes no IP address for its relying party."""

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


@pytest.fixture(scope="module")
def server(
    web_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    """The module's server, with PUBLIC_URL (for passkeys and the OAuth server) on localhost."""
    if not os.path.exists(CHROMIUM):
        missing("Chromium is not installed at /usr/bin/chromium")
    directory, port = tmp_path_factory.mktemp("server"), free_port()
    env = web_env(web_database_url, PUBLIC_URL=f"http://localhost:{port}")
    with running_server(directory, env, directory / "server.log", port) as started:
        yield LocalServer(started.process, started.port, started.log_path)


async def light_and_dark(watched: Watched) -> None:
    """axe-core finds nothing on the page as it is, in the light theme and in the dark."""
    await watched.accessible_in_both_schemes()


class Authenticator:
    """Codes from an authenticator app holding `secret`: each for a later time step than the
    last one given (the service takes a step once), within the step either side of now."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last: int | None = None

    async def code(self) -> str:
        if self.totp.interval - time.time() % self.totp.interval < 3:
            await asyncio.sleep(3)  # not at the edge of a step: the server's may be past it
        current = self.totp.timecode(time.time())
        step = current - 1 if self.last is None else max(current - 1, self.last + 1)
        opens = (step - 1) * self.totp.interval  # from then on the step is one ahead at most
        if time.time() < opens:
            await asyncio.sleep(opens - time.time() + 0.5)
        self.last = step
        return str(self.totp.generate_otp(step))


def api(server: Server, method: str, path: str, **sent: Any) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", **sent)


def login(server: Server, email: str, password: str) -> httpx.Response:
    return api(server, "POST", "/api/auth/login", json={"email": email, "password": password})


async def settings_security(page: Page, server: Server) -> None:
    await page.goto(f"{server.url}{SECURITY}")
    await expect(page.get_by_role("heading", name="Security", exact=True)).to_be_visible()


async def test_two_factor_and_sign_ins(server: Server, browser: Browser, axe_source: str) -> None:
    email, _headers = register(server)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await settings_security(page, server)
    groups = page.get_by_role("navigation", name="Settings groups")
    await expect(groups.get_by_role("link", name="Security")).to_have_attribute(
        "aria-current", "page"
    )
    await light_and_dark(watched)

    # A second sign-in (another browser) is listed, and ended from the first.
    other = await open_page(browser, server, axe_source)
    await sign_in(other.page, server, email)
    await page.reload()
    sign_ins = page.get_by_role("region", name="Sign-ins").get_by_role("listitem")
    await expect(sign_ins).to_have_count(3)  # the registration's, this browser's, the other's
    await expect(sign_ins.filter(has_text="This browser")).to_have_count(1)
    theirs = sign_ins.filter(has_not_text="This browser").filter(has_text="Chrome")
    await theirs.get_by_role("button", name="End").click()
    await expect(page.get_by_role("status")).to_have_text("The sign-in has ended.")
    await expect(sign_ins).to_have_count(2)
    await light_and_dark(watched)
    await other.page.reload()
    await expect(other.page.get_by_role("alert")).to_have_text(
        "Your sign-in has ended. Sign in again."
    )

    # Two-factor: the password again, then the QR code and the secret as text.
    two_factor = page.get_by_role("region", name="Two-factor sign-in")
    await two_factor.get_by_label("Password").fill("not the password")
    await two_factor.get_by_role("button", name="Set up two-factor sign-in").click()
    await expect(page.get_by_role("alert")).to_have_text("The password is not right")
    await light_and_dark(watched)
    await two_factor.get_by_label("Password").fill(PASSWORD)
    await two_factor.get_by_role("button", name="Set up two-factor sign-in").click()
    qr = two_factor.get_by_role("img", name="QR code of the secret for your authenticator app")
    await expect(qr).to_be_visible()
    assert await qr.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")
    secret = (await page.locator("#totp-secret").text_content() or "").strip()
    app = Authenticator(secret)
    await light_and_dark(watched)
    await two_factor.get_by_label("Code from the app").fill("000000")
    await two_factor.get_by_role("button", name="Turn on two-factor sign-in").click()
    await expect(page.get_by_role("alert")).to_contain_text("The code is not right")
    await expect(qr).to_be_visible()  # still to turn on: the same secret, shown again
    await two_factor.get_by_label("Code from the app").fill(await app.code())
    await two_factor.get_by_role("button", name="Turn on two-factor sign-in").click()
    await expect(page.get_by_role("status").first).to_have_text(
        "Two-factor sign-in is on; every other sign-in has ended."
    )
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    await light_and_dark(watched)
    await settings_security(page, server)  # shown once
    await expect(page.get_by_role("list", name="Recovery codes")).to_have_count(0)
    assert secret not in await page.content()
    await expect(two_factor).to_contain_text("On: signing in asks for a code")
    await light_and_dark(watched)

    # Signed out, the password alone does not sign in: a code from the app does.
    await sign_out(page)
    await expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("Code").fill(await app.code())
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()

    await settings_security(page, server)
    await two_factor.get_by_label("Password").fill(PASSWORD)
    await two_factor.get_by_label("Code from the app").fill(await app.code())
    await two_factor.get_by_role("button", name="Turn off two-factor sign-in").click()
    await expect(page.get_by_role("status")).to_have_text("Two-factor sign-in is off.")
    await expect(two_factor).to_contain_text("Off: your password alone signs in.")
    await light_and_dark(watched)
    assert "access_token" in login(server, email, PASSWORD).json()

    expected = {f"{STATUSES} 401 (Unauthorized)", f"{STATUSES} 400 (Bad Request)"}
    assert set(watched.problems) <= expected
    assert set(other.problems) <= expected
    await other.page.context.close()
    await page.context.close()


async def test_password_changed_without_javascript(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, _headers = register(server)
    elsewhere = login(server, email, PASSWORD).json()["access_token"]
    watched = await open_page(browser, server, axe_source, javascript=False, scheme="dark")
    page = watched.page
    await sign_in(page, server, email)
    await settings_security(page, server)
    password = page.get_by_role("region", name="Password")
    await password.get_by_label("Current password").fill("not the password")
    await password.get_by_label("New password").fill(NEW_PASSWORD)
    await password.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("alert")).to_have_text("The current password is not right")
    await password.get_by_label("Current password").fill(PASSWORD)
    await password.get_by_label("New password").fill(NEW_PASSWORD)
    await password.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your password is changed; every other sign-in has ended."
    )
    # This browser is still signed in (anew), alone; the API's sign-in has ended.
    sign_ins = page.get_by_role("region", name="Sign-ins").get_by_role("listitem")
    await expect(sign_ins).to_have_count(1)
    ended = api(server, "GET", "/api/tasks", headers=bearer(elsewhere))
    assert ended.status_code == 401
    assert login(server, email, PASSWORD).status_code == 401
    assert login(server, email, NEW_PASSWORD).status_code == 200

    # The email: this server sends none, and says so as the API does.
    change = page.get_by_role("region", name="Email")
    await change.get_by_label("New email").fill("someone.else@example.com")
    await change.get_by_label("Password").fill(NEW_PASSWORD)
    await change.get_by_role("button", name="Change email").click()
    await expect(page.get_by_role("alert")).to_contain_text("sends no email")

    # A passkey is made by the browser's script: without JavaScript the page says so.
    await page.get_by_role("button", name="Add a passkey").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Adding a passkey needs JavaScript in this browser."
    )

    # Ending the others (the API's sign-in since), and a cross-site form: refused.
    await settings_security(page, server)
    await expect(sign_ins).to_have_count(2)
    forged = api(
        server,
        "POST",
        f"{SECURITY}/sign-ins/end-others",
        cookies={c["name"]: c["value"] for c in await page.context.cookies()},
    )
    assert forged.status_code == 403
    await page.reload()
    await expect(sign_ins).to_have_count(2)
    await page.get_by_role("button", name="End the others").click()
    await expect(page.get_by_role("status")).to_have_text("Every other sign-in has ended.")
    await expect(sign_ins).to_have_count(1)
    refused = ("401 (Unauthorized)", "400 (Bad Request)")
    assert set(watched.problems) <= {f"{STATUSES} {status}" for status in refused}
    await page.context.close()


async def test_a_passkey_added_and_deleted(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    local = server.url
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await add_authenticator(page)
    await page.goto(f"{local}/app/signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()  # signed in
    await page.goto(f"{local}{SECURITY}")
    passkeys = page.get_by_role("region", name="Passkeys")
    await expect(passkeys).to_contain_text("No passkeys yet.")
    await passkeys.get_by_label("Name of the passkey").fill("Work laptop <b>")
    await passkeys.get_by_role("button", name="Add a passkey").click()
    await expect(page.get_by_role("status")).to_have_text("The passkey is added.")
    await expect(passkeys.get_by_role("listitem")).to_have_count(1)
    await expect(passkeys.get_by_role("listitem")).to_contain_text("Work laptop <b>")
    listed = api(server, "GET", "/api/auth/passkeys", headers=headers).json()
    assert [key["name"] for key in listed] == ["Work laptop <b>"]
    await light_and_dark(watched)
    await passkeys.get_by_role("button", name="Delete Work laptop <b>").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The passkey is deleted: it signs in no more."
    )
    await expect(passkeys).to_contain_text("No passkeys yet.")
    await light_and_dark(watched)
    assert api(server, "GET", "/api/auth/passkeys", headers=headers).json() == []
    assert watched.problems == []
    await page.context.close()


async def test_tokens_and_apps(server: Server, browser: Browser, axe_source: str) -> None:
    email, _headers = register(server)
    client, app_tokens, _code = await connect(server.url, email)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    await sign_in(page, server, email)
    await page.goto(f"{server.url}{TOKENS}")
    await expect(page.get_by_role("heading", name="Tokens and apps")).to_be_visible()
    await light_and_dark(watched)

    tokens = page.get_by_role("region", name="Personal access tokens")
    await tokens.get_by_role("button", name="Make a token").click()  # no name: the browser asks
    await expect(tokens.get_by_role("listitem")).to_have_count(0)
    await tokens.get_by_label("Token name").fill("   ")
    await tokens.get_by_role("button", name="Make a token").click()
    await expect(page.get_by_role("alert")).to_contain_text("name")
    await light_and_dark(watched)
    await tokens.get_by_label("Token name").fill("backup script")
    await tokens.get_by_label("Read only").check()
    await tokens.get_by_label("Expires").select_option("30")
    await tokens.get_by_role("button", name="Make a token").click()
    await expect(page.get_by_role("status").first).to_contain_text("shown only this once")
    secret = (await page.locator("#new-token").text_content() or "").strip()
    assert secret.startswith("todo_pat_")
    await tokens.get_by_role("button", name="Copy").click()
    await expect(tokens.get_by_role("status")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await light_and_dark(watched)
    assert api(server, "GET", "/api/tasks", headers=bearer(secret)).status_code == 200
    wrote = api(server, "POST", "/api/tasks", json={"title": "x"}, headers=bearer(secret))
    assert wrote.status_code == 403  # read only
    await page.goto(f"{server.url}{TOKENS}")
    assert secret not in await page.content()
    row = tokens.get_by_role("listitem").filter(has_text="backup script")
    await expect(row).to_contain_text("Scope: read")
    await row.get_by_role("button", name="Revoke backup script").click()
    await expect(page.get_by_role("status")).to_have_text(
        "The token is revoked: it is refused from now on."
    )
    await expect(tokens.get_by_role("listitem")).to_have_count(0)
    assert api(server, "GET", "/api/tasks", headers=bearer(secret)).status_code == 401

    apps = page.get_by_role("region", name="Connected apps")
    await expect(apps.get_by_role("listitem")).to_have_count(1)
    await expect(apps.get_by_role("listitem")).to_contain_text(client["client_name"])
    await apps.get_by_role("button", name=f"Revoke {client['client_name']}").click()
    await expect(page.get_by_role("status")).to_have_text("The app's access has ended.")
    await expect(apps).to_contain_text("No apps are connected.")
    await light_and_dark(watched)
    renewed = await refresh(server.url, client["client_id"], app_tokens["refresh_token"])
    assert renewed.status_code != 200
    assert set(watched.problems) <= {f"{STATUSES} 400 (Bad Request)"}
    await page.context.close()
