"""Signing in every way in a real browser (Playwright driving Debian's Chromium) against a real
`todo-api serve`, on both databases: sign up from the sign-in page and through a list's
invitation link (with JavaScript and without); then, on a server with PUBLIC_URL on localhost,
mail (a local SMTP sink) and the project's test OpenID provider: forgot and reset password
through the emailed link, a passkey made in Chromium's virtual authenticator (DevTools'
WebAuthn domain) signing in, and the identity provider's button. axe-core runs on every page
(light and dark), and nothing the page should not do happens."""

import asyncio
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, link_token, unique_email
from tests.accounts.test_oidc import CLIENT_SECRET, provider
from tests.helpers_server import Server, free_port, running_server
from tests.reminders.smtp import Mailbox, mailbox
from tests.web.browsing import add_authenticator, made, nothing, open_page, register, sign_out
from tests.web.conftest import web_env

PROVIDER_NAME = "Example SSO"
NEW_PASSWORD = "a brand new passphrase"


async def sign_up(page: Page, email: str) -> None:
    """The sign-up form, filled and sent: the inbox of the new account."""
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()


@pytest.mark.parametrize(
    ("javascript", "scheme"), [(True, "light"), (False, "dark")], ids=["js-light", "nojs-dark"]
)
async def test_sign_up_from_the_sign_in_page_and_through_an_invitation_link(
    server: Server, browser: Browser, axe_source: str, javascript: bool, scheme: str
) -> None:
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    check = watched.accessible if javascript else nothing
    await page.goto(f"{server.url}/app/signin")
    # Without PUBLIC_URL, passkeys work on localhost only: no button on 127.0.0.1.
    await expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)
    await page.get_by_role("link", name="Create account").click()
    await expect(page.get_by_role("heading", name="Create account")).to_be_visible()
    await check()
    email = unique_email()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
    await expect(page.get_by_text(email)).to_be_visible()
    await sign_out(page)
    await expect(page.get_by_text("You are signed out.")).to_be_visible()  # before going on

    # The same email again: the API's answer, the form kept.
    await page.goto(f"{server.url}/app/signup")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("already exists")
    await expect(page.get_by_label("Email")).to_have_value(email)
    await check()

    # A list's invitation link opens the sign-up; the new account is in the list.
    _, owner = register(server)
    shared = made(server, "/api/lists", {"name": "Shared <b>groceries</b>"}, owner)
    invitation = made(server, f"/api/lists/{shared['id']}/invitations", {"role": "editor"}, owner)
    await page.goto(f"{server.url}/app/signup?{urlencode({'invitation': invitation['token']})}")
    await expect(page.get_by_text("You were invited to a shared list")).to_be_visible()
    await sign_up(page, unique_email())
    await page.get_by_role("link", name="Shared <b>groceries</b>").click()
    await expect(page.get_by_role("heading", name="Shared <b>groceries</b>")).to_be_visible()
    await check()
    assert watched.problems == [
        "console: Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    await page.context.close()


# --- a server with PUBLIC_URL on localhost, mail and an identity provider ----------------------


class LocalServer(Server):
    """The server as a browser opens it: at localhost (passkeys need a name, not an address)."""

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"


@dataclass
class Setup:
    server: LocalServer
    box: Mailbox
    issuer: str


@pytest.fixture(scope="module")
def setup(web_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    port = free_port()
    public_url = f"http://localhost:{port}"
    directory = tmp_path_factory.mktemp("signin")
    with provider(f"{public_url}/api/auth/oidc/callback") as issuer, mailbox() as box:
        env = web_env(
            web_database_url,
            PUBLIC_URL=public_url,
            SMTP_URL=box.url,
            EMAIL_VERIFICATION="off",
            OIDC_ISSUER=issuer,
            OIDC_CLIENT_ID="todo-api",
            OIDC_CLIENT_SECRET=CLIENT_SECRET,
            OIDC_NAME=PROVIDER_NAME,
        )
        with running_server(directory, env, directory / "server.log", port) as started:
            server = LocalServer(started.process, started.port, started.log_path)
            yield Setup(server, box, issuer)


async def wait_for_mail(box: Mailbox, recipient: str) -> str:
    """The token of the reset link emailed to `recipient`."""
    for _ in range(150):
        found = [m for m in box.messages() if str(m["To"]) == recipient]
        if found:
            return link_token(found[-1], "reset-password")
        await asyncio.sleep(0.1)
    raise AssertionError(f"no email to {recipient}")


async def test_forgot_and_reset_the_password_through_the_emailed_link_without_javascript(
    setup: Setup, browser: Browser, axe_source: str
) -> None:
    server = setup.server
    email, _ = register(server)
    for javascript in (True, False):  # axe checks the pages (dark); the flow runs JS-off
        watched = await open_page(browser, server, axe_source, javascript=javascript, scheme="dark")
        page = watched.page
        await page.goto(f"{server.url}/app/signin")
        # The passkey button needs its script: there with JavaScript, absent without.
        passkey = page.get_by_role("button", name="Sign in with a passkey")
        await expect(passkey).to_have_count(1 if javascript else 0)
        await page.get_by_role("link", name="Forgot your password?").click()
        await expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
        if javascript:
            await watched.accessible()
            await page.context.close()
            continue
        await page.get_by_label("Email").fill(email)
        await page.get_by_role("button", name="Send the link").click()
        await expect(page.get_by_role("status")).to_contain_text("is on its way")
        token = await wait_for_mail(setup.box, email)
        # The email's link: the service's documented page, which sends a browser on.
        await page.goto(f"{server.url}/account/reset-password?token={token}")
        await expect(page).to_have_url(re.compile(r"/app/reset\?token="))
        await page.get_by_label("New password").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Set the new password").click()
        await expect(page.get_by_role("status")).to_contain_text("Your password is changed")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
        assert watched.problems == []
        await page.context.close()


async def test_a_passkey_signs_in_with_nothing_typed(
    setup: Setup, browser: Browser, axe_source: str
) -> None:
    server = setup.server
    email, headers = register(server)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await add_authenticator(page)
    await page.goto(f"{server.url}/app/signin")
    # The passkey is registered through the API, from this page (its origin is the relying
    # party's), as a frontend does.
    registered = await page.evaluate(
        """async (headers) => {
          const post = (url, body) => fetch(url, {method: "POST",
            headers: {...headers, "Content-Type": "application/json"}, body: JSON.stringify(body)});
          const options = await (await post("/api/auth/passkeys/register/options", {})).json();
          const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
          const credential = (await navigator.credentials.create({publicKey})).toJSON();
          return (await post("/api/auth/passkeys/register", {credential})).status;
        }""",
        headers,
    )
    assert registered == 201
    # Signing in from an invitation: the passkey's form carries it too, and the list is joined.
    _, owner = register(server)
    shared = made(server, "/api/lists", {"name": "Choir"}, owner)
    invitation = made(server, f"/api/lists/{shared['id']}/invitations", {"role": "viewer"}, owner)
    await page.goto(f"{server.url}/app/invitations/{invitation['token']}")
    await page.get_by_role("link", name="Sign in").click()
    button = page.get_by_role("button", name="Sign in with a passkey")
    await expect(button).to_be_visible()
    await watched.accessible()
    await button.click()
    await expect(page.get_by_role("heading", name="Choir")).to_be_visible()
    await expect(page.get_by_text(email)).to_be_visible()
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
        sessions = (await api.get("/api/auth/sessions")).json()
    assert len(sessions) == 2  # the browser's sign-in is one of the account's
    assert watched.problems == []
    await page.context.close()


async def test_the_identity_providers_button_signs_in(
    setup: Setup, browser: Browser, axe_source: str
) -> None:
    server = setup.server
    email = unique_email()
    _, owner = register(server)
    shared = made(server, "/api/lists", {"name": "Band"}, owner)
    invitation = made(server, f"/api/lists/{shared['id']}/invitations", {"role": "editor"}, owner)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    # From an invitation: the trip to the provider and back carries it, and ends in the list.
    await page.goto(f"{server.url}/app/invitations/{invitation['token']}")
    await page.get_by_role("link", name="Sign in").click()
    await watched.accessible()
    await page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    # At the provider: its sign-in, as the person fills it in (the test provider's login
    # takes the person's claims).
    await page.wait_for_url(re.compile(r"/interaction/[^/?]+$"))
    claims = {"sub": f"sub-{secrets.token_hex(6)}", "email": email, "email_verified": "true"}
    await page.goto(f"{page.url}/login?{urlencode(claims)}")
    await page.wait_for_url(f"{server.url}/app/lists/{shared['id']}", timeout=30_000)
    await expect(page.get_by_role("heading", name="Band")).to_be_visible()
    await expect(page.get_by_text(email)).to_be_visible()
    # Requests went to the provider (its origin) and nowhere else; the test provider's bare
    # sign-in page has no icon (a 404 the browser logs).
    at_provider = f"request: {setup.issuer}/"
    missing_icon = "console: Failed to load resource: the server responded with a status of 404"
    assert [p for p in watched.problems if not p.startswith((at_provider, missing_icon))] == []
    assert any(p.startswith(at_provider) for p in watched.problems)
    await page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_sign_in_page_is_accessible(
    setup: Setup, browser: Browser, axe_source: str, scheme: str
) -> None:
    server = setup.server
    watched = await open_page(browser, server, axe_source, scheme=scheme)
    page = watched.page
    for path, heading in [
        ("/app/signin", "Sign in"),
        ("/app/signup", "Create account"),
        ("/app/signup?invitation=not-a-real-one", "Create account"),
        ("/app/forgot", "Forgot your password?"),
        ("/app/reset?token=not-a-real-one", "Choose a new password"),
        ("/app/verify?token=not-a-real-one", "Confirm your email"),
    ]:
        await page.goto(f"{server.url}{path}")
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        await watched.accessible()
    # And with their messages: a link that does not work, said in an alert.
    await page.get_by_role("button", name="Confirm the email").click()
    await expect(page.get_by_role("alert")).to_contain_text("This link does not work")
    await watched.accessible()
    assert watched.problems == [
        "console: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    await page.context.close()
