"""The small things people notice, in a real browser on both databases, two people sharing a
list: a new account takes its time zone from the browser; `Esc` closes the task opened beside
the list and the `?` dialog, the focus back on what opened them; a picked mention reads as the
member's name in the comment box and in the comment; the activity names who did it ("Ben
completed ...", "You" only to Ben); notifications say when they happened and `Mark all as
read` empties the bell; times are shown without seconds. axe-core in light and dark on the
pages changed."""

import re

import httpx
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import TIMEOUT_MS, Watched, made, open_page, person, sign_in

ZONE = "Asia/Kolkata"  # the browser's, none of the server's defaults
TASK = "Water the plants"
# A time with seconds, in any of the forms Babel writes ("9:30:05", "09:30:05").
SECONDS = re.compile(r"\d:\d\d:\d\d")


def api(server: Server, method: str, path: str, headers: dict[str, str], **rest: object) -> dict:
    answer = httpx.request(method, f"{server.url}{path}", headers=headers, **rest)  # type: ignore[arg-type]
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else {}


async def no_seconds(page: Page) -> None:
    shown = await page.locator("main").inner_text()
    assert not SECONDS.search(shown), shown


async def test_the_small_things(server: Server, browser: Browser, axe_source: str) -> None:
    anna_email, anna, anna_id = person(server, "Anna Weber")
    list_id = made(server, "/api/lists", {"name": "Home"}, anna)["id"]
    token = made(server, f"/api/lists/{list_id}/invitations", {"role": "editor"}, anna)["token"]
    task = made(server, "/api/tasks", {"title": TASK, "list_id": list_id}, anna)
    made(server, "/api/tasks", {"title": "Feed the cat", "list_id": list_id}, anna)

    # Ben signs up in a browser in India: his account keeps its zone.
    context = await browser.new_context(timezone_id=ZONE, viewport={"width": 1100, "height": 700})
    context.set_default_timeout(TIMEOUT_MS)
    ben = Watched(await context.new_page(), server.url, axe_source)
    ben.watch()
    page = ben.page
    await page.goto(f"{server.url}/app/signup")
    ben_email = unique_email()
    await page.get_by_label("Name").fill("Ben")
    await page.get_by_label("Email").fill(ben_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
    ben_headers = bearer(
        api(server, "POST", "/api/auth/login", {}, json={"email": ben_email, "password": PASSWORD})[
            "access_token"
        ]
    )
    assert api(server, "GET", "/api/auth/me", ben_headers)["timezone"] == ZONE
    api(server, "POST", "/api/invitations/accept", ben_headers, json={"token": token})

    # He completes Anna's task from the list, then opens the other beside it: Esc closes it
    # and the focus is back on its link; `?` opens the shortcuts, Esc closes them, the same.
    await page.goto(f"{server.url}/app/lists/{list_id}")
    await page.get_by_role("checkbox", name=f"Complete {TASK}").click()
    await expect(page.get_by_role("link", name=TASK, exact=True)).to_have_count(0)
    cat = page.get_by_role("link", name="Feed the cat", exact=True)
    await cat.click()
    await expect(page.get_by_role("heading", name="Feed the cat", level=1)).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    assert page.url == f"{server.url}/app/lists/{list_id}"
    await expect(cat).to_be_focused()
    await page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(shortcuts).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(shortcuts).to_be_hidden()
    await expect(cat).to_be_focused()

    # On the task's page: a mention picked by keyboard reads "@Anna Weber", and so does the
    # comment; the activity says "You" to Ben.
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    comment = page.get_by_role("textbox", name="Comment")
    await comment.click()
    await page.keyboard.type("Thanks @An")
    members = page.get_by_role("listbox", name="Members")
    await expect(members.get_by_role("option", name="Anna Weber")).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(comment).to_have_value("Thanks @Anna Weber ")
    await page.keyboard.type("for this")
    await page.get_by_role("button", name="Post comment").click()
    said = page.locator(".comments li")
    await expect(said).to_contain_text("Thanks @Anna Weber for this")
    await expect(said).not_to_contain_text("@[")
    [posted] = api(server, "GET", f"/api/tasks/{task['id']}/comments", anna)
    assert posted["mentions"] == [anna_id]
    activity = page.get_by_role("region", name="Activity")
    await expect(activity).to_contain_text(f"You completed {TASK}")
    await no_seconds(page)
    await ben.accessible_in_both_schemes()
    assert ben.problems == []
    await context.close()

    # Anna reads that Ben did it, and her notifications with when they happened.
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, anna_email)
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    activity = page.get_by_role("region", name="Activity")
    await expect(activity).to_contain_text(f"Ben completed {TASK}")
    await expect(activity).to_contain_text(f"Ben commented on {TASK}")
    await no_seconds(page)
    await page.get_by_role("link", name=re.compile(r"^Notifications, \d+ unread$")).click()
    told = page.get_by_role("listitem").filter(has_text=f"Ben mentioned you on “{TASK}”")
    await expect(told.locator("time")).to_have_count(1)
    assert re.search(r"\d{4}", await told.locator("time").inner_text())  # a date, its year
    await no_seconds(page)
    await watched.accessible_in_both_schemes()
    await page.get_by_role("button", name="Mark all as read").click()
    await expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Mark all as read")).to_have_count(0)
    assert api(server, "GET", "/api/notifications", anna)["unread_count"] == 0
    assert watched.problems == []
    await page.context.close()
