"""A view as a calendar in a real browser, on both databases: `View` → `Calendar`; a task moved
from the keyboard (`Alt+→`) and by dragging, each confirmed by the API, said in the live region,
and undone with `Undo`; in German the week starts on Monday; on a 390 px phone the month is a
strip of days above the chosen day's tasks and the page does not scroll sideways; without
JavaScript the month is links and a day's quick add. axe-core in light and dark at 390 and
1280 px. SHOTS=<folder>: screenshots at 390 and 1280 px in light and dark."""

import os
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import (
    made,
    open_page,
    register,
    sign_in,
    view_menu,
    without_live_updates,
)
from tests.web.test_phone_browser import fits, patch_me

MONTH = "month=2030-03"


def due_of(server: Server, headers: dict[str, str], task: str) -> Any:
    answer = httpx.get(f"{server.url}/api/tasks/{task}", headers=headers)
    assert answer.is_success, answer.text
    found = answer.json()
    return found["due_at"] or found["due_date"]


def me(server: Server, headers: dict[str, str]) -> Any:
    return httpx.get(f"{server.url}/api/auth/me", headers=headers).json()


def titled(server: Server, headers: dict[str, str], title: str) -> str:
    answer = httpx.get(f"{server.url}/api/tasks", headers=headers)
    assert answer.is_success, answer.text
    [found] = [task["id"] for task in answer.json() if task["title"] == title]
    return str(found)


async def shots(page: Page, name: str) -> None:
    folder = os.environ.get("SHOTS")
    if folder:
        await page.screenshot(path=f"{folder}/{name}.png", full_page=True)


async def test_a_task_moves_by_keyboard_and_by_dragging_and_is_undone(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    work = made(server, "/api/lists", {"name": "Work"}, headers)["id"]
    call = {"title": "Call Anna", "due_at": "2030-03-14T09:30:00Z", "list_id": work}
    task = made(server, "/api/tasks", call, headers)["id"]
    made(server, "/api/tasks", {"title": "Someday", "list_id": work}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    try:
        await without_live_updates(page)
        await sign_in(page, server, email)
        await page.goto(f"{server.url}/app/lists/{work}")
        await view_menu(page)
        await page.get_by_role("button", name="Calendar").click()
        await page.goto(f"{server.url}/app/lists/{work}?{MONTH}")
        grid = page.get_by_role("grid", name="March 2030")
        await expect(grid).to_be_visible()
        day = grid.get_by_role("gridcell", name="Thursday, March 14, 2030")
        await expect(day.get_by_role("link", name="9:30 AM Call Anna")).to_be_visible()
        await watched.accessible_in_both_schemes()
        await shots(page, "calendar-month-1280")

        await day.get_by_role("link", name="9:30 AM Call Anna").focus()
        await page.keyboard.press("Alt+ArrowRight")
        said = "Moved Call Anna to Friday, March 15, 2030"
        await expect(page.get_by_role("status").filter(has_text=said).first).to_be_attached()
        next_day = grid.get_by_role("gridcell", name="Friday, March 15, 2030")
        await expect(next_day.get_by_role("link", name="9:30 AM Call Anna")).to_be_focused()
        assert due_of(server, headers, task).startswith("2030-03-15T09:30:00")
        await page.get_by_role("button", name="Undo").click()
        await expect(day.get_by_role("link", name="9:30 AM Call Anna")).to_be_visible()
        assert due_of(server, headers, task).startswith("2030-03-14T09:30:00")

        target = grid.get_by_role("gridcell", name="Monday, March 18, 2030")
        await day.get_by_role("link", name="9:30 AM Call Anna").drag_to(target)
        await expect(target.get_by_role("link", name="9:30 AM Call Anna")).to_be_visible()
        assert due_of(server, headers, task).startswith("2030-03-18T09:30:00")
        assert watched.problems == []
    finally:
        await page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_the_month_in_german_on_a_phone_and_without_javascript(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    for body in (
        {"title": "Zahnarzt", "due_at": "2030-03-14T09:30:00Z"},
        {"title": "Blumen gießen", "due_date": "2030-03-04", "recurrence": "FREQ=WEEKLY"},
        {"title": "Irgendwann"},
    ):
        made(server, "/api/tasks", body, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    try:
        await sign_in(page, server, email)
        patch_me(server, headers, language="de")
        await page.reload()
        await view_menu(page)
        await page.get_by_role("button", name="Kalender").click()
        await page.goto(f"{server.url}/app/?{MONTH}")
        grid = page.get_by_role("grid", name="März 2030")
        headers_shown = await grid.get_by_role("columnheader").all_inner_texts()
        assert headers_shown[0].startswith("Mo")  # German weeks start on Monday
        tray = page.get_by_role("region", name="Kein Datum")
        await expect(tray.get_by_role("link", name="Irgendwann")).to_be_visible()
        if javascript:
            await watched.accessible_in_both_schemes()
            await shots(page, "calendar-month-de-1280")
        else:
            # The next month by its link; a task added on a chosen day is due that day.
            await page.get_by_role("link", name="Nächster Monat").click()
            await expect(page.get_by_role("grid", name="April 2030")).to_be_visible()
            await page.goto(f"{server.url}/app/?{MONTH}&day=2030-03-20")
            add = page.get_by_label("Aufgabe am Mittwoch, 20. März 2030 hinzufügen")
            await add.fill("Anna anrufen")
            await add.press("Enter")
            await expect(grid.get_by_role("link", name="Anna anrufen")).to_be_visible()
            assert due_of(server, headers, titled(server, headers, "Anna anrufen")) == "2030-03-20"

        # A phone: the month a strip of days, the chosen day's tasks below it.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(f"{server.url}/app/?{MONTH}&day=2030-03-13")
        await fits(page, "the calendar in German at 390")
        await grid.get_by_role("link", name="11", exact=True).click()
        chosen = page.get_by_role("region", name="Montag, 11. März 2030")
        await expect(chosen.get_by_role("link", name="Blumen gießen")).to_be_visible()
        strip = await grid.bounding_box()
        box = await chosen.bounding_box()
        assert strip is not None
        assert box is not None
        assert strip["y"] + strip["height"] <= box["y"]  # the strip above the day
        assert strip["height"] < 200  # a strip, not the month's table
        if javascript:
            await watched.accessible_in_both_schemes()
            await shots(page, "calendar-month-de-390")
        assert watched.problems == []
    finally:
        await page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_the_weeks_start_on_the_day_chosen_in_the_profile(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    """Settings → Profile → `First day of the week`: the month's first column, and the week's,
    are that day, with JavaScript and without (the month table)."""
    email, headers = register(server)
    made(server, "/api/tasks", {"title": "Dentist", "due_date": "2030-03-14"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    try:
        await sign_in(page, server, email)
        await view_menu(page)
        await page.get_by_role("button", name="Calendar").click()
        await page.goto(f"{server.url}/app/settings/profile")
        await page.get_by_label("First day of the week").select_option(label="Saturday")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("Saved.")).to_be_visible()
        assert me(server, headers)["week_start"] == "saturday"
        await page.goto(f"{server.url}/app/?{MONTH}")
        grid = page.get_by_role("grid", name="March 2030")
        columns = grid.get_by_role("columnheader")
        await expect(columns.first).to_have_text("Sat")
        await expect(columns.last).to_have_text("Fri")
        first = grid.get_by_role("gridcell").first
        await expect(first).to_have_attribute("aria-label", "Saturday, February 23, 2030")
        await page.goto(f"{server.url}/app/?week=2030-03-14")
        week = page.get_by_role("grid")
        await expect(week.get_by_role("columnheader").nth(1)).to_have_text("Sat")
        await expect(week.get_by_role("gridcell").first).to_have_attribute(
            "aria-label", "Saturday, March 9, 2030"
        )
        assert watched.problems == []
    finally:
        await page.context.close()
