"""Capture at speed, in a real browser on both databases: quick add adds in place (no page
load: a mark set on `window` survives) and keeps its box focused for the next task, on a phone
too (a tap on `Add` leaves the keyboard open); the live region says what was added. A `#list`
that is not there is offered to be made, or the task added where it is. A title edited in
place has its date words highlighted as typed and taken into the due date. A task added
offline opens, completes and changes before it reaches the server, and reaches it once."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, expect

from tests.helpers_server import Server
from tests.web.browsing import (
    TIMEOUT_MS,
    Watched,
    made,
    open_page,
    register,
    sign_in,
    tasks_of,
)

REFUSED = "console: Failed to load resource: the server responded with a status of 400"


def task_of(server: Server, headers: dict[str, str], task_id: str) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{server.url}/api/tasks/{task_id}", headers=headers).json()
    return found


def list_names(server: Server, headers: dict[str, str]) -> list[str]:
    return [item["name"] for item in httpx.get(f"{server.url}/api/lists", headers=headers).json()]


async def signed_in(browser: Browser, server: Server, axe: str) -> tuple[dict[str, str], Watched]:
    """A new account, signed in in a page of its own: its bearer headers and the page."""
    email, headers = register(server)
    watched = await open_page(browser, server, axe)
    await sign_in(watched.page, server, email)
    return headers, watched


async def phone(browser: Browser, server: Server, axe: str) -> Watched:
    """A page on a touch screen (a phone's width once signed in: its lists are a drawer)."""
    context = await browser.new_context(viewport={"width": 1100, "height": 700}, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    watched = Watched(await context.new_page(), server.url, axe)
    watched.watch()
    return watched


async def test_quick_add_twice_in_place(server: Server, browser: Browser, axe_source: str) -> None:
    email, headers = register(server)
    watched = await phone(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.evaluate("window.stayed = true")
    box = page.get_by_role("textbox", name="Add a task")
    await box.fill("Buy milk")
    await box.press("Enter")
    await expect(page.get_by_role("link", name="Buy milk", exact=True)).to_be_visible()
    await expect(box).to_be_focused()
    await expect(box).to_have_value("")
    await expect(page.locator("#announce")).to_have_text("Added Buy milk")
    # The second from the button, tapped: the box keeps the focus.
    await box.fill("Call the bank")
    await page.get_by_role("button", name="Add", exact=True).tap()
    await expect(page.get_by_role("link", name="Call the bank", exact=True)).to_be_visible()
    await expect(box).to_be_focused()
    await expect(box).to_have_value("")
    assert await page.evaluate("window.stayed") is True  # never loaded again
    assert sorted(task["title"] for task in tasks_of(server, headers)) == [
        "Buy milk",
        "Call the bank",
    ]
    await watched.accessible_in_both_schemes()
    assert watched.problems == []


async def test_unknown_list_offered_both_ways(
    server: Server, browser: Browser, axe_source: str
) -> None:
    headers, watched = await signed_in(browser, server, axe_source)
    page = watched.page
    box = page.get_by_role("textbox", name="Add a task")
    # Made: the list, with the task in it.
    await box.fill("Buy milk #Groceries")
    await box.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text("There is no list named “Groceries”.")
    await expect(box).to_have_value("Buy milk #Groceries")
    await watched.accessible_in_both_schemes()
    await page.get_by_role("button", name="Make the list “Groceries”").click()
    groceries = page.get_by_role("navigation", name="Lists").get_by_role("link", name="Groceries")
    await expect(groceries).to_be_visible()
    await expect(box).to_have_value("")
    await expect(box).to_be_focused()
    await expect(page.get_by_role("alert")).to_have_count(0)
    # Where it is: in the inbox, the words kept in its title.
    await box.fill("Read #Someday tomorrow")
    await box.press("Enter")
    await page.get_by_role("button", name="Add to Inbox").click()
    await expect(page.get_by_role("link", name="Read #Someday", exact=True)).to_be_visible()
    found = {task["title"]: task for task in tasks_of(server, headers)}
    assert found["Buy milk"]["list_id"] is not None
    assert found["Read #Someday"]["list_id"] is None
    assert found["Read #Someday"]["due_date"] is not None
    assert list_names(server, headers) == ["Groceries"]
    # (the offer is the form's answer: 400, as without JavaScript)
    assert [p for p in watched.problems if not p.startswith(REFUSED)] == []


async def test_title_in_place_reads_its_date(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Call mum"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("button", name="Edit the title of Call mum").click()
    box = page.get_by_role("textbox", name="Edit title")
    await box.fill("Call mum tomorrow 5pm")
    await expect(page.locator(".row-title mark")).to_have_text("tomorrow 5pm")
    await watched.accessible_in_both_schemes()
    await box.press("Enter")
    await expect(page.get_by_role("link", name="Call mum", exact=True)).to_be_visible()
    changed = task_of(server, headers, task["id"])
    zone = ZoneInfo(changed["timezone"] or "UTC")
    due = datetime.fromisoformat(changed["due_at"]).astimezone(zone)
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    assert (changed["title"], due.date(), due.hour, due.minute) == ("Call mum", tomorrow, 17, 0)
    assert watched.problems == []


async def test_task_added_offline_opened_completed_and_edited(
    server: Server, browser: Browser, axe_source: str
) -> None:
    headers, watched = await signed_in(browser, server, axe_source)
    page = watched.page
    await page.context.set_offline(True)
    box = page.get_by_role("textbox", name="Add a task")
    await box.fill("Call the plumber")
    await box.press("Enter")
    await page.get_by_role("link", name="Call the plumber", exact=True).click()
    heading = page.get_by_role("heading", name="Call the plumber", level=1)
    await expect(heading).to_be_visible()
    await page.get_by_role("textbox", name="Title").fill("Call the plumber again")
    await page.get_by_role("button", name="Save").click()
    await expect(
        page.get_by_role("heading", name="Call the plumber again", level=1)
    ).to_be_visible()
    check = page.get_by_role("checkbox", name="Complete Call the plumber again")
    await check.click()
    await expect(page.get_by_role("checkbox", name="Reopen Call the plumber again")).to_be_checked()
    await watched.accessible_in_both_schemes()
    await page.get_by_role("link", name="Back").click()
    await expect(page.get_by_role("link", name="Call the plumber again")).to_be_hidden()
    await expect(page.get_by_role("status").filter(has_text="1 change waiting")).to_be_visible()
    async with page.expect_event("load"):  # caught up: the page as the server has it
        await page.context.set_offline(False)
    assert [(task["title"], task["is_completed"]) for task in tasks_of(server, headers)] == [
        ("Call the plumber again", True)
    ]  # once, and completed
    assert [p for p in watched.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
