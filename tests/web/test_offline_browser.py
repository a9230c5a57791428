"""The app installed and offline, in a real browser on both databases: the manifest and its
icons, the service worker controlling the pages; pages opened online read offline with a line
saying so and since when; adding, completing, reopening, editing and deleting a task offline
shown at once with `N changes waiting` and done exactly once when the network is back (also
when it drops again while they are sent, or is not there yet when the browser says it is); an
edit meeting a newer one shows the conflict page; signing out with changes waiting asks, and
leaves nothing of the person on the device for the next; a reminder as the device's
notification; the inbox's weight on a first and a later visit."""

import asyncio
import re
import struct
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect
from playwright.async_api import Error as PlaywrightError

from tests.helpers_server import Server
from tests.web.browsing import (
    TIMEOUT_MS,
    Watched,
    made,
    register,
    sign_in,
    sign_out,
    tasks_of,
    view_menu,
)
from tests.web.offline import controlled, new_context, signed_in, until, within

SHOTS = str(Path(tempfile.gettempdir()) / "offline-{}-{}.png")  # looked at, not kept
FIRST_VISIT_BYTES = 150_000  # the contract's first visit of the inbox of 50
LATER_VISIT_BYTES = 20_000


async def _kept(page: Page) -> dict[str, Any]:
    """What the device holds: the caches' names and the databases'."""
    found: dict[str, Any] = await page.evaluate(
        """async () => ({
            caches: await caches.keys(),
            databases: (await indexedDB.databases()).map(d => d.name),
        })"""
    )
    return found


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


def _get(server: Server, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers=headers)


def _task(server: Server, headers: dict[str, str], task_id: str) -> httpx.Response:
    return _get(server, f"/api/tasks/{task_id}", headers)


def _send(server: Server, method: str, path: str, headers: dict[str, str], **body: Any) -> None:
    sent = httpx.request(method, f"{server.url}{path}", headers=headers, json=body or None)
    assert sent.is_success, sent.text


def _a_task_at_home(server: Server) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A new person's email, their list `Home` and its task `Water the plants`."""
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)
    water = made(
        server, "/api/tasks", {"title": "Water the plants", "list_id": home["id"]}, headers
    )
    return email, home, water


async def test_installable_and_read_offline(server: Server, browser: Browser) -> None:
    manifest = _get(server, "/app/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert (body["start_url"], body["scope"], body["display"]) == ("/app/", "/app/", "standalone")
    assert all(body[name] for name in ("name", "short_name", "theme_color", "background_color"))
    sizes = {}
    for icon in body["icons"]:
        got = _get(server, icon["src"])
        assert got.status_code == 200
        assert got.headers["content-type"] == "image/png"
        assert _png_size(got.content) == tuple(int(n) for n in icon["sizes"].split("x"))
        sizes[icon["sizes"]] = icon.get("purpose", "any")
    assert set(sizes) == {"192x192", "512x512"}
    assert any(icon.get("purpose") == "maskable" for icon in body["icons"])
    worker = _get(server, "/app/sw.js")
    assert worker.status_code == 200
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")

    email, home, water = _a_task_at_home(server)
    context = await new_context(browser)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(page, server, email)
    assert await page.locator("link[rel=manifest]").get_attribute("href") == (
        "/app/manifest.webmanifest"
    )
    await controlled(page)
    await page.goto(f"{server.url}/app/lists/{home['id']}")
    await page.get_by_role("link", name="Water the plants").click()
    await expect(page.get_by_role("heading", name="Water the plants", level=1)).to_be_visible()
    await page.goto(f"{server.url}/app/tasks/{water['id']}")  # opened as a page of its own

    await context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="Offline")
    await page.goto(f"{server.url}/app/")
    await expect(status).to_contain_text("Offline \N{EN DASH} last updated")
    await page.get_by_role("link", name="Home 1 open").click()
    await expect(page.get_by_role("link", name="Water the plants")).to_be_visible()
    await expect(status).to_be_visible()
    await page.goto(f"{server.url}/app/tasks/{water['id']}")
    await expect(page.get_by_role("textbox", name="Title")).to_have_value("Water the plants")
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("read", width))
    # Never kept: the API (outside the worker's scope) and another sign-in's pages.
    kept = await page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(all => all.flat().map(r => new URL(r.url).pathname))"
    )
    assert kept
    assert all(path.startswith("/app/") for path in kept)
    assert not any(path.startswith(("/app/live", "/app/signin")) for path in kept)
    await context.set_offline(False)
    assert errors == []
    await context.close()


async def test_writes_offline_are_done_once(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    done = made(server, "/api/tasks", {"title": "Done already"}, headers)
    _send(server, "POST", f"/api/tasks/{done['id']}/complete", headers)
    made(server, "/api/tasks", {"title": "Buy bread"}, headers)
    rename = made(server, "/api/tasks", {"title": "Call the plumber"}, headers)
    gone = made(server, "/api/tasks", {"title": "Old errand"}, headers)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, server, email)
    await controlled(page)

    # A form of the app posted twice with one Idempotency-Key: one task, the answer replayed.
    replays = await page.evaluate(
        """async () => {
            const body = new URLSearchParams({
                csrf_token: document.querySelector('input[name=csrf_token]').value,
                text: 'Once only', back: '/app/'});
            const send = () => fetch('/app/quick', {method: 'POST', body, redirect: 'manual',
                headers: {'Idempotency-Key': 'twice-sent-1'}});
            const first = await send(), second = await send();
            return [first.type, second.type];
        }"""
    )
    assert replays == ["opaqueredirect", "opaqueredirect"]
    assert [t["title"] for t in tasks_of(server, headers)].count("Once only") == 1

    await page.goto(f"{server.url}/app/?completed=1")  # read once online: kept for offline
    await page.goto(f"{server.url}/app/tasks/{rename['id']}")
    await page.goto(f"{server.url}/app/tasks/{gone['id']}")
    await page.goto(f"{server.url}/app/")
    await context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="waiting")

    await page.get_by_role("textbox", name="Add a task").fill("Buy oat milk")
    await page.get_by_role("textbox", name="Add a task").press("Enter")
    await expect(page.get_by_text("Buy oat milk")).to_be_visible()
    await expect(status).to_contain_text("1 change waiting")
    await page.get_by_role("checkbox", name="Complete Buy bread").click()
    await expect(page.get_by_role("checkbox", name="Complete Buy bread")).to_be_hidden()
    await expect(status).to_contain_text("2 changes waiting")
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("waiting", width))
    await page.set_viewport_size({"width": 1280, "height": 800})
    await Watched(page, server.url, axe_source).accessible()

    await page.goto(f"{server.url}/app/?completed=1")
    await page.get_by_role("checkbox", name="Reopen Done already").click()
    await expect(status).to_contain_text("3 changes waiting")
    await page.goto(f"{server.url}/app/tasks/{rename['id']}")
    await page.get_by_role("textbox", name="Title").fill("Call the plumber at 9")
    await page.get_by_role("button", name="Save").click()
    await expect(status).to_contain_text("4 changes waiting")
    await page.goto(f"{server.url}/app/tasks/{gone['id']}")
    await page.get_by_role("button", name="Delete").click()
    await expect(status).to_contain_text("5 changes waiting")
    await expect(page.get_by_role("link", name="Old errand")).to_be_hidden()
    # Read again from the device: still shown as done.
    await page.goto(f"{server.url}/app/")
    await expect(page.get_by_text("Buy oat milk")).to_be_visible()
    await expect(page.get_by_role("checkbox", name="Complete Buy bread")).to_be_hidden()
    await expect(status).to_contain_text("5 changes waiting")

    # Back online, the network drops again just as the first change was done: its answer
    # never arrives. Sent again later with its key, it is not done twice.
    dropped = asyncio.Event()
    tries: list[str] = []

    async def drop_first(route: Route) -> None:
        tries.append(route.request.headers["idempotency-key"])
        if dropped.is_set():
            await route.continue_()
            return
        await route.fetch()  # the server does it
        await context.set_offline(True)
        await route.abort("internetdisconnected")
        dropped.set()

    await context.route("**/app/quick", drop_first)
    await context.set_offline(False)
    await dropped.wait()
    await expect(status).to_contain_text("5 changes waiting")
    await context.set_offline(False)
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_be_hidden()
    await expect(page.get_by_role("link", name="Buy oat milk")).to_be_visible()

    # Sent again (by the page, or by the worker's Background Sync too), each time with its one
    # key.
    assert len(tries) >= 2
    assert len(set(tries)) == 1
    titles = [task["title"] for task in tasks_of(server, headers)]
    assert titles.count("Buy oat milk") == 1
    everything = _get(server, "/api/tasks?completed=true", headers).json()
    assert [t["title"] for t in everything].count("Buy bread") == 1
    assert _task(server, headers, rename["id"]).json()["title"] == "Call the plumber at 9"
    assert _task(server, headers, done["id"]).json()["is_completed"] is False
    assert _task(server, headers, gone["id"]).status_code == 404
    await context.close()


async def test_an_edit_offline_meets_a_newer_one(
    server: Server, browser: Browser, axe_source: str
) -> None:
    headers, context, page = await signed_in(browser, server)
    task = made(server, "/api/tasks", {"title": "Paint the fence"}, headers)
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    await context.set_offline(True)
    await page.get_by_role("textbox", name="Title").fill("Paint the fence green")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_contain_text(
        "1 change waiting"
    )
    _send(server, "PATCH", f"/api/tasks/{task['id']}", headers, title="Paint the gate")

    # Back online, the first send finds no network yet (the browser's `online` can come a
    # moment before its network does): it is sent again after a pause, with nothing else to
    # wake it.
    refused: list[str] = []

    async def no_network_once(route: Route) -> None:
        if route.request.method == "POST" and not refused:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await context.route(f"**/app/tasks/{task['id']}", no_network_once)
    # On a phone, far down the page (where Save is): the notice comes to the person.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await context.set_offline(False)
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Someone else changed this task")
    await expect(alert).to_be_in_viewport(ratio=1)
    await expect(alert).to_be_focused()
    deciding = page.get_by_role("status").filter(has_text="needs your decision")
    await expect(deciding).to_have_text("A change made offline needs your decision")
    await expect(alert).to_contain_text("Paint the gate")  # theirs
    await expect(page.get_by_role("textbox", name="Title")).to_have_value("Paint the fence green")
    await expect(alert.get_by_role("button", name="Reload")).to_be_visible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 844})
        await page.screenshot(path=SHOTS.format("conflict", width))
    # Elsewhere before deciding: still asked for, a link to the task, whose page asks again.
    await page.goto(f"{server.url}/app/")
    decide = deciding.get_by_role("link", name="A change made offline needs your decision")
    await expect(decide).to_be_visible()
    await Watched(page, server.url, axe_source).accessible_in_both_schemes()
    await decide.click()
    await expect(alert).to_contain_text("Someone else changed this task")
    await expect(deciding).to_be_visible()
    await Watched(page, server.url, axe_source).accessible()
    await alert.get_by_role("button", name="Keep mine").click()
    await expect(page.get_by_role("heading", name="Paint the fence green", level=1)).to_be_visible()
    await expect(deciding).to_be_hidden()
    await page.goto(f"{server.url}/app/")
    await expect(deciding).to_be_hidden()
    assert _task(server, headers, task["id"]).json()["title"] == "Paint the fence green"
    assert len(refused) == 1
    await context.close()


async def test_a_change_offline_shows_in_every_view(
    server: Server, browser: Browser, axe_source: str
) -> None:
    headers, context, page = await signed_in(browser, server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)
    work = made(server, "/api/lists", {"name": "Work"}, headers)  # empty
    today = datetime.now(UTC).date()  # the person's clock: UTC, as the browser's
    tomorrow = (today + timedelta(days=1)).isoformat()
    due = {"list_id": home["id"], "due_date": today.isoformat()}
    bike = made(server, "/api/tasks", {"title": "Fix the bike", **due}, headers)
    mum = made(server, "/api/tasks", {"title": "Call mum", **due}, headers)
    soon = made(server, f"/api/lists/{home['id']}/sections", {"name": "Soon"}, headers)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{server.url}/app/lists/{home['id']}")
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    await expect(page.get_by_role("region", name="Board")).to_be_visible()
    for path in ("/app/today", "/app/upcoming", f"/app/lists/{work['id']}"):
        await page.goto(f"{server.url}{path}")  # read once online: kept for offline
    await page.goto(f"{server.url}/app/tasks/{bike['id']}")
    await page.goto(f"{server.url}/app/tasks/{mum['id']}")
    await context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="waiting")

    # Call mum: tomorrow, in Work. Fix the bike: a new title, priority high.
    await page.locator("#due").fill(tomorrow)
    await page.locator("#list_id").select_option(label="Work")
    await page.get_by_role("button", name="Save").click()
    await expect(status).to_contain_text("1 change waiting")
    await page.goto(f"{server.url}/app/tasks/{bike['id']}")
    await page.get_by_role("textbox", name="Title").fill("Fix the bike chain")
    await page.locator("#priority").select_option("high")
    await page.get_by_role("button", name="Save").click()
    await expect(status).to_contain_text("2 changes waiting")

    def row(title: str) -> Any:
        return page.locator("li.task").filter(has=page.get_by_role("link", name=title))

    await page.goto(f"{server.url}/app/today")
    bike_row = row("Fix the bike chain")
    bike_check = bike_row.get_by_role("checkbox", name="Fix the bike chain, priority 1")
    await expect(bike_check).to_be_visible()
    await expect(bike_row.locator(".check")).to_have_class(re.compile(r"\bp1\b"))
    await expect(page.get_by_role("link", name="Call mum")).to_be_hidden()
    await expect(page.get_by_role("link", name="Today 1 open")).to_be_visible()
    await expect(page.get_by_role("link", name="Home 1 open")).to_be_visible()
    await expect(page.get_by_role("link", name="Work 1 open")).to_be_visible()

    await page.goto(f"{server.url}/app/upcoming")
    tomorrows = page.get_by_role("list", name="Tomorrow")
    await expect(tomorrows.get_by_role("link", name="Call mum")).to_be_visible()
    await expect(row("Call mum")).to_contain_text("Due Tomorrow")
    await expect(row("Fix the bike chain")).to_be_visible()
    await expect(page.get_by_role("link", name="Upcoming 2 open")).to_be_visible()
    await Watched(page, server.url, axe_source).accessible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("upcoming", width), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.goto(f"{server.url}/app/lists/{home['id']}")
    board = page.get_by_role("region", name="Board")
    await expect(board.get_by_role("link", name="Fix the bike chain")).to_be_visible()
    await expect(board.get_by_role("link", name="Call mum")).to_be_hidden()
    await expect(board.locator(".column-head .count").first).to_have_text("1")
    await expect(page.get_by_role("link", name="Home 1 open")).to_be_visible()
    # A card moved to another column: there, and there again when the board is read again.
    # (from the keyboard: `Move to…` is for without JavaScript)
    await row("Fix the bike chain").get_by_role("link", name="Fix the bike chain").focus()
    await page.keyboard.press("Alt+ArrowRight")
    await expect(status).to_contain_text("3 changes waiting")
    await page.goto(f"{server.url}/app/today")
    await page.goto(f"{server.url}/app/lists/{home['id']}")
    column = board.locator(f".column[data-section='{soon['id']}']")
    await expect(column.get_by_role("link", name="Fix the bike chain")).to_be_visible()
    await expect(column.locator(".column-head .count")).to_have_text("1")
    await expect(board.locator(".column-head .count").first).to_have_text("0")
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("board", width), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})

    # Work was empty: it takes the row; completing it there, the counts follow again.
    await page.goto(f"{server.url}/app/lists/{work['id']}")
    await expect(row("Call mum")).to_contain_text("Due Tomorrow")
    await expect(page.get_by_role("link", name="Work 1 open")).to_be_visible()
    await page.get_by_role("checkbox", name="Complete Call mum").click()
    await expect(status).to_contain_text("4 changes waiting")
    await expect(page.get_by_role("link", name="Call mum")).to_be_hidden()
    await page.goto(f"{server.url}/app/upcoming")
    await expect(page.get_by_role("link", name="Call mum")).to_be_hidden()
    await expect(page.get_by_role("link", name="Upcoming 1 open")).to_be_visible()
    await expect(page.get_by_role("link", name="Work 0 open")).to_be_visible()

    await context.set_offline(False)
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_be_hidden()
    sent = _task(server, headers, mum["id"]).json()
    assert (sent["list_id"], sent["due_date"], sent["is_completed"]) == (work["id"], tomorrow, True)
    sent = _task(server, headers, bike["id"]).json()
    assert (sent["title"], sent["priority"], sent["section_id"]) == (
        "Fix the bike chain",
        "high",
        soon["id"],
    )
    assert errors == []
    await context.close()


async def test_a_task_due_today_offline_shows_in_a_today_that_had_nothing(
    server: Server, browser: Browser
) -> None:
    headers, context, page = await signed_in(browser, server)
    later = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    plants = made(server, "/api/tasks", {"title": "Water the plants", "due_date": later}, headers)
    await page.goto(f"{server.url}/app/today")
    await expect(page.get_by_text("No open tasks here.")).to_be_visible()
    await page.goto(f"{server.url}/app/tasks/{plants['id']}")
    await context.set_offline(True)
    await page.locator("#due").fill(datetime.now(UTC).date().isoformat())
    await page.get_by_role("button", name="Save").click()
    # Kept on the device (IndexedDB) once the line says so: leaving before would lose it.
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_contain_text(
        "1 change waiting"
    )
    await page.goto(f"{server.url}/app/today")
    await expect(page.locator(".day h2")).to_have_count(1)  # today's, as the server heads it
    await expect(
        page.get_by_role("list").get_by_role("link", name="Water the plants")
    ).to_be_visible()
    await expect(page.get_by_text("No open tasks here.")).to_be_hidden()
    await expect(page.get_by_role("link", name="Today 1 open")).to_be_visible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("today", width), full_page=True)
    await context.set_offline(False)
    await context.close()


async def test_a_task_added_offline_to_an_empty_list_shows(
    server: Server, browser: Browser
) -> None:
    headers, context, page = await signed_in(browser, server)
    errands = made(server, "/api/lists", {"name": "Errands"}, headers)
    await page.goto(f"{server.url}/app/lists/{errands['id']}")
    await expect(page.get_by_text("No open tasks here.")).to_be_visible()
    await context.set_offline(True)
    await page.get_by_role("textbox", name="Add a task").fill("Buy stamps")
    await page.get_by_role("textbox", name="Add a task").press("Enter")
    await expect(page.get_by_text("Buy stamps")).to_be_visible()
    await expect(page.get_by_text("No open tasks here.")).to_be_hidden()
    await expect(page.get_by_role("link", name="Errands 1 open")).to_be_visible()
    await page.goto(f"{server.url}/app/")
    await expect(page.get_by_text("Buy stamps")).to_be_hidden()  # not the inbox's
    await page.goto(f"{server.url}/app/lists/{errands['id']}")
    await expect(page.get_by_text("Buy stamps")).to_be_visible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("empty-list", width), full_page=True)
    await context.set_offline(False)
    # The row made on the device is a link too (the task opens before it is sent): the
    # server's own row, once the change is sent and the page read again, is what says so.
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_be_hidden()
    await expect(page.locator("#tasks li.task.waiting")).to_have_count(0)
    await expect(page.get_by_role("link", name="Buy stamps")).to_be_visible()
    assert [t["list_id"] for t in tasks_of(server, headers)] == [errands["id"]]
    await context.close()


async def test_signing_out_asks_and_leaves_nothing_behind(server: Server, browser: Browser) -> None:
    first, first_headers = register(server)
    second, _ = register(server)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, server, first)
    await controlled(page)
    key = await page.locator("#offline-state").get_attribute("data-key")

    # A change that cannot be sent (the server is out of reach): it waits.
    await context.route("**/app/quick", lambda route: route.abort("connectionrefused"))
    await context.set_offline(True)
    await page.get_by_role("textbox", name="Add a task").fill("Secret plan")
    await page.get_by_role("textbox", name="Add a task").press("Enter")
    await context.set_offline(False)
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_contain_text(
        "1 change waiting"
    )

    asked: list[str] = []

    async def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        await (dialog.dismiss() if len(asked) == 1 else dialog.accept())

    page.on("dialog", answer)
    await sign_out(page)
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_contain_text(
        "1 change waiting"
    )  # stayed
    assert asked == ["Changes made offline have not been sent yet. Sign out and lose them?"]
    await sign_out(page)
    await expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert len(asked) == 2
    kept = await _kept(page)
    assert not any(name.startswith("pages-") for name in kept["caches"]), kept
    assert not any(name.startswith("todo-offline-") for name in kept["databases"]), kept
    assert "Secret plan" not in [t["title"] for t in tasks_of(server, first_headers)]

    await context.unroute("**/app/quick")
    await sign_in(page, server, second)
    await controlled(page)
    kept = await _kept(page)
    other = await page.locator("#offline-state").get_attribute("data-key")
    assert other != key
    assert [n for n in kept["caches"] if n.startswith("pages-")] == [f"pages-{other}"]
    assert [n for n in kept["databases"] if n.startswith("todo-offline-")] == [
        f"todo-offline-{other}"
    ]
    await expect(page.get_by_text("Secret plan")).to_be_hidden()
    await context.close()


async def test_a_sign_in_ended_elsewhere_leaves_nothing_to_open_offline(
    server: Server, browser: Browser
) -> None:
    """The person ends every other sign-in from another browser (the sessions list): the first
    page this browser asks for says the sign-in has ended and empties the device (the answer's
    Clear-Site-Data; the worker forgets the person's pages on that 401 too, for a browser
    without it), so the pages it kept no longer open offline."""
    email, home, water = _a_task_at_home(server)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, server, email)
    await controlled(page)
    task_page = f"{server.url}/app/tasks/{water['id']}"
    await page.goto(f"{server.url}/app/lists/{home['id']}")
    await page.goto(task_page)
    kept_paths = await page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.filter(k => k.startsWith('pages-'))"
        ".map(k => caches.open(k).then(c => c.keys()))))"
        ".then(all => all.flat().map(r => new URL(r.url).pathname))"
    )
    assert f"/app/tasks/{water['id']}" in kept_paths

    elsewhere = await (await new_context(browser)).new_page()
    await sign_in(elsewhere, server, email)
    await elsewhere.goto(f"{server.url}/app/settings/security")
    await elsewhere.get_by_role("button", name="End the others").click()
    await expect(elsewhere.get_by_text("Every other sign-in has ended.")).to_be_visible()

    ended = await page.goto(f"{server.url}/app/")
    assert ended is not None
    assert ended.status == 401
    # (Chromium acts on Clear-Site-Data and shows the header to no script: tested in-process.)
    await expect(page.get_by_text("Your sign-in has ended. Sign in again.")).to_be_visible()
    kept = await _kept(page)
    assert not any(name.startswith("pages-") for name in kept["caches"]), kept
    assert not any(name.startswith("todo-offline-") for name in kept["databases"]), kept

    await context.set_offline(True)
    for path in (task_page, f"{server.url}/app/lists/{home['id']}"):
        with pytest.raises(PlaywrightError):
            await page.goto(path)
    await context.set_offline(False)
    await context.close()


SPY = """
window.shown = [];
const Real = window.Notification;
window.Notification = class {
  constructor(title, options) { window.shown.push([title, options && options.body]); }
  static get permission() { return Real.permission; }
  static requestPermission() { return Real.requestPermission(); }
};
"""


async def test_a_reminder_shows_as_a_notification(
    server: Server, full_browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    context = await new_context(full_browser)  # the headless shell shows no notifications
    await context.grant_permissions(["notifications"], origin=server.url)
    await context.add_init_script(SPY)
    page = await context.new_page()
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/settings/notifications")
    await page.get_by_role("button", name="Show reminders on this device").click()
    await expect(page.get_by_text("Reminders are shown on this device.")).to_be_visible()
    await Watched(page, server.url, axe_source).accessible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("notifications", width), full_page=True)
    await page.goto(f"{server.url}/app/")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    made(server, "/api/tasks", {"title": "Take the cake out", "reminders": [{"at": soon}]}, headers)
    await page.wait_for_function("() => window.shown.length > 0", timeout=30_000)
    assert await page.evaluate("window.shown") == [["Reminder", "Take the cake out"]]

    # A reminder pushed to the device (Web Push): the worker shows it, its address kept.
    await controlled(page)
    devtools = await context.new_cdp_session(page)
    registrations: list[str] = []
    registered = asyncio.Event()

    def updated(event: dict[str, Any]) -> None:
        registrations.extend(r["registrationId"] for r in event["registrations"])
        if registrations:
            registered.set()

    devtools.on("ServiceWorker.workerRegistrationUpdated", updated)
    await devtools.send("ServiceWorker.enable")
    await asyncio.wait_for(registered.wait(), TIMEOUT_MS / 1000)
    pushed = '{"title": "Reminder", "body": "Feed the cat", "url": "/app/"}'
    shown = (
        "() => navigator.serviceWorker.ready.then(r => r.getNotifications())"
        ".then(all => all.some(n => n.title === 'Reminder' && n.body === 'Feed the cat'"
        " && n.data.url === '/app/'))"
    )
    # Sent again until shown: a message that reaches a worker still starting can be dropped,
    # and the newest registration is the one that counts.
    for _ in range(TIMEOUT_MS // 2000):
        await devtools.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.url, "registrationId": registrations[-1], "data": pushed},
        )
        if await within(page, shown, seconds=2):
            break
    else:
        raise AssertionError("the pushed reminder was never shown")
    await context.close()


class _CountingProxy:
    """A TCP proxy to the server counting the bytes it sends the browser."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._writers: set[asyncio.StreamWriter] = set()
        self.sent = 0

    async def __aenter__(self) -> "_CountingProxy":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self._port)
        self._writers |= {writer, upstream}
        await asyncio.gather(
            self._pipe(reader, upstream), self._pipe(upstream_reader, writer, True)
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counted: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if counted:
                    self.sent += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()


async def test_the_inbox_is_light_with_the_worker(server: Server, browser: Browser) -> None:
    email, headers = register(server)
    for n in range(50):
        made(server, "/api/tasks", {"title": f"Task number {n} with a few words"}, headers)
    port = int(server.url.rsplit(":", 1)[1])
    async with _CountingProxy(port) as proxy:
        signing = await new_context(browser)
        page = await signing.new_page()
        await sign_in(page, server, email)
        cookies = await signing.storage_state()
        await signing.close()
        context = await new_context(browser, storage_state=cookies)  # its own cache: empty
        page = await context.new_page()
        await page.goto(f"{proxy.url}/app/")
        await expect(
            page.get_by_role("link", name="Task number 49 with a few words")
        ).to_be_visible()
        files = "script[src], link[rel=stylesheet], link[rel=icon]"
        await until(
            page,
            "files => caches.open('static').then(c => c.keys())"
            ".then(k => k.length >= document.querySelectorAll(files).length)",
            files,
        )
        first = proxy.sent
        assert first <= FIRST_VISIT_BYTES, first
        await page.goto(f"{proxy.url}/app/today")  # the worker now answers for the files
        before = proxy.sent
        await page.goto(f"{proxy.url}/app/")
        await expect(
            page.get_by_role("link", name="Task number 49 with a few words")
        ).to_be_visible()
        later = proxy.sent - before
        print(f"bytes on the wire: first visit {first}, later visit {later}")
        assert later <= LATER_VISIT_BYTES, later
        await context.close()
