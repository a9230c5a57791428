"""A task changed in place on its page, in a real browser, on both databases: the title where
it is shown (Enter saves, Esc cancels), the due date from the `Due` menu (its presets on the
person's own clock, a month's calendar picked by keyboard, words read as quick add reads
them), priority and list from their menus, each change checked through the API; "Repeat in
words" read back as one types (the next three dates, or in plain words what to try), and the
same plain words from the form without JavaScript. axe-core checks the open menus in light
and dark; screenshots at 390 and 1280 px."""

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel import dates as babel_dates
from dateutil.relativedelta import relativedelta
from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import Watched, made, open_page, register, sign_in

# Fourteen hours ahead of UTC: the person's today is often not the server's.
ZONE = "Pacific/Kiritimati"
STATUSES = "console: Failed to load resource: the server responded with a status of"


def task_of(server: Server, headers: dict[str, str], task_id: str) -> dict[str, Any]:
    found = httpx.get(f"{server.url}/api/tasks/{task_id}", headers=headers)
    assert found.status_code == 200, found.text
    task: dict[str, Any] = found.json()
    return task


def patched(server: Server, headers: dict[str, str], path: str, body: dict[str, Any]) -> None:
    """A change through the API, beside the browser."""
    changed = httpx.patch(f"{server.url}{path}", json=body, headers=headers)
    assert changed.status_code == 200, changed.text


def person(server: Server) -> tuple[str, dict[str, str], str, str]:
    """An account on ZONE's clock with a list `Work` and a task `Pay rent` in the inbox: its
    email, headers, the task's id and the list's."""
    email, headers = register(server)
    patched(server, headers, "/api/auth/me", {"timezone": ZONE})
    work = made(server, "/api/lists", {"name": "Work"}, headers)["id"]
    task = made(server, "/api/tasks", {"title": "Pay rent"}, headers)["id"]
    return email, headers, task, work


async def opened(browser: Browser, server: Server, axe: str, email: str, task: str) -> Watched:
    watched = await open_page(browser, server, axe)
    await sign_in(watched.page, server, email)
    await watched.page.goto(f"{server.url}/app/tasks/{task}")
    return watched


async def shots(page: Page, name: str) -> None:
    """The page as it is at 390 and 1280 px wide (looked at by hand)."""
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 844})
        await page.screenshot(
            path=Path(tempfile.gettempdir()) / f"editing-{name}-{width}.png", full_page=True
        )
    await page.set_viewport_size({"width": 1100, "height": 700})


async def test_title_due_priority_and_list_in_place(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers, task, work = person(server)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("link", name="Pay rent", exact=True).click()  # beside the inbox
    today = datetime.now(ZoneInfo(ZONE)).date()

    # The title: a click opens the box, Enter saves; Enter on the heading opens it, Esc cancels.
    heading = page.get_by_role("heading", name="Pay rent", level=1)
    await heading.click()
    box = page.get_by_role("textbox", name="Edit title")
    await expect(box).to_be_focused()
    await box.fill("Pay the rent")
    await box.press("Enter")
    heading = page.get_by_role("heading", name="Pay the rent", level=1)
    await expect(heading).to_be_focused()
    assert task_of(server, headers, task)["title"] == "Pay the rent"
    await expect(page.get_by_role("region", name="Inbox").get_by_role("link")).to_have_text(
        "Pay the rent"
    )
    await page.keyboard.press("Enter")
    await box.fill("Something else")
    await box.press("Escape")
    await expect(heading).to_be_focused()
    await expect(box).to_be_hidden()
    assert task_of(server, headers, task)["title"] == "Pay the rent"

    # The due menu: open, looked at and checked, then each preset on the person's clock.
    due = page.get_by_role("button", name="Due", exact=True)
    menu = page.get_by_role("dialog", name="Choose a due date")
    await due.click()
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("button", name="Today")).to_be_focused()
    month = babel_dates.format_date(today, "LLLL y", locale="en")
    await expect(menu.get_by_role("heading", level=2)).to_have_text(month)
    await shots(page, "due-menu")
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(due).to_be_focused()
    presets = {
        "Tomorrow": today + timedelta(days=1),
        "Next week": today + timedelta(days=7 - today.weekday()),
        "This weekend": today + timedelta(days=(5 - today.weekday()) % 7),
        "Today": today,
    }
    for name, day in presets.items():
        await due.click()
        await menu.get_by_role("button", name=name).click()
        await expect(due).to_be_focused()
        assert task_of(server, headers, task)["due_date"] == day.isoformat(), name
    await due.click()
    await menu.get_by_role("button", name="No date").click()
    await expect(due).to_be_focused()
    saved = task_of(server, headers, task)
    assert (saved["due_date"], saved["due_at"]) == (None, None)

    # The calendar by keyboard: from today, a day on, a week on, a month on, Enter picks.
    await due.click()
    await menu.locator("td[tabindex='0']").focus()
    for key in ("ArrowRight", "ArrowDown", "PageDown"):
        await page.keyboard.press(key)
    picked = today + timedelta(days=8) + relativedelta(months=1)
    await expect(menu.get_by_role("heading", level=2)).to_have_text(
        babel_dates.format_date(picked, "LLLL y", locale="en")
    )
    await page.keyboard.press("Enter")
    await expect(due).to_be_focused()
    assert task_of(server, headers, task)["due_date"] == picked.isoformat()

    # Words, read back as one types, Enter sets them.
    await due.click()
    words = menu.get_by_role("textbox", name="Date in words")
    await words.press_sequentially("in 3 days")
    in_three = today + timedelta(days=3)
    await expect(menu.locator(".words-read")).to_contain_text(
        babel_dates.format_date(in_three, "full", locale="en")
    )
    await words.press("Enter")
    await expect(due).to_be_focused()
    assert task_of(server, headers, task)["due_date"] == in_three.isoformat()

    # Priority by keyboard, list by a click.
    await page.get_by_role("button", name="Priority", exact=True).click()
    priorities = page.get_by_role("menu", name="Choose a priority")
    await expect(priorities.get_by_role("menuitemradio", name="No priority")).to_be_focused()
    await shots(page, "priority-menu")
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await expect(priorities.get_by_role("menuitemradio", name="Medium")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Priority", exact=True)).to_be_focused()
    assert task_of(server, headers, task)["priority"] == "medium"
    await page.get_by_role("button", name="List", exact=True).click()
    await (
        page.get_by_role("menu", name="Choose a list")
        .get_by_role("menuitemradio", name="Work")
        .click()
    )
    await expect(page.get_by_role("region", name="Work")).to_be_visible()
    assert task_of(server, headers, task)["list_id"] == work

    # Changed elsewhere meanwhile: the menu's change says so, and `Keep mine` saves it.
    patched(server, headers, f"/api/tasks/{task}", {"title": "Pay the rent now"})
    await page.get_by_role("button", name="Priority", exact=True).click()
    await priorities.get_by_role("menuitemradio", name="High").click()
    conflict = page.get_by_role("alert")
    await expect(conflict).to_contain_text("Someone else changed this task")
    await expect(conflict).to_contain_text("Title: Pay the rent now")
    assert task_of(server, headers, task)["priority"] == "medium"
    await conflict.get_by_role("button", name="Keep mine").click()
    await expect(page.get_by_role("heading", name="Pay the rent now", level=1)).to_be_visible()
    saved = task_of(server, headers, task)
    assert (saved["title"], saved["priority"]) == ("Pay the rent now", "high")
    assert set(watched.problems) <= {f"{STATUSES} 409 (Conflict)"}
    await page.context.close()


async def test_repeat_in_words_is_read_back_or_said_in_plain_words(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers, task, _work = person(server)
    watched = await opened(browser, server, axe_source, email, task)
    page = watched.page
    today = datetime.now(ZoneInfo(ZONE)).date()
    mondays = [today + timedelta(days=(7 - today.weekday()) % 7 + 7 * n) for n in range(3)]

    repeat = page.get_by_label("Repeat in words")
    read = page.locator("#repeat-read")
    await repeat.press_sequentially("every monday")
    await expect(read).to_contain_text("Weekly, on Monday")
    await expect(read.locator(".next-dates span")).to_have_count(3)
    await expect(read.locator(".next-dates span").last).to_contain_text(_day(mondays[2]))
    await repeat.fill("")
    await repeat.press_sequentially("every last friday of the month")
    plain = "Can't read 'every last friday of the month': try 'every last friday'"
    await expect(read.get_by_role("alert")).to_have_text(plain)
    await watched.accessible_in_both_schemes()
    await shots(page, "repeat-words")
    await repeat.fill("every monday")
    await page.get_by_role("button", name="Save").click()
    saved = task_of(server, headers, task)
    await expect(page.get_by_text("Next:")).to_be_visible()
    saved = task_of(server, headers, task)
    # A rule on a task without a date: its first date is the task's.
    assert (saved["recurrence"], saved["due_date"]) == (
        "FREQ=WEEKLY;BYDAY=MO",
        mondays[0].isoformat(),
    )
    assert watched.problems == []
    await page.context.close()

    # Without JavaScript: the whole form, and the same plain words after saving.
    plain_page = await open_page(browser, server, axe_source, javascript=False)
    page = plain_page.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/tasks/{task}")
    await expect(page.get_by_role("button", name="Due", exact=True)).to_be_hidden()
    await page.get_by_label("Repeat in words").fill("every last friday of the month")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_have_text(plain)
    await expect(page.get_by_label("Repeat in words")).to_have_value(
        "every last friday of the month"
    )
    assert task_of(server, headers, task)["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert set(plain_page.problems) <= {f"{STATUSES} 400 (Bad Request)"}
    await page.context.close()


def _day(day: date) -> str:
    return f"{day:%b} {day.day}"


async def test_the_menus_speak_the_persons_language_on_a_phone(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers, task, _work = person(server)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    patched(server, headers, "/api/auth/me", {"language": "de"})
    await page.goto(f"{server.url}/app/tasks/{task}")
    await page.set_viewport_size({"width": 390, "height": 844})
    today = datetime.now(ZoneInfo(ZONE)).date()

    await page.get_by_role("button", name="Fällig", exact=True).click()
    menu = page.get_by_role("dialog", name="Fälligkeitsdatum wählen")
    await expect(menu.get_by_role("heading", level=2)).to_have_text(
        babel_dates.format_date(today, "LLLL y", locale="de")
    )
    await expect(menu.locator("th").first).to_have_text("Mo")  # the week starts on Monday
    box = await menu.bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= 390
    await page.screenshot(
        path=Path(tempfile.gettempdir()) / "editing-due-menu-de-390.png", full_page=True
    )
    words = menu.get_by_role("textbox", name="Datum in Worten")
    await words.press_sequentially("übermorgen um 9")
    await expect(menu.locator(".words-read")).to_contain_text(
        babel_dates.format_date(today + timedelta(days=2), "full", locale="de")
    )
    await words.fill("")
    await words.press_sequentially("irgendwann bald")
    await expect(menu.get_by_role("alert")).to_have_text(
        "„irgendwann bald“ kann ich nicht lesen: versuchen Sie „nächsten Freitag“"
    )
    await watched.accessible()
    # The first day of the week set in the profile holds in the menu's month too.
    patched(server, headers, "/api/auth/me", {"week_start": "sunday"})
    await page.reload()
    await page.get_by_role("button", name="Fällig", exact=True).click()
    await expect(menu.locator("th").first).to_have_text("So")
    assert watched.problems == []
    await page.context.close()
