"""Many tasks at once, in a real browser on both databases: tasks chosen with `Select`'s boxes,
`Shift`+click and `Space` on a row in focus; each action of the bar (`Complete`, `Move to…`,
`Due…`, `Priority…`, `Delete`) applied to all of them in one request (seen through the API)
and undone with `Undo`; and one task deleted or moved to another list from its page, undone
alike, with JavaScript on and off. axe-core runs on the bar in light and dark."""

import json
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.helpers_server import Server
from tests.web.browsing import made, open_page, register, sign_in, tasks_of, view_menu

CHOSEN = ["Alpha", "Bravo", "Delta"]


def by_title(server: Server, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every task of the person (open and completed), by its title."""
    found: dict[str, dict[str, Any]] = {}
    for completed in ("false", "true"):
        listed = httpx.get(
            f"{server.url}/api/tasks", params={"completed": completed}, headers=headers
        )
        assert listed.status_code == 200, listed.text
        found.update({task["title"]: task for task in listed.json()})
    return found


def of_chosen(server: Server, headers: dict[str, str], field: str) -> list[Any]:
    tasks = by_title(server, headers)
    return [tasks[title][field] if title in tasks else None for title in CHOSEN]


def comments_of(server: Server, headers: dict[str, str], task_id: str) -> list[dict[str, Any]]:
    listed = httpx.get(f"{server.url}/api/tasks/{task_id}/comments", headers=headers)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def choose(page: Page) -> None:
    """Alpha by its box, Bravo by Shift+click on its row, Delta by Space on its row."""
    await view_menu(page)
    select = page.get_by_role("button", name="Select", exact=True)
    await select.click()
    await expect(select).to_have_attribute("aria-pressed", "true")
    await page.get_by_role("checkbox", name="Select Alpha").check()
    await page.get_by_role("link", name="Bravo").click(modifiers=["Shift"])
    await expect(page.get_by_role("checkbox", name="Select Bravo")).to_be_checked()
    await page.keyboard.press("j")  # Charlie
    await page.keyboard.press("j")  # Delta
    await page.keyboard.press("Space")
    for title, chosen in (("Alpha", True), ("Bravo", True), ("Charlie", False), ("Delta", True)):
        box = page.get_by_role("checkbox", name=f"Select {title}")
        await (expect(box).to_be_checked() if chosen else expect(box).not_to_be_checked())
    await expect(page.get_by_text("3 selected")).to_be_visible()


async def test_the_bar_acts_on_all_chosen_in_one_request_and_undoes(
    server: Server, browser: Any, axe_source: str
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    for title in ("Alpha", "Bravo", "Charlie", "Delta"):
        made(server, "/api/tasks", {"title": title}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    posts: list[str] = []
    page.on(
        "request",
        lambda request: posts.append(request.url) if "/app/bulk" in request.url else None,
    )
    await sign_in(page, server, email)
    bar = page.get_by_role("toolbar", name="Selected tasks")
    await expect(bar).to_be_hidden()
    said = page.get_by_role("status").filter(has_text="3 tasks")
    undo = page.get_by_role("button", name="Undo")

    # Complete: all three in one request, then open again.
    await choose(page)
    await expect(bar).to_be_visible()
    await watched.accessible_in_both_schemes()
    await bar.get_by_role("button", name="Complete").click()
    await expect(said).to_have_text("Completed 3 tasks")
    assert len(posts) == 1
    assert of_chosen(server, headers, "is_completed") == [True, True, True]
    await expect(page.get_by_role("link", name="Charlie")).to_be_visible()
    await expect(page.get_by_role("link", name="Alpha")).to_have_count(0)
    await expect(undo).to_be_focused()
    await undo.click()
    await expect(said).to_have_count(0)  # the list again, as the undo left it
    await expect(page.get_by_role("link", name="Alpha")).to_be_visible()
    assert of_chosen(server, headers, "is_completed") == [False, False, False]

    # Move to… another list, and back.
    await choose(page)
    await bar.get_by_role("button", name="Move to…").click()
    await page.get_by_role("combobox", name="List").select_option(label="Home")
    await page.get_by_role("button", name="Move", exact=True).click()
    await expect(said).to_have_text("Moved 3 tasks to Home")
    assert of_chosen(server, headers, "list_id") == [home, home, home]
    await undo.click()
    await expect(said).to_have_count(0)  # the list again, as the undo left it
    await expect(page.get_by_role("link", name="Alpha")).to_be_visible()
    assert of_chosen(server, headers, "list_id") == [None, None, None]

    # Due…: a day, then none again.
    await choose(page)
    await bar.get_by_role("button", name="Due…").click()
    await page.get_by_label("Due date").fill("2031-03-04")
    await page.get_by_role("button", name="Set due date").click()
    await expect(said).to_have_text("Changed the due date of 3 tasks")
    assert of_chosen(server, headers, "due_date") == ["2031-03-04"] * 3
    await undo.click()
    await expect(said).to_have_count(0)  # the list again, as the undo left it
    await expect(page.get_by_role("link", name="Alpha")).to_be_visible()
    assert of_chosen(server, headers, "due_date") == [None, None, None]

    # Priority…
    await choose(page)
    await bar.get_by_role("button", name="Priority…").click()
    await watched.accessible_in_both_schemes()  # the bar with a choice open
    await page.get_by_role("combobox", name="Priority").select_option(label="High")
    await page.get_by_role("button", name="Set priority").click()
    await expect(said).to_have_text("Changed the priority of 3 tasks")
    assert of_chosen(server, headers, "priority") == ["high"] * 3
    await undo.click()
    await expect(said).to_have_count(0)  # the list again, as the undo left it
    await expect(page.get_by_role("link", name="Alpha")).to_be_visible()
    assert of_chosen(server, headers, "priority") == ["none"] * 3

    # Delete: gone, then made again.
    await choose(page)
    await bar.get_by_role("button", name="Delete").click()
    await expect(said).to_have_text("Deleted 3 tasks")
    assert sorted(by_title(server, headers)) == ["Charlie"]
    await undo.click()
    await expect(said).to_have_count(0)  # the list again, as the undo left it
    await expect(page.get_by_role("link", name="Delta")).to_be_visible()
    assert sorted(by_title(server, headers)) == ["Alpha", "Bravo", "Charlie", "Delta"]
    # Esc lets them all go; the arrows go along the bar.
    await choose(page)
    await bar.get_by_role("button", name="Complete").focus()
    await page.keyboard.press("ArrowRight")
    await expect(bar.get_by_role("button", name="Move to…")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(bar).to_be_hidden()
    await expect(page.get_by_role("checkbox", name="Select Alpha")).to_have_count(0)
    # Space on a row, and Shift+click, choose without pressing Select first.
    await page.get_by_role("link", name="Bravo").focus()
    await page.keyboard.press("Space")
    await expect(page.get_by_role("checkbox", name="Select Bravo")).to_be_checked()
    await page.keyboard.press("Escape")
    await page.get_by_role("link", name="Charlie").click(modifiers=["Shift"])
    await expect(page.get_by_role("checkbox", name="Select Charlie")).to_be_checked()
    await expect(page.get_by_text("1 selected")).to_be_visible()
    assert len(posts) == 10  # each action and each Undo: one request
    assert watched.problems == []
    await page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_one_task_deleted_or_moved_from_its_page_is_undone(
    server: Server, browser: Any, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    plants = made(server, "/api/tasks", {"title": "Water the plants", "list_id": home}, headers)
    soil = made(server, "/api/tasks", {"title": "Buy soil", "parent_id": plants["id"]}, headers)
    comment = made(server, f"/api/tasks/{plants['id']}/comments", {"body": "Rainwater"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    await sign_in(page, server, email)
    task = by_title(server, headers)["Water the plants"]

    # Moved to the inbox on its page, and back.
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    await page.get_by_label("List", exact=True).select_option(label="Inbox")
    await page.get_by_role("button", name="Save", exact=True).click()
    said = page.get_by_role("status").filter(has_text="Water the plants")
    await expect(said).to_have_text("Moved Water the plants to Inbox")
    assert by_title(server, headers)["Water the plants"]["list_id"] is None
    await page.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("heading", name="Water the plants")).to_be_visible()
    await expect(said).to_have_count(0)
    assert by_title(server, headers)["Water the plants"]["list_id"] == home

    # Deleted on its page: the list says so, and Undo brings the same task back.
    await page.get_by_role("button", name="Delete", exact=True).click()
    await expect(said).to_have_text("Deleted Water the plants")
    await expect(page.get_by_role("heading", name="Home")).to_be_visible()
    assert tasks_of(server, headers) == []
    await page.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("link", name="Water the plants")).to_be_visible()
    again = by_title(server, headers)  # the same task, its subtask under it, its comment
    assert again["Water the plants"]["id"] == plants["id"]
    assert again["Water the plants"]["list_id"] == home
    assert again["Buy soil"]["id"] == soil["id"]
    assert again["Buy soil"]["parent_id"] == plants["id"]
    assert [c["id"] for c in comments_of(server, headers, plants["id"])] == [comment["id"]]
    assert watched.problems == []
    await page.context.close()


async def test_a_bulk_of_another_accounts_tasks_changes_nothing(
    server: Server, browser: Any, axe_source: str
) -> None:
    """The ids come from the form, and its Undo's operations too: each is checked as the API
    checks it (another account's task is not there), all or nothing; without this browser's
    token nothing is read."""
    _, theirs_headers = register(server)
    theirs = made(server, "/api/tasks", {"title": "Theirs"}, theirs_headers)["id"]
    email, headers = register(server)
    mine = made(server, "/api/tasks", {"title": "Mine"}, headers)["id"]
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    token = await page.locator('input[name="csrf_token"]').first.input_value()
    bulk = f"{server.url}/app/bulk"
    forged = json.dumps([{"op": "delete", "id": theirs}])
    for form in (
        {"csrf_token": token, "action": "delete", "task": theirs},
        {"csrf_token": token, "undo": forged},
    ):
        answer = await page.request.post(bulk, form=form)
        assert answer.status == 400, form
    own = await page.request.post(
        bulk, form={"csrf_token": token, "action": "complete", "task": mine}
    )
    assert own.status == 200
    refused = await page.request.post(bulk, form={"action": "delete", "task": mine})
    assert refused.status == 403
    assert [t["title"] for t in tasks_of(server, theirs_headers)] == ["Theirs"]
    assert by_title(server, headers)["Mine"]["is_completed"]
    await page.context.close()


async def test_without_javascript_select_chooses_tasks_for_the_bar(
    server: Server, browser: Any, axe_source: str
) -> None:
    """Without JavaScript `Select` is a link to the list with a box in each row and the bar's
    choices shown: the tasks ticked get the action in one request, and `Undo` puts it back."""
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    for title in ("Alpha", "Bravo", "Charlie", "Delta"):
        made(server, "/api/tasks", {"title": title}, headers)
    watched = await open_page(browser, server, axe_source, javascript=False)
    page = watched.page
    await sign_in(page, server, email)
    await expect(page.get_by_role("checkbox", name="Select Alpha")).to_have_count(0)
    await view_menu(page)
    await page.get_by_role("link", name="Select", exact=True).click()
    await expect(page.get_by_role("toolbar", name="Selected tasks")).to_be_visible()

    async def tick(*titles: str) -> None:
        for title in titles:
            await page.get_by_role("checkbox", name=f"Select {title}").check()

    await tick("Alpha", "Bravo", "Delta")
    await page.get_by_label("List", exact=True).select_option(label="Home")
    await page.get_by_role("button", name="Move", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="3 tasks")).to_have_text(
        "Moved 3 tasks to Home"
    )
    assert of_chosen(server, headers, "list_id") == [home, home, home]
    assert by_title(server, headers)["Charlie"]["list_id"] is None
    await expect(page.get_by_role("checkbox", name="Select Charlie")).to_have_count(0)
    await page.get_by_role("button", name="Undo").click()
    assert of_chosen(server, headers, "list_id") == [None, None, None]

    # The due date set, then taken away (`No date`, whatever the box holds), then Cancel.
    await view_menu(page)
    await page.get_by_role("link", name="Select", exact=True).click()
    await tick("Alpha", "Bravo", "Delta")
    await page.get_by_label("Due date", exact=True).fill("2031-05-04")
    await page.get_by_role("button", name="Set due date").click()
    assert of_chosen(server, headers, "due_date") == ["2031-05-04"] * 3
    await view_menu(page)
    await page.get_by_role("link", name="Select", exact=True).click()
    await tick("Alpha", "Bravo")
    await page.get_by_label("Due date", exact=True).fill("2032-01-01")
    await page.get_by_role("button", name="No date").click()
    assert of_chosen(server, headers, "due_date") == [None, None, "2031-05-04"]
    await view_menu(page)
    await page.get_by_role("link", name="Select", exact=True).click()
    await page.get_by_role("link", name="Cancel").click()
    await expect(page.get_by_role("toolbar", name="Selected tasks")).to_be_hidden()
    await expect(page.get_by_role("checkbox", name="Select Alpha")).to_have_count(0)
    assert watched.problems == []
    await page.context.close()
    # axe-core needs JavaScript: the same page (select.js leaves its boxes and bar alone).
    checked = await open_page(browser, server, axe_source)
    await sign_in(checked.page, server, email)
    await checked.page.goto(f"{server.url}/app/?select=1")
    await checked.page.get_by_role("checkbox", name="Select Alpha").check()
    await checked.accessible_in_both_schemes()
    assert checked.problems == []
    await checked.page.context.close()
