"""The list's interactions in a real browser, on both databases: `Undo` for 5 s after completing
(and its form with JavaScript off), reordering by drag and drop and by Alt+arrows (checked in
the API's order), the keyboard shortcuts and their dialog, and quick add's preview marking what
it reads. axe-core runs on each state, in light and dark."""

import time
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import (
    XSS_TITLES,
    Watched,
    account_menu,
    made,
    nothing,
    open_page,
    register,
    sign_in,
    tasks_of,
)

UNDO_SECONDS = 5


def in_order(server: Server, headers: dict[str, str], list_id: str) -> list[str]:
    """The titles of a list's tasks in the list's order, as the API keeps it."""
    listed = httpx.get(
        f"{server.url}/api/tasks",
        params={"list_id": list_id, "sort": "position", "completed": "false"},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text
    return [task["title"] for task in listed.json()]


def completed(server: Server, headers: dict[str, str], title: str) -> bool:
    [task] = [task for task in tasks_of(server, headers) if task["title"] == title]
    done: bool = task["is_completed"]
    return done


def complete(server: Server, headers: dict[str, str], task_id: str) -> None:
    done = httpx.post(f"{server.url}/api/tasks/{task_id}/complete", headers=headers)
    assert done.status_code == 200, done.text


async def undo_line_accessible(watched: Watched, browser: Browser) -> None:
    """axe-core, in both themes, on the page a browser without JavaScript shows with its
    Undo line: the same address opened with JavaScript (axe-core is a script), without the
    script that takes the line away after 5 s (which two runs of axe can outlast on a loaded
    machine)."""
    state = await watched.page.context.storage_state()
    context = await browser.new_context(storage_state=state)
    await context.route("**/app/static/undo.*.js", lambda route: route.abort())
    again = Watched(await context.new_page(), watched.origin, watched.axe)
    await again.page.goto(watched.page.url)
    await expect(again.page.get_by_role("button", name="Undo")).to_be_visible()
    await again.accessible_in_both_schemes()
    await context.close()


async def focused(page: Page) -> Any:
    """What has the focus: a task row's id, or a control's accessible label."""
    return await page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.id || e.getAttribute('aria-label') || e.tagName; }"
    )


@pytest.mark.parametrize(("javascript", "scheme"), [(True, "light"), (False, "dark")])
async def test_undo_after_completing(
    server: Server, browser: Browser, axe_source: str, javascript: bool, scheme: str
) -> None:
    email, headers = register(server)
    for title in ("Pay rent", XSS_TITLES[0]):
        made(server, "/api/tasks", {"title": title}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    await sign_in(page, server, email)
    status = page.get_by_role("status").filter(has_text="Completed")

    # Completed, then undone: the task is open and its row is back.
    await page.get_by_role("checkbox", name="Complete Pay rent").click()
    await expect(status).to_have_text("Completed Pay rent")
    await expect(page.get_by_role("link", name="Pay rent", exact=True)).to_have_count(0)
    assert completed(server, headers, "Pay rent")
    # The line is the same markup either way; with JavaScript it goes after 5 s: it is
    # checked where it stays.
    await (nothing() if javascript else undo_line_accessible(watched, browser))
    await page.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("checkbox", name="Complete Pay rent")).to_be_visible()
    await expect(status).to_have_count(0)
    assert not completed(server, headers, "Pay rent")

    # A title written to run script is said as text.
    await page.get_by_role("checkbox", name=f"Complete {XSS_TITLES[0]}").click()
    await expect(status).to_have_text(f"Completed {XSS_TITLES[0]}")
    await page.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("link", name=XSS_TITLES[0])).to_be_visible()
    assert not completed(server, headers, XSS_TITLES[0])

    # Not undone: after 5 s the line goes (JavaScript on), the task stays completed.
    await page.get_by_role("checkbox", name="Complete Pay rent").click()
    await expect(status).to_have_text("Completed Pay rent")
    shown = time.monotonic()
    if javascript:
        await expect(status).to_have_count(0, timeout=(UNDO_SECONDS + 3) * 1000)
        assert time.monotonic() - shown >= UNDO_SECONDS - 1
        await expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    await page.reload()
    await expect(page.get_by_role("link", name=XSS_TITLES[0])).to_be_visible()
    await expect(page.get_by_role("link", name="Pay rent", exact=True)).to_have_count(0)
    assert completed(server, headers, "Pay rent")
    assert watched.problems == []


async def test_reorder_by_drag_and_drop_and_alt_arrows(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    titles = ["One", "Two", "Three", "Four"]
    for title in titles:
        made(server, "/api/tasks", {"title": title, "list_id": home}, headers)
    made(server, "/api/tasks", {"title": "Early", "due_date": "2001-01-01"}, headers)  # overdue
    made(server, "/api/tasks", {"title": "Late"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("navigation", name="Lists").get_by_role("link", name="Home").click()
    await expect(page.get_by_role("heading", name="Home")).to_be_visible()
    rows = page.locator("ul.tasks > li.task")
    said = page.locator("#announce")

    # "One" dropped on the lower half of "Three": it goes after it.
    target = await rows.nth(2).bounding_box()
    assert target is not None
    await rows.nth(0).drag_to(rows.nth(2), target_position={"x": 10, "y": target["height"] - 4})
    await expect(said).to_have_text("Moved One to position 3 of 4")
    await expect(rows.locator(".body a")).to_have_text(["Two", "Three", "One", "Four"])
    assert in_order(server, headers, home) == ["Two", "Three", "One", "Four"]
    await watched.accessible()

    # From the keyboard: "Four" up twice, then "Two" down once.
    await page.get_by_role("link", name="Four").focus()
    await page.keyboard.press("Alt+ArrowUp")
    await expect(said).to_have_text("Moved Four to position 3 of 4")
    await page.keyboard.press("Alt+ArrowUp")
    await expect(said).to_have_text("Moved Four to position 2 of 4")
    await expect(page.get_by_role("link", name="Four")).to_be_focused()  # kept in its row
    await page.get_by_role("link", name="Two").focus()
    await page.keyboard.press("Alt+ArrowDown")
    await expect(said).to_have_text("Moved Two to position 2 of 4")
    await expect(rows.locator(".body a")).to_have_text(["Four", "Two", "Three", "One"])
    assert in_order(server, headers, home) == ["Four", "Two", "Three", "One"]  # said once saved
    await page.keyboard.press("Alt+ArrowDown")  # the order holds after a reload
    await expect(said).to_have_text("Moved Two to position 3 of 4")
    await page.reload()
    await expect(rows.locator(".body a")).to_have_text(["Four", "Three", "Two", "One"])

    # The inbox is reordered as well; Today, gathered from every list, is not.
    await page.get_by_role("link", name="Inbox").click()
    await page.get_by_role("link", name="Late").focus()
    await page.keyboard.press("Alt+ArrowUp")
    await expect(said).to_have_text("Moved Late to position 1 of 2")
    assert in_order(server, headers, "inbox") == ["Late", "Early"]
    await page.get_by_role("link", name="Today").click()
    await expect(page.get_by_role("link", name="Early")).to_be_visible()
    await expect(page.locator("ul[data-reorder], #announce:not(:empty)")).to_have_count(0)
    assert watched.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_shortcut(
    server: Server, browser: Browser, axe_source: str, scheme: str
) -> None:
    email, headers = register(server)
    for title in ("First", "Second", "Third"):
        made(server, "/api/tasks", {"title": title}, headers)
    watched = await open_page(browser, server, axe_source, scheme=scheme)
    page = watched.page
    await sign_in(page, server, email)
    quick_add = page.get_by_role("textbox", name="Add a task")
    ids = {task["title"]: f"task-{task['id']}" for task in tasks_of(server, headers)}

    # `?` opens the dialog listing them, Escape closes it and the focus is back.
    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Complete the task in focus")
    for keys, said in (
        ("Space", "Choose the task in focus, or let it go"),
        ("Shift+click", "Choose every task up to the last one chosen"),
        ("Enter", "change its title (Enter saves, Esc cancels)"),
        ("↑ ↓ Enter", "In the Due, Priority and List menus: move and choose"),
    ):
        term = dialog.locator("dt").filter(has_text=keys).first
        await expect(term).to_be_visible()
        await expect(dialog).to_contain_text(said)
    await watched.accessible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await (await account_menu(page)).get_by_role("button", name="Keyboard shortcuts").click()
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()

    # q: quick add; typed letters there are text, not shortcuts.
    await page.keyboard.press("q")
    await expect(quick_add).to_be_focused()
    await page.keyboard.type("jkx?")
    await expect(quick_add).to_have_value("jkx?")
    await expect(dialog).to_be_hidden()
    await quick_add.fill("")
    await page.keyboard.press("Escape")
    await page.locator("h1").click()  # out of the box

    # /: the search box when the page has one; nothing typed anywhere otherwise.
    search = page.get_by_role("searchbox", name="Search")
    await page.keyboard.press("/")
    if await search.count():
        await expect(search).to_be_focused()
        await page.locator("h1").click()
    else:
        assert await page.evaluate("document.activeElement === document.body")

    # j and k move between the rows; x completes the one in focus, e opens it.
    await page.keyboard.press("j")
    assert await focused(page) == ids["First"]
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    assert await focused(page) == ids["Third"]
    await page.keyboard.press("k")
    assert await focused(page) == ids["Second"]
    await watched.accessible()
    await page.keyboard.press("x")
    await expect(page.get_by_role("status").filter(has_text="Completed")).to_have_text(
        "Completed Second"
    )  # said once the server has completed it
    await expect(page.get_by_role("button", name="Undo")).to_be_focused()
    await page.keyboard.press("Enter")  # Undo, from the keyboard, within its 5 s
    await expect(page.get_by_role("checkbox", name="Complete Second")).to_be_visible()
    await expect(page.locator(f"#{ids['Second']}")).to_be_focused()  # the row Undo brought back
    assert not completed(server, headers, "Second")
    await page.keyboard.press("k")
    await page.keyboard.press("k")
    assert await focused(page) == ids["First"]
    await page.keyboard.press("e")
    await expect(page.get_by_role("heading", name="First")).to_be_visible()

    # q on a page without quick add goes to the inbox's.
    await page.keyboard.press("q")
    await expect(quick_add).to_be_focused()
    assert watched.problems == []


async def test_quick_add_marks_what_it_reads(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    quick_add = page.get_by_role("textbox", name="Add a task")
    preview = page.locator("#quick-preview")
    marks = preview.locator("mark")

    await quick_add.press_sequentially("Pay rent tomorrow #Home @money p1", delay=5)
    await expect(marks).to_have_text(["tomorrow", "#Home", "@money", "p1"])
    for mark, kind in zip(await marks.all(), ("date", "list", "tag", "priority"), strict=True):
        await expect(mark).to_have_accessible_description(kind)
    await expect(preview).to_contain_text("Pay rent tomorrow #Home @money p1")
    await watched.accessible_in_both_schemes()
    await quick_add.press("Enter")  # Enter still adds
    await expect(quick_add).to_have_value("")
    [task] = tasks_of(server, headers)
    assert (task["title"], task["list_id"], task["tags"], task["priority"]) == (
        "Pay rent",
        home,
        ["money"],
        "high",
    )
    assert task["due_date"] is not None

    # What was typed to run script is shown as text; a list that is not there is said.
    for text in XSS_TITLES:
        await quick_add.fill(f"{text} tomorrow")
        await expect(marks).to_have_text(["tomorrow"])
        await expect(preview).to_contain_text(f"{text} tomorrow")
    assert await preview.locator("script, img").count() == 0
    await quick_add.fill("Buy bread #Nowhere")
    await expect(preview).to_contain_text("#Nowhere (characters 10 to 18) is no list of yours")
    await expect(marks).to_have_count(0)
    await watched.accessible_in_both_schemes()
    assert len(tasks_of(server, headers)) == 1  # previews write nothing
    assert watched.problems == []


def test_the_scripts_routes_refuse_a_form_without_this_browsers_token(server: Server) -> None:
    task = "00000000-0000-0000-0000-000000000000"
    for action in ("/app/quick/preview", f"/app/tasks/{task}/move", f"/app/tasks/{task}/reopen"):
        refused = httpx.post(f"{server.url}{action}", data={"text": "Pay rent tomorrow"})
        assert refused.status_code == 403, action


async def test_move_and_reopen_from_another_account_change_nothing(
    server: Server, browser: Browser, axe_source: str
) -> None:
    """The routes take ids from the address: another account's task is not found."""
    _, headers = register(server)
    theirs = made(server, "/api/tasks", {"title": "Theirs"}, headers)["id"]
    complete(server, headers, theirs)
    email, _ = register(server)
    watched: Watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    token = await page.locator('input[name="csrf_token"]').first.input_value()
    for action in ("reopen", "move"):
        answer = await page.request.post(
            f"{server.url}/app/tasks/{theirs}/{action}", form={"csrf_token": token}
        )
        assert answer.status == 404, action
    assert completed(server, headers, "Theirs")
