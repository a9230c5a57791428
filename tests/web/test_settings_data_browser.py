"""The settings about the person and their data in a real browser, on both databases: the
profile (a time zone that moves a due time, a language the page then speaks), notification
preferences read back through the API, a token for calendar apps used by a CalDAV client, the
MCP address, an export in each of its forms (the zip with the files too) imported back with its
report, and the account deleted by typing its email. With JavaScript on and off, in light and
dark; axe-core on every page."""

import asyncio
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import caldav
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD
from tests.helpers_server import Server
from tests.web.browsing import (
    Watched,
    account_menu,
    made,
    nothing,
    open_page,
    register,
    sign_in,
    tasks_of,
)

MODES = [(True, "light"), (True, "dark"), (False, "light")]
IDS = ["js-light", "js-dark", "nojs-light"]
STATUSES = "console: Failed to load resource: the server responded with a status of"


async def call(
    server: Server,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
    **sent: Any,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, headers=headers, cookies=cookies) as client:
        return await client.request(method, path, **sent)


async def me(server: Server, headers: dict[str, str]) -> dict[str, Any]:
    found = await call(server, "GET", "/api/auth/me", headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def saved(page: Page) -> None:
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text("Saved.")


@pytest.mark.parametrize(("javascript", "scheme"), MODES, ids=IDS)
async def test_profile_notifications_calendar_and_assistants(
    server: Server, browser: Browser, axe_source: str, javascript: bool, scheme: str
) -> None:
    email, headers = register(server)
    task = made(
        server, "/api/tasks", {"title": "Call Mo", "due_at": "2026-12-24T09:00:00Z"}, headers
    )
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    check = watched.accessible if javascript else nothing
    await sign_in(page, server, email)
    await expect(page.get_by_text(re.compile(r"Due Dec 24, 2026, 9:00\sAM"))).to_be_visible()

    # Profile: /app/settings opens it; a new zone moves the due time onto its clock.
    await (await account_menu(page)).get_by_role("link", name="Settings", exact=True).click()
    await expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    await check()
    await page.get_by_label("Name", exact=True).fill("Ada <b>Lovelace</b>")
    await page.get_by_label("Time zone").select_option("Asia/Tokyo")
    await saved(page)
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Ada <b>Lovelace</b>")
    await check()
    profile = await me(server, headers)
    assert (profile["name"], profile["timezone"]) == (
        "Ada <b>Lovelace</b>",
        "Asia/Tokyo",
    )
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    await expect(page.get_by_label("Due", exact=True)).to_have_value("2026-12-24")
    await expect(page.get_by_label("Time", exact=True)).to_have_value("18:00")

    # A zone the API refuses (a select changed by a script): its words, what was chosen kept,
    # and nothing changes.
    await page.goto(f"{server.url}/app/settings/profile")
    if javascript:
        zone = page.get_by_label("Time zone")
        await zone.evaluate("select => select.add(new Option('Mars/Olympus'))")
        await zone.select_option("Mars/Olympus")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert")).to_contain_text("timezone")
        await expect(zone).to_have_value("Mars/Olympus")
        assert (await me(server, headers))["timezone"] == "Asia/Tokyo"
        await zone.select_option("Asia/Tokyo")

    # The language: the next page speaks it, and the API shows it; null is the browser's.
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.get_by_label("Language").select_option(label="Deutsch")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("status")).to_be_visible()
    assert (await me(server, headers))["language"] == "de"
    await check()
    reset = await call(server, "PATCH", "/api/auth/me", headers, json={"language": None})
    assert reset.status_code == 200, reset.text
    await page.reload()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_label("Language")).to_have_value("")

    # Notifications: the email mode and kinds, as the API then reads them.
    groups = page.get_by_role("navigation", name="Settings groups")
    await groups.get_by_role("link", name="Notifications", exact=True).click()
    await expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    await expect(page.get_by_role("radio", name="Right away")).to_be_checked()
    await check()
    await page.get_by_role("radio", name="Once a day").check()
    await page.get_by_role("checkbox", name="Someone assigns me a task").uncheck()
    await page.get_by_role(
        "checkbox", name="Someone completes a task I made or am assigned"
    ).check()
    await saved(page)
    await expect(page.get_by_role("radio", name="Once a day")).to_be_checked()
    got = (await call(server, "GET", "/api/notifications/settings", headers)).json()
    assert got == {
        "email": "daily",
        "kinds": {
            "assigned": False,
            "mentioned": True,
            "commented": False,
            "completed": True,
            "member_joined": False,
        },
    }

    # Calendar apps: a token made here, shown once, works for a CalDAV client.
    await page.get_by_role("link", name="Calendar apps").click()
    await expect(page.get_by_role("heading", name="Calendar apps")).to_be_visible()
    await check()
    address = (await page.locator("#dav-address").text_content() or "").strip()
    assert address == f"{server.url}/dav/"
    await expect(page.get_by_text(f"location: {address}")).to_be_visible()  # Thunderbird's
    await page.get_by_role("button", name="Make a token for calendar apps").click()
    token = await page.get_by_role("textbox", name="Your new token").input_value()
    assert token.startswith("todo_pat_")
    await check()
    listed = (await call(server, "GET", "/api/tokens", headers)).json()
    assert [(t["name"], t["scope"]) for t in listed] == [("Calendar apps", "write")]

    def calendars() -> list[str]:
        client = caldav.DAVClient(url=address, username=email, password=token)
        return [c.get_display_name() for c in client.principal().calendars()]

    assert await asyncio.to_thread(calendars) == ["Inbox"]
    await page.goto(f"{server.url}/app/settings/calendar")  # the secret is not shown again
    await expect(page.get_by_role("textbox", name="Your new token")).to_have_count(0)

    # AI assistants: the MCP address and a client's configuration, as text.
    await page.get_by_role("link", name="AI assistants").click()
    await expect(page.get_by_role("heading", name="AI assistants")).to_be_visible()
    await check()
    config = json.loads(await page.locator("#mcp-config").text_content() or "")
    assert config == {"mcpServers": {"tasks": {"type": "http", "url": f"{server.url}/mcp"}}}
    await done(watched)


async def download(page: Page, name: str) -> Path:
    async with page.expect_download() as started:
        await page.get_by_role("link", name=name).click()
    got = await started.value
    return Path(await got.path())


async def imported(page: Page, source: str, file: Path) -> None:
    await page.get_by_label("The file comes from").select_option(label=source)
    await page.get_by_label("File", exact=True).set_input_files(file)
    async with page.expect_response(re.compile(r"/app/settings/data/import$")):
        await page.get_by_role("button", name="Import").click()


@pytest.mark.parametrize(("javascript", "scheme"), MODES, ids=IDS)
async def test_export_import_and_delete_the_account(
    server: Server, browser: Browser, axe_source: str, javascript: bool, scheme: str
) -> None:
    email, headers = register(server)
    groceries = made(server, "/api/lists", {"name": "Groceries"}, headers)
    milk = made(server, "/api/tasks", {"title": "Milk", "list_id": groceries["id"]}, headers)
    made(server, "/api/tasks", {"title": "Water the plants", "due_date": "2026-12-01"}, headers)
    receipt = await call(
        server,
        "POST",
        f"/api/tasks/{milk['id']}/attachments",
        {**headers, "Content-Type": "text/plain"},
        params={"name": "receipt.txt"},
        content=b"milk: 1.20\n",
    )
    assert receipt.status_code == 201, receipt.text
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    check = watched.accessible if javascript else nothing
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/settings/data")
    await expect(page.get_by_role("heading", name="Your data")).to_be_visible()
    await check()

    exported = await download(page, "Download everything (JSON)")
    document = json.loads(exported.read_text())
    assert sorted(t["title"] for t in document["tasks"]) == ["Milk", "Water the plants"]
    calendar = await download(page, "Download your tasks (iCalendar)")
    assert calendar.read_text().count("BEGIN:VTODO") == 2
    assert "ATTACH;FILENAME=receipt.txt;FMTTYPE=text/plain:" in calendar.read_text()
    with_files = await download(page, "Download everything with your files (zip)")
    with zipfile.ZipFile(with_files) as archive:
        assert json.loads(archive.read("todo-api-export.json"))["tasks"] == document["tasks"]
        assert archive.read(f"files/{receipt.json()['id']}/receipt.txt") == b"milk: 1.20\n"

    # Imported back: both files' tasks again, with what was left out listed.
    await imported(page, "This service (an export)", exported)
    report = page.get_by_role("status").filter(has_text="Imported")
    await expect(report).to_contain_text("Imported: 1 list, 2 tasks.")
    await check()
    await imported(page, "A calendar app (iCalendar)", calendar)
    await expect(report).to_contain_text(re.compile(r"Imported: \d lists?, 2 tasks\."))
    assert len(tasks_of(server, headers)) == 6
    # The zip: its tasks again, with the file.
    await imported(page, "This service (an export)", with_files)
    await expect(report).to_contain_text("Imported: 1 list, 2 tasks.")
    await check()
    milks = [t for t in tasks_of(server, headers) if t["title"] == "Milk"]
    files = [
        (await call(server, "GET", f"/api/tasks/{t['id']}/attachments", headers)).json()
        for t in milks
    ]
    # On Milk and on the zip's copy; not on the JSON document's copy or the iCalendar file's.
    assert sorted(len(f) for f in files) == [0, 0, 1, 1]
    assert len(tasks_of(server, headers)) == 8
    # A file with a part the import leaves out: the report names it.
    odd = exported.with_name("odd.ics")
    odd.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:a\r\n"
        "SUMMARY:Odd one\r\nEND:VTODO\r\nBEGIN:VEVENT\r\nUID:b\r\nSUMMARY:A meeting\r\n"
        "DTSTART:20261201T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    await imported(page, "A calendar app (iCalendar)", odd)
    await expect(report).to_contain_text(re.compile(r"Imported: \d lists?, 1 task\."))
    await expect(
        page.get_by_role("list", name="Left out").get_by_role("listitem")
    ).not_to_have_count(0)
    await check()
    # A file that is not what it says: nothing made, the API's words in an alert.
    await imported(page, "Todoist (CSV or JSON)", exported)
    await expect(page.get_by_role("alert")).to_be_visible()
    assert len(tasks_of(server, headers)) == 9

    # Deleting: a form posted without this browser's token (another site's) changes nothing;
    # another email is refused; the account's own deletes it and signs out.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    forged = await call(
        server, "POST", "/app/settings/data/delete", data={"confirm": email}, cookies=cookies
    )
    assert forged.status_code == 403
    assert (await me(server, headers))["email"] == email
    await page.get_by_label("Type your email to confirm").fill("someone@example.com")
    await page.get_by_role("button", name="Delete the account").click()
    await expect(page.get_by_role("alert")).to_contain_text("confirm")
    await check()
    await page.get_by_label("Type your email to confirm").fill(email.upper())
    await page.get_by_role("button", name="Delete the account").click()
    await expect(page.get_by_role("heading", name="Account deleted")).to_be_visible()
    await check()
    gone = await call(
        server, "POST", "/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert gone.status_code == 401
    await page.goto(f"{server.url}/app/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await done(watched)


async def done(watched: Watched) -> None:
    """Only the statuses the flow asked for: a refused zone, file or email (400)."""
    expected = {f"{STATUSES} 400 (Bad Request)"}
    assert set(watched.problems) <= expected
