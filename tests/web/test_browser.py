"""The web app in a real browser (Playwright driving Debian's Chromium) against a real
`todo-api serve`, on both databases: sign in, add tasks by quick add, open one, complete one,
sign out; with JavaScript on and off, by keyboard alone, in light and dark. Controls are found
by role and accessible name. axe-core runs on every page (no violation of WCAG 2.2 A and AA);
titles written to run script are shown as text, and any dialog, console error, page error or
request to another origin fails the test."""

import pytest
from playwright.async_api import Browser, expect

from tests.accounts.helpers import PASSWORD
from tests.helpers_server import Server
from tests.web.browsing import (
    XSS_TITLES,
    made,
    nothing,
    open_page,
    register,
    sign_out,
    tab_to,
    tasks_of,
)


@pytest.mark.parametrize(
    ("javascript", "scheme"), [(True, "light"), (False, "dark")], ids=["js-light", "nojs-dark"]
)
async def test_sign_in_add_open_complete_and_sign_out(
    server: Server,
    browser: Browser,
    axe_source: str,
    javascript: bool,
    scheme: str,
) -> None:
    email, headers = register(server)
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    check = watched.accessible if javascript else nothing

    await page.goto(f"{server.url}/")  # a browser at the root lands on the app
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await check()
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
    await check()

    quick_add = page.get_by_role("textbox", name="Add a task")
    for text in ("Buy milk tomorrow p1 @shop", "Renew the passport in 2 weeks p2", *XSS_TITLES):
        await quick_add.fill(text)
        await quick_add.press("Enter")
        await expect(quick_add).to_have_value("")
    for title in ("Buy milk", "Renew the passport", *XSS_TITLES):
        await expect(page.get_by_role("link", name=title, exact=True)).to_be_visible()
    titles = {task["title"] for task in tasks_of(server, headers)}
    assert titles == {"Buy milk", "Renew the passport", *XSS_TITLES}
    await check()

    await page.get_by_role("link", name="Buy milk", exact=True).click()
    await expect(page.get_by_role("heading", name="Buy milk")).to_be_visible()
    await expect(page.get_by_label("Title", exact=True)).to_have_value("Buy milk")
    await expect(page.get_by_label("Priority", exact=True)).to_have_value("high")
    await check()
    await page.get_by_role("link", name="Inbox").click()

    if javascript:  # marks this document: htmx swaps the row in it, no page is loaded
        await page.evaluate("window.stillHere = true")
    await page.get_by_role("checkbox", name="Complete Buy milk").click()
    await expect(page.get_by_role("link", name="Buy milk", exact=True)).to_have_count(0)
    if javascript:
        assert await page.evaluate("window.stillHere === true")
    [done] = [task for task in tasks_of(server, headers) if task["title"] == "Buy milk"]
    assert done["is_completed"] is True
    await check()

    await sign_out(page)
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await page.goto(f"{server.url}/app/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert watched.problems == []


async def test_by_keyboard_alone_in_dark(server: Server, browser: Browser, axe_source: str) -> None:
    email, headers = register(server)
    watched = await open_page(browser, server, axe_source, javascript=True, scheme="dark")
    page = watched.page
    await page.goto(f"{server.url}/app/signin")
    await watched.accessible()
    await tab_to(page, page.get_by_label("Email", exact=True))
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await watched.accessible()

    await tab_to(page, page.get_by_role("textbox", name="Add a task"))
    await page.keyboard.type("Call the plumber")
    await page.keyboard.press("Enter")
    checkbox = page.get_by_role("checkbox", name="Complete Call the plumber")
    await expect(checkbox).to_be_visible()
    await watched.accessible()
    await tab_to(page, checkbox)
    await page.keyboard.press("Space")
    await expect(checkbox).to_have_count(0)
    assert [task["is_completed"] for task in tasks_of(server, headers)] == [True]

    await tab_to(page, page.locator("details.account > summary"))
    await page.keyboard.press("Enter")  # the account menu opens
    await tab_to(page, page.get_by_role("button", name="Sign out"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert watched.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_page_passes_axe(
    server: Server, browser: Browser, axe_source: str, scheme: str
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    for title, fields in (
        ("Water the plants", {"list_id": home, "priority": "high", "tags": ["garden"]}),
        (XSS_TITLES[1], {"due_date": "2030-01-01"}),
    ):
        made(server, "/api/tasks", {"title": title, **fields}, headers)
    watched = await open_page(browser, server, axe_source, javascript=True, scheme=scheme)
    page = watched.page
    await page.goto(f"{server.url}/app/signin")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Incorrect email or password.")
    await watched.accessible()
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await watched.accessible()

    for name in ("Today", "Upcoming", "Home"):
        await page.get_by_role("navigation", name="Lists").get_by_role("link", name=name).click()
        await expect(page.get_by_role("heading", name=name)).to_be_visible()
        await watched.accessible()
    await page.get_by_role("link", name="Water the plants").click()
    await expect(page.get_by_label("Title", exact=True)).to_have_value("Water the plants")
    await watched.accessible()
    await page.get_by_role("link", name="Inbox").click()
    await page.get_by_role("link", name=XSS_TITLES[1]).click()
    await expect(page.get_by_label("Title", exact=True)).to_have_value(XSS_TITLES[1])
    await watched.accessible()

    await page.get_by_role("link", name="Inbox").click()
    await page.get_by_role("textbox", name="Add a task").fill("Buy bread #nowhere")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_text("There is no list named “nowhere”.")
    await watched.accessible()
    await page.goto(f"{server.url}/app/tasks/00000000-0000-0000-0000-000000000000")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await watched.accessible()
    await sign_out(page)
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    await watched.accessible()
    # Chromium logs the pages' own statuses (a wrong password's 401, the unread words' 400,
    # the 404) as console errors: those and nothing else.
    statuses = "console: Failed to load resource: the server responded with a status of"
    expected = {f"{statuses} 401 (Unauthorized)", f"{statuses} 400 (Bad Request)"}
    expected.add(f"{statuses} 404 (Not Found)")
    assert set(watched.problems) <= expected
