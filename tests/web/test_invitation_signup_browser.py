"""An invitation link opened signed out, in a real browser on both databases: the page names
the list and who invited, with `Sign in` and `Create account`; a new account made from it, and
an account signing in (its two-factor code asked on the way), are in the list at once, checked
through the API. The invitation the sign-in carries is this browser's: the same address opened
in another browser joins nobody. axe-core in light and dark on the pages it changes."""

from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import made, open_page, person

OWNER = "Ada Lovelace"
LIST = "Garden <b>club</b>"


def members(server: Server, list_id: str, headers: dict[str, str]) -> dict[str, str]:
    listed = httpx.get(f"{server.url}/api/lists/{list_id}/members", headers=headers)
    assert listed.status_code == 200, listed.text
    return {member["user_id"]: member["role"] for member in listed.json()}


def id_of(server: Server, email: str) -> str:
    """The id of the account `email` signs in to, through the API."""
    login = httpx.post(f"{server.url}/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = httpx.get(f"{server.url}/api/auth/me", headers=bearer(login.json()["access_token"]))
    return str(me.json()["id"])


def recovery_code(server: Server, headers: dict[str, str]) -> str:
    """Two-factor sign-in turned on through the API: one of its recovery codes."""
    setup = httpx.post(
        f"{server.url}/api/auth/2fa/setup", json={"password": PASSWORD}, headers=headers
    )
    assert setup.status_code == 200, setup.text
    code = pyotp.TOTP(setup.json()["secret"]).now()
    enabled = httpx.post(f"{server.url}/api/auth/2fa/enable", json={"code": code}, headers=headers)
    assert enabled.status_code == 200, enabled.text
    return str(enabled.json()["recovery_codes"][0])


async def the_invitation(page: Page, link: str) -> None:
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Invitation")).to_be_visible()
    await expect(
        page.get_by_text(f"{OWNER} invites you to the list “{LIST}”, as an editor")
    ).to_be_visible()


async def test_create_account_or_sign_in_from_an_invitation_ends_in_the_list(
    server: Server, browser: Browser, axe_source: str
) -> None:
    _, owner, owner_id = person(server, OWNER)
    list_id = made(server, "/api/lists", {"name": LIST}, owner)["id"]
    token = made(server, f"/api/lists/{list_id}/invitations", {"role": "editor"}, owner)["token"]
    link = f"{server.url}/app/invitations/{token}"
    in_the_list = {owner_id: "owner"}

    # Signed out: the list, who invited, and the two ways in.
    newcomer = await open_page(browser, server, axe_source)
    page = newcomer.page
    await the_invitation(page, link)
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await newcomer.accessible_in_both_schemes()

    # Create account: the new account is in the list, on its page, nothing more to do.
    await page.get_by_role("link", name="Create account").click()
    await expect(page.get_by_role("heading", name="Create account")).to_be_visible()
    email = unique_email()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name=LIST)).to_be_visible()
    in_the_list[id_of(server, email)] = "editor"
    assert members(server, list_id, owner) == in_the_list
    await page.context.close()

    # Sign in, with the code from the app asked on the way: in the list once signed in.
    bob_email, bob, bob_id = person(server, "Bob")
    code = recovery_code(server, bob)
    member = await open_page(browser, server, axe_source, scheme="dark")
    page = member.page
    await the_invitation(page, link)
    await page.get_by_role("link", name="Sign in").click()
    await expect(
        page.get_by_text(f"Sign in to join the list “{LIST}” that {OWNER} shares with you.")
    ).to_be_visible()
    await member.accessible_in_both_schemes()
    carried = parse_qs(urlparse(page.url).query)["invitation"][0]
    await page.get_by_label("Email").fill(bob_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await page.get_by_label("Code from your authenticator app (or a recovery code)").fill(code)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name=LIST)).to_be_visible()
    in_the_list[bob_id] = "editor"
    assert members(server, list_id, owner) == in_the_list
    assert member.problems == []
    await page.context.close()

    # The sign-in's address with that invitation, opened in another browser: it is not
    # this browser's, so it says nothing of the list and joins nobody.
    carol_email, _, _ = person(server, "Carol")
    other = await open_page(browser, server, axe_source, javascript=False)
    page = other.page
    await page.goto(f"{server.url}/app/signin?invitation={carried}")
    await expect(page.get_by_text("Sign in to join")).to_have_count(0)
    await page.get_by_label("Email").fill(carol_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert members(server, list_id, owner) == in_the_list
    await page.context.close()
