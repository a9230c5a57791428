"""The lists and the list view in a real browser, on both databases, with JavaScript on and
off: lists made, renamed, reordered and deleted from the sidebar; saved filters listed; a
list's tasks searched, filtered (an unreadable filter says where), completed ones shown and
reopened; 120 tasks scrolled to their end. axe-core runs on every state, in light and dark;
list names, filter names and tags written to run script are shown as text."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import (
    XSS_TITLES,
    Watched,
    list_menu,
    made,
    open_page,
    register,
    sign_in,
    tasks_of,
    view_menu,
)

STATUS = "console: Failed to load resource: the server responded with a status of"
BAD_REQUEST = f"{STATUS} 400 (Bad Request)"


async def checked(watched: Watched, javascript: bool) -> None:
    """axe-core on the page as it is, in light and in dark (JavaScript off: axe cannot run in
    the page; the JavaScript runs check the same pages)."""
    if not javascript:
        return
    await watched.accessible_in_both_schemes()


def call(server: Server, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    """The API's answer (JSON), which must be a success (a bulk of 100 on a loaded machine
    takes more than httpx's 5 s at times)."""
    answer = httpx.request(method, f"{server.url}{path}", json=body, headers=headers, timeout=60)
    assert answer.is_success, answer.text
    return answer.json()


def list_id(server: Server, headers: dict[str, str], name: str) -> str:
    [found] = [
        one["id"] for one in call(server, "GET", "/api/lists", headers) if one["name"] == name
    ]
    return str(found)


async def sidebar_names(page: Page) -> list[str]:
    lists = page.get_by_role("navigation", name="Lists").get_by_role("list").first
    links = lists.get_by_role("link")
    return [text.split("\n")[0].strip() for text in await links.all_inner_texts()]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_lists_are_made_renamed_reordered_and_deleted(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    made(server, "/api/filters", {"name": XSS_TITLES[1], "query": "p1"}, headers)
    made(server, "/api/tasks", {"title": "Urgent", "priority": "high"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    await sign_in(page, server, email)
    nav = page.get_by_role("navigation", name="Lists")
    await expect(nav.get_by_role("link", name=f"{XSS_TITLES[1]} 1 open")).to_be_visible()
    await page.get_by_role("checkbox", name="Complete Urgent").click()
    await expect(page.get_by_role("link", name="Urgent")).to_have_count(0)
    await page.reload()
    await expect(page.get_by_text("No open tasks here.")).to_be_visible()  # the empty inbox
    await checked(watched, javascript)

    for name in (XSS_TITLES[0], "Errands"):  # a list named to run script is text
        await page.get_by_role("textbox", name="New list").fill(name)
        await page.get_by_role("button", name="Add list").click()
        await expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    assert await sidebar_names(page) == ["Inbox", "Today", "Upcoming", XSS_TITLES[0], "Errands"]
    await list_menu(page)
    await expect(page.get_by_role("link", name="Share")).to_have_attribute(
        "href", f"/app/lists/{list_id(server, headers, 'Errands')}/sharing"
    )
    await checked(watched, javascript)

    await list_menu(page)
    await page.get_by_role("button", name="Move up").click()
    await expect(nav.get_by_role("link").nth(3)).to_contain_text("Errands")
    assert await sidebar_names(page) == ["Inbox", "Today", "Upcoming", "Errands", XSS_TITLES[0]]
    await list_menu(page)
    await page.get_by_role("button", name="Move up").click()  # first already: stays
    await list_menu(page)
    await page.get_by_role("button", name="Move down").click()
    await expect(nav.get_by_role("link").nth(4)).to_contain_text("Errands")
    listed = call(server, "GET", "/api/lists", headers)
    assert [one["name"] for one in listed] == [XSS_TITLES[0], "Errands"]
    await checked(watched, javascript)

    await list_menu(page)
    await page.get_by_role("textbox", name="List name").fill("Shopping")
    await page.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("heading", name="Shopping")).to_be_visible()
    await expect(nav.get_by_role("link", name="Shopping 0 open")).to_be_visible()
    await list_menu(page)
    await page.get_by_role("textbox", name="List name").fill(XSS_TITLES[0].upper())
    await page.get_by_role("button", name="Rename").click()
    await expect(page.get_by_role("alert")).to_contain_text("already have a list")
    await expect(page.get_by_role("textbox", name="List name")).to_have_attribute(
        "aria-invalid", "true"
    )
    await checked(watched, javascript)
    await page.get_by_role("textbox", name="New list").fill(" ")
    await page.get_by_role("button", name="Add list").click()  # blank: the page says so
    if javascript:  # the browser asks for a name first (required)
        assert await page.get_by_role("textbox", name="New list").evaluate(
            "input => !input.validity.valid"
        )
    else:
        await expect(nav.get_by_role("alert")).to_be_visible()

    await nav.get_by_role("link", name="Shopping").click()
    made(
        server,
        "/api/tasks",
        {"title": "Bread", "list_id": list_id(server, headers, "Shopping")},
        headers,
    )
    await list_menu(page)
    await page.get_by_role("link", name="Delete list").click()
    await expect(page.get_by_role("heading", name="Delete the list “Shopping”?")).to_be_visible()
    await checked(watched, javascript)
    await page.get_by_role("link", name="Keep the list").click()
    await expect(page.get_by_role("heading", name="Shopping")).to_be_visible()
    await list_menu(page)
    await page.get_by_role("link", name="Delete list").click()
    await page.get_by_role("button", name="Delete list").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    assert await sidebar_names(page) == ["Inbox", "Today", "Upcoming", XSS_TITLES[0]]
    assert [task["title"] for task in tasks_of(server, headers)] == ["Urgent"]
    await checked(watched, javascript)

    await nav.get_by_role("link", name=XSS_TITLES[1]).click()  # the saved filter's tasks
    await expect(page.get_by_role("heading", name=XSS_TITLES[1])).to_be_visible()
    await expect(page.get_by_text("No open tasks here.")).to_be_visible()
    await checked(watched, javascript)
    assert set(watched.problems) <= {BAD_REQUEST}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_search_filter_and_completed_tasks(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    now = datetime.now(UTC)
    milk = made(
        server,
        "/api/tasks",
        {
            "title": "Buy oat milk",
            "priority": "high",
            "tags": [XSS_TITLES[0], "shop"],
            "due_at": (now + timedelta(days=1)).isoformat(),
        },
        headers,
    )
    for n, done in enumerate((True, False)):
        sub = made(server, "/api/tasks", {"title": f"Step {n}", "parent_id": milk["id"]}, headers)
        if done:
            call(server, "PATCH", f"/api/tasks/{sub['id']}", headers, {"is_completed": True})
    comment = {"body": "Oat, not soy"}
    call(server, "POST", f"/api/tasks/{milk['id']}/comments", headers, comment)
    made(
        server,
        "/api/tasks",
        {"title": "Call the bank", "due_date": (now - timedelta(days=3)).date().isoformat()},
        headers,
    )
    walk = made(server, "/api/tasks", {"title": "Walk the dog"}, headers)
    call(server, "PATCH", f"/api/tasks/{walk['id']}", headers, {"is_completed": True})

    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    await sign_in(page, server, email)
    row = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="Buy oat milk"))
    await expect(row).to_contain_text("Due Tomorrow")
    checkbox = row.get_by_role("checkbox", name="Complete Buy oat milk, priority 1")
    await expect(checkbox).to_be_visible()
    await expect(row).to_contain_text(f"@{XSS_TITLES[0]}")  # a tag written as script: text
    await expect(row).to_contain_text("Subtasks: 1 of 2 done")
    await expect(row).to_contain_text("1 comment")
    bank = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="Call the bank"))
    await expect(bank).to_contain_text("Overdue, due")
    await expect(page.get_by_role("link", name="Walk the dog")).to_have_count(0)
    if javascript:  # marks this document: htmx swaps parts of it, no page is loaded
        await page.evaluate("window.stillHere = true")

    search = page.get_by_role("searchbox", name="Search")
    await search.fill("MILK")
    if not javascript:
        await search.press("Enter")
    await expect(page.get_by_role("link", name="Call the bank")).to_have_count(0)
    await expect(page.get_by_role("link", name="Buy oat milk")).to_be_visible()
    await expect(search).to_have_value("MILK")
    await checked(watched, javascript)
    await search.fill("")
    if not javascript:
        await search.press("Enter")
    await expect(page.get_by_role("link", name="Call the bank")).to_be_visible()

    await view_menu(page)
    box = page.get_by_role("textbox", name="Filter")
    await box.fill("p1 & (")
    if not javascript:
        await box.press("Enter")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("at position 6")
    await expect(box).to_have_value("p1 & (")
    await checked(watched, javascript)
    await box.fill("overdue | @shop")
    if not javascript:
        await box.press("Enter")
    await expect(alert).to_have_count(0)
    await expect(page.get_by_role("link", name="Call the bank")).to_be_visible()
    await box.fill("overdue")
    if not javascript:
        await box.press("Enter")
    await expect(page.get_by_role("link", name="Buy oat milk")).to_have_count(0)
    await expect(page.get_by_role("link", name="Call the bank")).to_be_visible()
    await box.fill("")
    if not javascript:
        await box.press("Enter")
    await expect(page.get_by_role("link", name="Buy oat milk")).to_be_visible()
    if javascript:
        assert await page.evaluate("window.stillHere === true")
        assert "filter=" in page.url  # the address keeps what is asked (back, reload)

    await view_menu(page)
    await page.get_by_role("link", name="Show completed").click()
    reopen = page.get_by_role("checkbox", name="Reopen Walk the dog")
    await expect(reopen).to_be_checked()
    await checked(watched, javascript)
    if javascript:
        await page.evaluate("window.stillHere = true")
    await reopen.click()
    await expect(page.get_by_role("checkbox", name="Complete Walk the dog")).not_to_be_checked()
    if javascript:
        assert await page.evaluate("window.stillHere === true")
    [walked] = [task for task in tasks_of(server, headers) if task["title"] == "Walk the dog"]
    assert walked["is_completed"] is False
    await page.get_by_role("checkbox", name="Complete Walk the dog").click()
    await expect(page.get_by_role("checkbox", name="Reopen Walk the dog")).to_be_checked()
    await view_menu(page)
    await page.get_by_role("link", name="Hide completed").click()
    await expect(page.get_by_role("link", name="Walk the dog")).to_have_count(0)
    await checked(watched, javascript)
    assert set(watched.problems) <= ({BAD_REQUEST} if not javascript else set())


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_a_list_of_120_tasks_is_read_to_its_end(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Long"}, headers)["id"]
    titles = [f"Task {n:03}" for n in range(120)]
    for start in (0, 100):
        operations = [
            {"op": "create", "data": {"title": title, "list_id": home}}
            for title in titles[start : start + 100]
        ]
        call(server, "POST", "/api/tasks/bulk", headers, {"operations": operations})
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("navigation", name="Lists").get_by_role("link", name="Long").click()
    rows = page.locator("#tasks > li")
    await expect(rows).to_have_count(50)
    more = page.get_by_role("link", name="More", exact=True)
    if javascript:  # coming into view, the next page is added to the list
        await page.evaluate("window.stillHere = true")
        for shown in (100, 120):
            await more.scroll_into_view_if_needed()
            await expect(rows).to_have_count(shown)
        await expect(more).to_have_count(0)
        assert await rows.locator(".body > a").all_inner_texts() == titles
        assert await page.evaluate("window.stillHere === true")
        await checked(watched, javascript)
    else:  # the More link goes to the next page
        seen = await rows.locator(".body > a").all_inner_texts()
        for shown in (50, 20):
            await more.click()
            await expect(rows).to_have_count(shown)
            seen += await rows.locator(".body > a").all_inner_texts()
        await expect(more).to_have_count(0)
        assert seen == titles
    assert watched.problems == []
