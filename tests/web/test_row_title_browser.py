"""A task's title changed where a list shows it, in a real browser, on both databases: each row
the person may change has `Edit title` after its title (a box in its place, Enter saves, Esc
cancels, the focus back on the button), the change seen through the API and the row shown as
it now is (its subtasks still under it); a title the API refuses is said in the box's alert,
and a list the person only views offers no such button. axe-core with the box open, in light
and dark."""

import asyncio
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from tests.helpers_server import Server
from tests.web.browsing import made, open_page, register, sign_in
from tests.web.test_editing_browser import STATUSES, task_of


async def test_a_title_is_changed_in_its_row(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    plants = made(server, "/api/tasks", {"title": "Water the plants"}, headers)["id"]
    rent = made(server, "/api/tasks", {"title": "Pay rent"}, headers)["id"]
    made(server, "/api/tasks", {"title": "Find the contract", "parent_id": rent}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    box = page.get_by_role("textbox", name="Edit title")
    edit = page.get_by_role("button", name="Edit the title of Water the plants")

    # A click opens the box with the title chosen; Enter saves; the focus back on the button.
    await edit.click()
    await expect(box).to_be_focused()
    await expect(box).to_have_value("Water the plants")
    await expect(box).to_have_accessible_description("Enter saves, Esc cancels.")
    await watched.accessible_in_both_schemes()
    await box.fill("Water the tomatoes")
    await box.press("Enter")
    edit = page.get_by_role("button", name="Edit the title of Water the tomatoes")
    await expect(edit).to_be_focused()
    await expect(page.get_by_role("link", name="Water the tomatoes", exact=True)).to_be_visible()
    await expect(box).to_have_count(0)
    assert task_of(server, headers, plants)["title"] == "Water the tomatoes"

    # From the keyboard: Enter on the button opens it, Esc cancels and changes nothing.
    await page.keyboard.press("Enter")
    await expect(box).to_be_focused()
    await box.fill("Something else")
    await box.press("Escape")
    await expect(box).to_have_count(0)
    await expect(edit).to_be_focused()
    await expect(page.get_by_role("link", name="Water the tomatoes", exact=True)).to_be_visible()
    assert task_of(server, headers, plants)["title"] == "Water the tomatoes"

    # A title the API refuses (over 200 characters) is said, the box left open; a row with
    # subtasks keeps them under it.
    await page.get_by_role("button", name="Edit the title of Pay rent").click()
    await box.fill("x" * 201)
    await box.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("title")
    await expect(box).to_have_attribute("aria-invalid", "true")
    await box.fill("Pay the rent")
    await box.press("Enter")
    await expect(page.get_by_role("button", name="Edit the title of Pay the rent")).to_be_focused()
    subtask = page.locator(f"#task-{rent} > ul.subtasks").get_by_role("link")
    await expect(subtask).to_have_text("Find the contract")
    assert task_of(server, headers, rent)["title"] == "Pay the rent"
    # A subtask changed under its parent stays there, naming it only on a phone.
    await page.get_by_role("button", name="Edit the title of Find the contract").click()
    await box.fill("Find the lease")
    await box.press("Enter")
    await expect(subtask).to_have_text("Find the lease")
    named = page.locator(f"#task-{rent} > ul.subtasks span.parent")
    await expect(named).to_have_text("Subtask of Pay the rent")
    await expect(named).to_be_hidden()  # (beside the list: under its parent already)
    assert set(watched.problems) <= {f"{STATUSES} 400 (Bad Request)"}
    await page.context.close()


async def test_a_viewer_is_offered_no_title_to_change(
    server: Server, browser: Browser, axe_source: str
) -> None:
    """A list the person only views: no `Edit title` in its rows, and the post is refused."""
    _, owner = register(server)
    shared = made(server, "/api/lists", {"name": "Shared"}, owner)["id"]
    theirs = made(server, "/api/tasks", {"title": "Theirs", "list_id": shared}, owner)["id"]
    token = made(server, f"/api/lists/{shared}/invitations", {"role": "viewer"}, owner)["token"]
    email, headers = register(server)
    joined = await asyncio.to_thread(
        httpx.post, f"{server.url}/api/invitations/accept", json={"token": token}, headers=headers
    )
    assert joined.json()["role"] == "viewer", joined.text
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/lists/{shared}")
    await expect(page.get_by_role("link", name="Theirs", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Edit the title of Theirs")).to_have_count(0)
    token = await page.locator('input[name="csrf_token"]').first.input_value()
    refused: Any = await page.request.post(
        f"{server.url}/app/tasks/{theirs}/title", form={"csrf_token": token, "title": "Mine"}
    )
    assert refused.status == 400
    assert task_of(server, owner, theirs)["title"] == "Theirs"
    await page.context.close()
