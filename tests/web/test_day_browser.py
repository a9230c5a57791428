"""The day in order, in a real browser on both databases: Today's overdue tasks first, then
today's by time (all-day ones after); Upcoming's heading per day (an empty day said so on a
wide screen, left out on a phone) and `Later`; a list's `Sort` kept per list and person across
reloads, with JavaScript and without; subtasks under their parents, or naming them. axe-core
runs on the new states in light and dark."""

import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import made, open_page, register, sign_in, view_menu

SHOTS = Path(tempfile.gettempdir())  # each state at 390 and 1280 px, to look at
PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 800}


async def titles(where: Locator) -> list[str]:
    """The titles of the task rows in `where`, in their order (subtasks where they stand)."""
    return await where.locator("li.task > .body > a").all_inner_texts()


def day_list(page: Page, heading: str) -> Locator:
    """The list of tasks under a day's heading (the list is named by it)."""
    return page.get_by_role("list", name=heading, exact=True)


def task(server: Server, headers: dict[str, str], title: str, **fields: Any) -> dict[str, Any]:
    return made(server, "/api/tasks", {"title": title, **fields}, headers)


def completed(server: Server, headers: dict[str, str], task_id: str) -> None:
    answer = httpx.patch(
        f"{server.url}/api/tasks/{task_id}", json={"is_completed": True}, headers=headers
    )
    assert answer.status_code == 200, answer.text


def coming(today: date, first: int, last: int) -> list[date]:
    return [today + timedelta(days=n) for n in range(first, last)]


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), UTC).isoformat()


async def test_today_and_upcoming_show_the_day_in_order(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)  # the account's clock is UTC
    today = datetime.now(UTC).date()
    task(server, headers, "Call back", due_at=at(today - timedelta(days=1), 9))
    task(server, headers, "Pay the old bill", due_date=(today - timedelta(days=2)).isoformat())
    task(server, headers, "Water the plants", due_date=today.isoformat())
    task(server, headers, "Late call", due_at=at(today, 23, 30))
    task(server, headers, "Early run", due_at=at(today, 0, 15))
    task(server, headers, "Far away", due_date=(today + timedelta(days=10)).isoformat())
    trip = task(server, headers, "Plan the trip", due_date=(today + timedelta(days=3)).isoformat())
    for title, ahead in (("Book the hotel", 1), ("Pack the bags", 3)):
        due = (today + timedelta(days=ahead)).isoformat()
        task(server, headers, title, due_date=due, parent_id=trip["id"])
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    try:
        await page.set_viewport_size(WIDE)
        await sign_in(page, server, email)
        await page.get_by_role("link", name="Today").first.click()
        await expect(page.get_by_role("heading", level=1, name="Today")).to_be_visible()
        headings = page.get_by_role("heading", level=2)
        # Today's own day says so (as Todoist's does), with its date.
        dated = f"Today · {today:%A}, {today:%B} {today.day}"
        assert await headings.all_inner_texts() == ["Overdue", dated]
        assert await titles(day_list(page, "Overdue")) == ["Pay the old bill", "Call back"]
        timed_then_all_day = ["Early run", "Late call", "Water the plants"]
        assert await titles(day_list(page, dated)) == timed_then_all_day

        await page.get_by_role("link", name="Upcoming").first.click()
        await expect(page.get_by_role("heading", level=1, name="Upcoming")).to_be_visible()
        named = [f"{day:%A}, {day:%B} {day.day}" for day in coming(today, 2, 7)]
        assert await headings.all_inner_texts() == ["Overdue", "Today", "Tomorrow", *named]
        assert await titles(day_list(page, "Tomorrow")) == ["Book the hotel"]
        # A subtask whose parent is on another day names it; one beside it is under it.
        hotel = page.locator("li.task", has_text="Book the hotel")
        await expect(hotel.get_by_text("Subtask of Plan the trip")).to_be_visible()
        in_three_days = day_list(page, named[1])
        assert await titles(in_three_days) == ["Plan the trip", "Pack the bags"]
        parent = in_three_days.get_by_role("listitem").filter(has_text="Plan the trip").first
        bags = parent.get_by_role("listitem").filter(has_text="Pack the bags")
        # On a wide screen its parent's title is left to the indent; on a phone it is said.
        await expect(bags.get_by_text("Subtask of Plan the trip")).to_be_hidden()
        parent_box = await parent.get_by_role("checkbox").first.bounding_box()
        bags_box = await bags.get_by_role("checkbox").bounding_box()
        assert parent_box is not None
        assert bags_box is not None
        assert bags_box["x"] > parent_box["x"] + 10
        empty = page.get_by_text("Nothing planned")
        await expect(empty.first).to_be_visible()
        assert await empty.count() == 4  # the days with nothing
        await page.screenshot(path=SHOTS / "day-upcoming-1280.png", full_page=True)
        await watched.accessible_in_both_schemes()

        await page.set_viewport_size(PHONE)
        await expect(empty.first).to_be_hidden()  # a phone leaves the empty days out
        await expect(bags.get_by_text("Subtask of Plan the trip")).to_be_visible()
        await page.screenshot(path=SHOTS / "day-upcoming-390.png", full_page=True)
        await watched.accessible_in_both_schemes()

        await page.get_by_role("link", name="Later").click()
        await expect(page.get_by_role("heading", level=1, name="Later")).to_be_visible()
        assert await titles(page.locator("#tasks")) == ["Far away"]
    finally:
        await page.context.close()
    assert watched.problems == []


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_a_lists_sort_is_kept_for_the_person_and_the_list(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    errands = made(server, "/api/lists", {"name": "Errands"}, headers)
    soon = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
    in_list = {"list_id": errands["id"]}
    task(server, headers, "Buy stamps", priority="low", due_date=soon, **in_list)
    post = task(server, headers, "Post the parcel", priority="high", **in_list)
    task(server, headers, "Collect the keys", **in_list)
    done = task(server, headers, "Already done", priority="high", **in_list)
    task(server, headers, "Call the depot", parent_id=post["id"])
    completed(server, headers, done["id"])
    task(server, headers, "In the inbox")
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    tasks = page.locator("#tasks")
    sort = page.get_by_role("combobox", name="Sort", include_hidden=True)  # (behind `View`)
    try:
        await page.set_viewport_size(WIDE)
        await sign_in(page, server, email)
        await expect(sort).to_have_value("manual")  # the inbox's, by default
        await page.get_by_role("link", name="Errands").first.click()
        await expect(page.get_by_role("heading", level=1, name="Errands")).to_be_visible()
        manual = ["Buy stamps", "Post the parcel", "Call the depot", "Collect the keys"]
        assert await titles(tasks) == manual  # the subtask under its parent

        await view_menu(page)
        await sort.select_option(label="Title")
        if not javascript:  # with it, the sort applies as chosen (static/capture.js)
            await page.get_by_role("button", name="Apply").click()
        await expect(sort).to_have_value("title")
        by_title = ["Buy stamps", "Collect the keys", "Post the parcel", "Call the depot"]
        await expect(tasks.locator("li.task > .body > a")).to_have_text(by_title)
        await page.reload()
        await expect(sort).to_have_value("title")
        assert await titles(tasks) == by_title
        if javascript:
            await page.screenshot(path=SHOTS / "day-sort-1280.png", full_page=True)
            await watched.accessible_in_both_schemes()

        await view_menu(page)
        await sort.select_option(label="Priority")
        if not javascript:
            await page.get_by_role("button", name="Apply").click()
        await expect(sort).to_have_value("priority")
        by_priority = ["Post the parcel", "Call the depot", "Buy stamps", "Collect the keys"]
        await expect(tasks.locator("li.task > .body > a")).to_have_text(by_priority)
        await expect(page.get_by_role("link", name="Already done")).to_have_count(0)

        await page.get_by_role("link", name="Inbox").first.click()
        await expect(sort).to_have_value("manual")  # kept per list
        await page.get_by_role("link", name="Errands").first.click()
        await expect(sort).to_have_value("priority")
        if javascript:
            await page.set_viewport_size(PHONE)
            await page.screenshot(path=SHOTS / "day-sort-390.png", full_page=True)
    finally:
        await page.context.close()
    assert watched.problems == []
