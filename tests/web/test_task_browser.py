"""A task's page in a real browser, on both databases: beside its list, every field edited
and checked through the API, Markdown that tries to run shown harmless, reminders, subtasks,
a comment mentioning a member picked from the listbox by keyboard, the activity in words (the
task's and the list's page), a save over someone else's change (keep mine, or reload), the
forms with JavaScript off, the focus on the task's heading once it opens beside the list, a
viewer of the list reading it all with nothing offered that the API would refuse them, and a
repeat rule that is no preset said in words of the page's language.
axe-core checks each state in light and dark."""

from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD, bearer, unique_email
from tests.helpers_server import Server
from tests.web.browsing import list_menu, made, open_page, register, sign_in

STATUSES = "console: Failed to load resource: the server responded with a status of"


def api(method: str, url: str, headers: dict[str, str], **options: Any) -> httpx.Response:
    """A call to the API beside the browser (the test waits for it)."""
    return httpx.request(method, url, headers=headers, **options)


def task_of(server: Server, headers: dict[str, str], task_id: str) -> dict[str, Any]:
    found = httpx.get(f"{server.url}/api/tasks/{task_id}", headers=headers)
    assert found.status_code == 200, found.text
    task: dict[str, Any] = found.json()
    return task


def shared_list(
    server: Server, role: str = "editor"
) -> tuple[str, dict[str, str], str, dict[str, str], str]:
    """An owner's list `Home` shared with Ana (an editor, or `role`): the owner's email and
    headers, Ana's id and headers, and the list's id."""
    email, headers = register(server)
    joined = httpx.post(
        f"{server.url}/api/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "name": "Ana Lima"},
    )
    assert joined.status_code == 201, joined.text
    ana = bearer(joined.json()["access_token"])
    ana_id = joined.json()["user"]["id"]
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    link = made(server, f"/api/lists/{home}/invitations", {"role": role}, headers)
    accepted = httpx.post(
        f"{server.url}/api/invitations/accept", json={"token": link["token"]}, headers=ana
    )
    assert accepted.status_code == 200, accepted.text
    return email, headers, ana_id, ana, home


async def field(page: Page, name: str) -> Any:
    return page.get_by_label(name, exact=True)


async def test_every_field_comments_mentions_and_activity(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers, ana_id, ana, home = shared_list(server)
    description = (
        "**bold** <script>alert(1)</script> <b>raw</b> [run](javascript:alert(1)) "
        "[site](https://example.org)"
    )
    task = made(
        server,
        "/api/tasks",
        {"title": "Pay rent", "list_id": home, "description": description},
        headers,
    )
    made(server, "/api/tasks", {"title": "Buy bread", "list_id": home}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("navigation", name="Lists").get_by_role("link", name="Home").click()
    await page.evaluate("window.stillHere = true")
    await page.get_by_role("link", name="Pay rent", exact=True).click()
    await expect(page.get_by_role("heading", name="Pay rent", level=1)).to_be_visible()
    assert page.url.endswith(f"/app/tasks/{task['id']}")  # pushed by htmx, no page loaded
    assert await page.evaluate("window.stillHere === true")
    beside = page.get_by_role("region", name="Home")
    await expect(beside.get_by_role("link", name="Buy bread")).to_be_visible()

    shown = page.get_by_role("region", name="Description as shown")
    await expect(shown.locator("strong")).to_have_text("bold")
    await expect(shown).to_contain_text("<script>alert(1)</script>")
    await expect(shown).to_contain_text("<b>raw</b>")
    await expect(shown.locator("script, b, [href^='javascript']")).to_have_count(0)
    await expect(shown.get_by_role("link", name="site")).to_have_attribute(
        "href", "https://example.org"
    )
    await watched.accessible_in_both_schemes()

    await (await field(page, "Title")).fill("Pay the rent")
    await (await field(page, "Description")).fill("Before the *5th*")
    await (await field(page, "Due")).fill("2030-05-03")
    await (await field(page, "Time")).fill("09:30")
    await (await field(page, "All day")).uncheck()
    await (await field(page, "Start")).fill("2030-05-01")
    await (await field(page, "Repeat in words")).fill("every monday")
    await (await field(page, "Priority")).select_option("high")
    await (await field(page, "Tags")).fill("home, money")
    await (await field(page, "Assignee")).select_option(label="Ana Lima")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Pay the rent", level=1)).to_be_visible()
    saved = task_of(server, headers, task["id"])
    assert saved["title"] == "Pay the rent"
    assert saved["description"] == "Before the *5th*"
    assert saved["due_at"] == "2030-05-03T09:30:00Z"
    assert saved["due_date"] is None
    assert saved["start_date"] == "2030-05-01"
    assert saved["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    assert (saved["priority"], saved["tags"], saved["assignee_id"]) == (
        "high",
        ["home", "money"],
        ana_id,
    )
    await expect(page.get_by_text("Next: May 6, 2030")).to_be_visible()
    await expect(page.locator(".markdown em")).to_have_text("5th")
    # Not a preset: the rule in words, and as written for the rest.
    repeat = await field(page, "Repeat")
    await expect(repeat.locator("option:checked")).to_have_text("Weekly, on Monday")
    await page.get_by_text("Repeat rule").click()
    await expect(page.locator("details.rule code")).to_have_text("FREQ=WEEKLY;BYDAY=MO")

    await (await field(page, "New reminder")).select_option("PT1H")
    await page.get_by_role("button", name="Add reminder").click()
    await expect(page.locator(".reminders li")).to_contain_text("1 hour before it is due")
    assert [r["before_due"] for r in task_of(server, headers, task["id"])["reminders"]] == ["PT1H"]
    await page.get_by_role("button", name="Remove reminder: 1 hour before it is due").click()
    await expect(page.get_by_text("No reminders.")).to_be_visible()
    assert task_of(server, headers, task["id"])["reminders"] == []

    await (await field(page, "New subtask")).fill("Find the checkbook")
    await page.get_by_role("button", name="Add subtask").click()
    subtask = page.get_by_role("checkbox", name="Complete Find the checkbook")
    await expect(subtask).to_be_visible()
    listed = api(
        "GET", f"{server.url}/api/tasks", params={"parent_id": task["id"]}, headers=headers
    ).json()
    assert [(t["title"], t["list_id"]) for t in listed] == [("Find the checkbook", home)]
    await watched.accessible_in_both_schemes()

    comment = page.get_by_role("textbox", name="Comment")
    await comment.click()
    await page.keyboard.type("Thanks @An")
    members = page.get_by_role("listbox")
    await expect(members.get_by_role("option", name="Ana Lima")).to_be_visible()
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("Escape")
    await expect(members).to_be_hidden()
    await page.keyboard.type("a")
    await expect(members.get_by_role("option")).to_have_count(1)
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(members).to_be_hidden()
    await expect(comment).to_have_value("Thanks @Ana Lima ")
    await page.keyboard.type("for *paying*")
    await page.get_by_role("button", name="Post comment").click()
    said = page.locator(".comments li")
    await expect(said).to_contain_text("Thanks @Ana Lima for paying")
    await expect(said.locator("em")).to_have_text("paying")
    [posted] = api("GET", f"{server.url}/api/tasks/{task['id']}/comments", headers=ana).json()
    assert posted["mentions"] == [ana_id]

    done = page.get_by_role("region", name="Activity")
    await expect(done).to_contain_text("You changed the due date to May 3, 2030, 9:30 AM")
    await expect(done).to_contain_text("You changed the assignee to Ana Lima")
    await expect(done).to_contain_text("You commented on Pay the rent")
    await watched.accessible_in_both_schemes()

    completed = api(
        "PATCH",
        f"{server.url}/api/tasks/{listed[0]['id']}",
        json={"is_completed": True},
        headers=ana,
    )
    assert completed.status_code == 200, completed.text
    await (await field(page, "List")).select_option(label="Inbox")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("region", name="Inbox")).to_be_visible()
    assert task_of(server, headers, task["id"])["list_id"] is None

    await page.goto(f"{server.url}/app/lists/{home}")
    await list_menu(page)
    await page.get_by_role("link", name="Activity").click()
    await expect(page.get_by_role("heading", name="Activity of Home")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text("Ana Lima completed Find the checkbook")
    await expect(page.get_by_role("main")).to_contain_text("You created Buy bread")
    await watched.accessible_in_both_schemes()
    assert watched.problems == []


async def test_a_save_over_someone_elses_change_keeps_mine_or_reloads(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Water plants", "priority": "low"}, headers)
    url = f"{server.url}/api/tasks/{task['id']}"
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    changed = api(
        "PATCH", url, json={"title": "Water the plants", "priority": "medium"}, headers=headers
    )
    assert changed.status_code == 200, changed.text

    await (await field(page, "Priority")).select_option("high")
    await page.get_by_role("button", name="Save").click()
    conflict = page.get_by_role("alert")
    await expect(conflict).to_contain_text("Someone else changed this task")
    await expect(conflict).to_contain_text("Title: Water the plants")
    await expect(conflict).to_contain_text("Priority: medium")
    await expect(await field(page, "Title")).to_have_value("Water the plants")
    await expect(await field(page, "Priority")).to_have_value("high")
    await watched.accessible_in_both_schemes()
    await page.get_by_role("button", name="Keep mine").click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    kept = api("GET", url, headers=headers).json()
    assert (kept["title"], kept["priority"]) == ("Water the plants", "high")

    again = api("PATCH", url, json={"tags": ["garden"]}, headers=headers)
    assert again.status_code == 200, again.text
    await (await field(page, "Title")).fill("Water the roses")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("Tags: garden")
    await page.get_by_role("button", name="Reload").click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(await field(page, "Title")).to_have_value("Water the plants")
    await expect(await field(page, "Tags")).to_have_value("garden")
    assert api("GET", url, headers=headers).json()["title"] == "Water the plants"
    assert set(watched.problems) <= {f"{STATUSES} 409 (Conflict)"}


async def test_without_javascript_a_task_is_edited_and_commented(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Renew passport"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=False)
    page = watched.page
    await sign_in(page, server, email)
    await page.get_by_role("link", name="Renew passport").click()
    await expect(page.get_by_role("heading", name="Renew passport", level=1)).to_be_visible()
    await (await field(page, "Title")).fill("Renew the passport")
    await (await field(page, "Due")).fill("2030-02-01")
    await (await field(page, "Repeat")).select_option(label="Yearly")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name="Renew the passport", level=1)).to_be_visible()
    saved = task_of(server, headers, task["id"])
    assert (saved["title"], saved["due_date"], saved["recurrence"]) == (
        "Renew the passport",
        "2030-02-01",
        "FREQ=YEARLY",
    )
    await expect(page.get_by_text("Next: Feb 1, 2031 · Feb 1, 2032 · Feb 1, 2033")).to_be_visible()
    await expect(page.get_by_role("region", name="Activity")).to_contain_text(
        "You changed the repetition to every year"
    )
    await (await field(page, "Repeat in words")).fill("now and then")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Can't read 'now and then': try 'every monday'"
    )
    assert task_of(server, headers, task["id"])["recurrence"] == "FREQ=YEARLY"
    await page.get_by_role("textbox", name="Comment").fill("Photos <img src=x onerror=alert(1)>")
    await page.get_by_role("button", name="Post comment").click()
    await expect(page.locator(".comments li")).to_contain_text("Photos <img src=x")
    await expect(page.locator(".comments img")).to_have_count(0)
    await expect(page.get_by_role("listbox")).to_be_hidden()
    assert set(watched.problems) <= {f"{STATUSES} 400 (Bad Request)"}


async def test_a_viewer_reads_the_task_and_its_list_and_is_offered_no_change(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers, _ana_id, ana, home = shared_list(server, "viewer")
    ana_email = api("GET", f"{server.url}/api/auth/me", ana).json()["email"]
    task = made(
        server,
        "/api/tasks",
        {
            "title": "Pay rent",
            "list_id": home,
            "description": "Before the *5th*",
            "due_date": "2030-05-03",
            "priority": "high",
            "tags": ["money"],
            "recurrence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=5",
            "reminders": [{"before_due": "P1D"}],
        },
        headers,
    )
    made(server, "/api/tasks", {"title": "Buy bread", "list_id": home}, headers)
    made(server, "/api/tasks", {"title": "Find the checkbook", "parent_id": task["id"]}, headers)
    made(server, f"/api/tasks/{task['id']}/comments", {"body": "Paid *soon*"}, headers)

    # The owner opens the task beside the list: the focus lands on its heading.
    owner = await open_page(browser, server, axe_source)
    page = owner.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/lists/{home}")
    await expect(page.get_by_role("checkbox", name="Complete Buy bread")).to_be_visible()
    await list_menu(page)
    owners = ("Add a task", "List name")  # quick add into the list; renaming it
    for name in owners:
        await expect(page.get_by_role("textbox", name=name)).to_be_visible()
    await expect(page.get_by_role("link", name="Delete list")).to_be_visible()
    await page.get_by_role("link", name="Pay rent", exact=True).click()
    heading = page.get_by_role("heading", name="Pay rent", level=1)
    await expect(heading).to_be_focused()
    await expect(page.get_by_role("button", name="Save")).to_be_visible()
    await page.context.close()

    # Ana, a viewer, in a browser of her own: rows to open, none to complete or drag.
    viewer = await open_page(browser, server, axe_source)
    page = viewer.page
    await sign_in(page, server, ana_email)
    await page.get_by_role("navigation", name="Lists").get_by_role("link", name="Home").click()
    rows = page.locator("#tasks li.task")
    await expect(rows).to_have_count(3)  # the subtask too, under its parent
    await expect(page.get_by_role("checkbox")).to_have_count(0)
    await expect(page.locator("#tasks[data-reorder], #tasks li[draggable=true]")).to_have_count(0)
    await list_menu(page)
    for name in owners:  # nothing to add to it, nor to rename or delete it with
        await expect(page.get_by_role("textbox", name=name)).to_have_count(0)
    await expect(page.get_by_role("link", name="Delete list")).to_have_count(0)
    await expect(page.get_by_role("link", name="Share")).to_be_visible()  # the members, to read
    await viewer.accessible_in_both_schemes()

    await page.get_by_role("link", name="Pay rent", exact=True).click()
    heading = page.get_by_role("heading", name="Pay rent", level=1)
    await expect(heading).to_be_focused()
    pane = page.get_by_role("article", name="Pay rent")
    await expect(pane).to_contain_text("you are a viewer of this list")
    shown = pane.get_by_role("region", name="Description")
    await expect(shown.locator("em")).to_have_text("5th")
    fields = pane.get_by_role("definition")
    await expect(fields).to_contain_text(
        [
            "May 3, 2030",
            "Every 2 weeks, on Monday and Friday, 5 times",
            "High",
            "money",
            "Home",
            "Nobody",
        ]
    )
    await expect(pane.locator(".reminders li")).to_have_text("1 day before it is due")
    await expect(pane.get_by_role("listitem").filter(has_text="Find the checkbook")).to_be_visible()
    await expect(page.locator(".comments li")).to_contain_text("Paid soon")
    await expect(pane.get_by_role("textbox")).to_have_count(0)
    await expect(pane.get_by_role("combobox")).to_have_count(0)
    await expect(pane.get_by_role("checkbox")).to_have_count(0)
    await expect(pane.get_by_role("button")).to_have_count(0)
    beside = page.get_by_role("region", name="Home")
    await expect(beside.get_by_role("link", name="Buy bread")).to_be_visible()
    await expect(beside.get_by_role("checkbox")).to_have_count(0)
    await viewer.accessible_in_both_schemes()
    # The rule in words of the page's language, and the rule as written.
    await page.context.set_extra_http_headers({"Accept-Language": "de"})
    await page.reload()
    await expect(page.locator(".facts")).to_contain_text(
        "Alle 2 Wochen, am Montag und Freitag, 5 Mal"
    )
    await page.locator("details.rule summary").click()
    await expect(page.locator("details.rule code")).to_have_text(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;COUNT=5"
    )
    assert viewer.problems == []
