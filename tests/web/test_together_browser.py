"""Working together in a real browser, on both databases: two people in two browser contexts.
The owner shares a list by an invitation link, the other opens it signed out and signs in
from it (in the list at once), adds a task; the owner sees them among the members, changes
their role, hands the list over, and the new owner removes the old one (or the old one
leaves). With JavaScript on and off; axe-core in light and dark on the sharing and invitation
pages; list and user names written to run script are shown as text."""

from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import XSS_TITLES, Watched, made, open_page, sign_in

STATUSES = "console: Failed to load resource: the server responded with a status of"


def person(server: Server, name: str) -> tuple[str, dict[str, str], str]:
    """A new account with a name, through the API: its email, bearer headers and id."""
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "name": name}
    created = httpx.post(f"{server.url}/api/auth/register", json=body)
    assert created.status_code == 201, created.text
    headers = bearer(created.json()["access_token"])
    me = httpx.get(f"{server.url}/api/auth/me", headers=headers).json()
    return email, headers, str(me["id"])


def members(server: Server, list_id: str, headers: dict[str, str]) -> dict[str, str]:
    """The list's members as the API gives them: user id -> role."""
    listed = httpx.get(f"{server.url}/api/lists/{list_id}/members", headers=headers)
    assert listed.status_code == 200, listed.text
    return {m["user_id"]: m["role"] for m in listed.json()}


def api(server: Server, method: str, path: str, headers: dict[str, str], **rest: Any) -> Any:
    """A call to the API: its response."""
    return httpx.request(method, f"{server.url}{path}", headers=headers, **rest)


def the_list(server: Server, list_id: str, headers: dict[str, str]) -> httpx.Response:
    return api(server, "GET", f"/api/lists/{list_id}", headers)


async def both_schemes(watched: Watched, javascript: bool) -> None:
    """axe-core in dark and light (without JavaScript, axe cannot run in the page)."""
    if javascript:
        await watched.accessible_in_both_schemes()


async def sign_in_here(page: Page, email: str) -> None:
    """The sign-in page the browser is on (not the one `sign_in` opens)."""
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_share_join_change_role_hand_over_and_part(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    ada_name, bob_name = XSS_TITLES
    ada_email, ada, ada_id = person(server, ada_name)
    bob_email, bob, bob_id = person(server, bob_name)
    list_name = f"{XSS_TITLES[1]} Groceries"
    list_id = made(server, "/api/lists", {"name": list_name}, ada)["id"]

    # Ada makes a link for an editor, and one for a viewer that she revokes.
    owner = await open_page(browser, server, axe_source, javascript=javascript)
    page = owner.page
    if javascript:
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await sign_in(page, server, ada_email)
    sharing = f"{server.url}/app/lists/{list_id}/sharing"
    await page.goto(sharing)
    await expect(page.get_by_role("heading", name=f"Sharing: {list_name}")).to_be_visible()
    await expect(page.get_by_text("No invitation links.")).to_be_visible()
    await both_schemes(owner, javascript)
    await page.get_by_label("Role", exact=True).select_option("viewer")
    await page.get_by_role("button", name="Create invitation link").click()
    await page.get_by_role("button", name="Revoke Viewer link").click()
    await expect(page.get_by_role("button", name="Revoke Viewer link")).to_have_count(0)
    await page.get_by_label("Role", exact=True).select_option("editor")
    await page.get_by_role("button", name="Create invitation link").click()
    shown = page.get_by_label("New invitation link (Editor), shown only now")
    link = await shown.input_value()
    assert link.startswith(f"{server.url}/app/invitations/")
    await expect(page.get_by_role("button", name="Revoke Editor link")).to_have_count(1)
    await both_schemes(owner, javascript)
    if javascript:  # the Copy link button puts it on the clipboard
        await page.get_by_role("button", name="Copy link").click()
        await expect(page.get_by_role("button", name="Copy link (copied)")).to_be_visible()
        assert await page.evaluate("navigator.clipboard.readText()") == link
    listed = api(server, "GET", f"/api/lists/{list_id}/invitations", ada).json()
    assert [invitation["role"] for invitation in listed] == ["editor"]

    # Bob opens the link signed out, signs in from it and is in the list.
    invited = await open_page(browser, server, axe_source, javascript=javascript, scheme="dark")
    other = invited.page
    await other.goto(link)
    await expect(other.get_by_role("heading", name="Invitation")).to_be_visible()
    await expect(
        other.get_by_text(f"{ada_name} invites you to the list “{list_name}”")
    ).to_be_visible()
    await both_schemes(invited, javascript)
    await other.get_by_role("link", name="Sign in").click()
    await sign_in_here(other, bob_email)
    await expect(other.get_by_role("heading", name=list_name)).to_be_visible()
    nav = other.get_by_role("navigation", name="Lists")
    await expect(nav.get_by_role("link", name=list_name)).to_be_visible()
    quick_add = other.get_by_role("textbox", name="Add a task")
    await quick_add.fill("Bring the bread")
    await quick_add.press("Enter")
    await expect(other.get_by_role("link", name="Bring the bread", exact=True)).to_be_visible()
    [task] = api(server, "GET", "/api/tasks", ada, params={"list_id": list_id}).json()
    assert (task["title"], task["created_by"]) == ("Bring the bread", bob_id)
    assert members(server, list_id, ada) == {ada_id: "owner", bob_id: "editor"}

    # Ada sees Bob among the members and makes him a viewer.
    await page.goto(sharing)
    await expect(page.locator(".member .person", has_text=bob_name)).to_be_visible()
    await page.get_by_label(f"Role of {bob_name}").select_option("viewer")
    await page.get_by_role("button", name=f"Change role of {bob_name}").click()
    await expect(page.get_by_label(f"Role of {bob_name}")).to_have_value("viewer")
    assert members(server, list_id, ada)[bob_id] == "viewer"

    # She hands the list over to him, confirming first.
    await page.get_by_label("New owner").select_option(bob_id)
    await page.get_by_role("button", name="Hand over", exact=True).click()
    await expect(page.get_by_role("heading", name="Hand over the list?")).to_be_visible()
    await both_schemes(owner, javascript)
    assert members(server, list_id, ada)[ada_id] == "owner"  # nothing yet
    await page.get_by_role("button", name="Confirm hand over").click()
    await expect(page.get_by_role("button", name="Leave list")).to_be_visible()
    await expect(page.get_by_role("button", name="Create invitation link")).to_have_count(0)
    assert members(server, list_id, bob) == {bob_id: "owner", ada_id: "editor"}
    assert the_list(server, list_id, bob).json()["owner_id"] == bob_id
    handed = api(server, "GET", f"/api/tasks/{task['id']}", bob).json()
    assert (handed["user_id"], handed["created_by"]) == (bob_id, bob_id)  # the list's tasks too

    if javascript:  # Ada leaves
        await both_schemes(owner, javascript)
        await page.get_by_role("button", name="Leave list").click()
        await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        nav = page.get_by_role("navigation", name="Lists")
        await expect(nav.get_by_role("link", name=list_name)).to_have_count(0)
    else:  # Bob, the owner now, removes her
        await other.goto(sharing)
        await other.get_by_role("button", name=f"Remove {ada_name}").click()
        await expect(other.get_by_role("button", name=f"Remove {ada_name}")).to_have_count(0)
    assert members(server, list_id, bob) == {bob_id: "owner"}
    assert the_list(server, list_id, ada).status_code == 404
    assert owner.problems == []
    assert invited.problems == []


async def test_refusals_and_unknown_links(
    server: Server, browser: Browser, axe_source: str
) -> None:
    ada_email, ada, ada_id = person(server, "Ada")
    bob_email, bob, bob_id = person(server, "Bob")
    list_id = made(server, "/api/lists", {"name": "Garden"}, ada)["id"]
    token = made(server, f"/api/lists/{list_id}/invitations", {"role": "viewer"}, ada)["token"]

    # Ada opens her own link: she is a member already.
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, ada_email)
    await page.goto(f"{server.url}/app/invitations/{token}")
    await expect(page.get_by_role("status")).to_have_text("You are a member of this list already.")
    await expect(page.get_by_role("button", name="Join list")).to_have_count(0)

    # An unknown link says so, and the page passes axe.
    await page.goto(f"{server.url}/app/invitations/not-a-token")
    await expect(page.get_by_role("alert")).to_have_text("Invitation not found")
    await watched.accessible()

    # A sign-in sends nowhere but the app, whatever `next` says.
    bob_page = await open_page(browser, server, axe_source, javascript=False)
    await bob_page.page.goto(f"{server.url}/app/signin?next=https://example.org/")
    await sign_in_here(bob_page.page, bob_email)
    await expect(bob_page.page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert bob_page.page.url == f"{server.url}/app/"

    # Bob, a viewer, sees the members but may not manage them; asking anyway changes nothing.
    joined = api(server, "POST", "/api/invitations/accept", bob, json={"token": token})
    assert joined.status_code == 200, joined.text
    other = bob_page.page
    await other.goto(f"{server.url}/app/lists/{list_id}/sharing")
    await expect(other.locator(".member .person", has_text="Ada")).to_be_visible()
    await expect(other.get_by_role("button", name="Create invitation link")).to_have_count(0)
    await expect(other.get_by_role("button", name="Remove Ada")).to_have_count(0)
    csrf = await other.locator("input[name=csrf_token]").first.input_value()
    answer = await other.request.post(
        f"{server.url}/app/lists/{list_id}/members/{ada_id}/remove",
        form={"csrf_token": csrf},
    )
    assert answer.status == 403
    assert "Only the list&#39;s owner may remove other members" in await answer.text()
    taken = await other.request.post(
        f"{server.url}/app/lists/{list_id}/handover",
        form={"csrf_token": csrf, "member_id": bob_id},
    )
    assert taken.status == 403
    assert "Only the list&#39;s owner may hand it over" in await taken.text()
    forged = await other.request.post(
        f"{server.url}/app/lists/{list_id}/invitations", form={"role": "editor"}
    )
    assert forged.status == 403  # no CSRF token: refused before anything
    assert members(server, list_id, ada) == {ada_id: "owner", bob_id: "viewer"}

    # Ada hands "Garden" to Bob, who has a "garden" of his own: his copy gets a number.
    made(server, "/api/lists", {"name": "garden"}, bob)
    await page.goto(f"{server.url}/app/lists/{list_id}/sharing")
    await page.get_by_label("New owner").select_option(bob_id)
    await page.get_by_role("button", name="Hand over", exact=True).click()
    await page.get_by_role("button", name="Confirm hand over").click()
    await expect(page.get_by_role("heading", name="Sharing: Garden (2)")).to_be_visible()
    assert members(server, list_id, bob) == {bob_id: "owner", ada_id: "editor"}
    strays: dict[str, Any] = {"404": f"{STATUSES} 404 (Not Found)"}
    assert set(watched.problems) <= set(strays.values())
    assert bob_page.problems == []
