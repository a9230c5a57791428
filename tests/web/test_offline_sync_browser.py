"""The app offline, more of it, in a real browser on both databases: the task page's Due,
Priority and List menus kept while offline (one save, done once); the changes waiting sent by
the service worker's Background Sync with no page of the app open (and not again by the page
after); and the browser's own push subscription posted to the server with its key.

Headless Chromium has no push service: `PushManager.subscribe` answers with an error there.
The subscribe test stands in a subscription for that one call (an init script), with keys made
here as a browser makes them; everything after it (the page posting `toJSON()` to
`/app/push-subscriptions`, the server checking and keeping it) is the real thing. Pushing to a
subscription is tested against a local push service in tests/push."""

import asyncio
import base64
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.async_api import Browser, expect

from tests.helpers_server import Server, running_server
from tests.web.browsing import CHROMIUM, TIMEOUT_MS, Watched, made, missing, register, sign_in
from tests.web.conftest import web_env
from tests.web.offline import controlled, new_context, until
from todo_api.push.vapid import new_keys

SHOTS = str(Path(tempfile.gettempdir()) / "shots-offline" / "sync-{}-{}.png")  # looked at
PUBLIC_KEY, PRIVATE_KEY = new_keys()
SYNC = "todo-changes"  # static/sw.js's Background Sync tag


@pytest.fixture
def browser(full_browser: Browser) -> Browser:
    """The whole Chromium: the headless shell has no Background Sync, nor notifications."""
    return full_browser


@pytest.fixture(scope="module")
def server(web_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The module's server, with Web Push set up (its VAPID keys) and push services on any
    address (the subscription's endpoint is this test's)."""
    if not os.path.exists(CHROMIUM):
        missing("Chromium is not installed at /usr/bin/chromium")
    directory = tmp_path_factory.mktemp("server")
    env = web_env(
        web_database_url,
        VAPID_PUBLIC_KEY=PUBLIC_KEY,
        VAPID_PRIVATE_KEY=PRIVATE_KEY,
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
    )
    with running_server(directory, env, directory / "server.log") as server:
        yield server


def _task(server: Server, headers: dict[str, str], task_id: str) -> httpx.Response:
    got = httpx.get(f"{server.url}/api/tasks/{task_id}", headers=headers)
    assert got.status_code == 200, got.text
    return got


def _get(server: Server, path: str, headers: dict[str, str]) -> Any:
    got = httpx.get(f"{server.url}{path}", headers=headers)
    assert got.status_code == 200, got.text
    return got.json()


async def test_the_task_pages_menus_offline_are_one_save_done_once(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    home = made(server, "/api/lists", {"name": "Home"}, headers)
    bike = made(server, "/api/tasks", {"title": "Fix the bike"}, headers)
    version = _task(server, headers, bike["id"]).headers["etag"]
    context = await new_context(browser)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await sign_in(page, server, email)
    await controlled(page)
    await page.goto(f"{server.url}/app/tasks/{bike['id']}")

    await context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="waiting")
    priority = page.get_by_role("button", name="Priority")
    await priority.click()
    await page.get_by_role("menuitemradio", name="High").click()
    await expect(priority).to_have_accessible_description("High")
    await expect(priority).to_be_focused()
    await expect(status).to_contain_text("1 change waiting")
    due = page.get_by_role("button", name="Due")
    await due.click()
    tomorrow = page.get_by_role("button", name="Tomorrow")
    day = await tomorrow.get_attribute("value")
    assert day is not None
    await tomorrow.click()
    await expect(due).to_have_accessible_description("Tomorrow")
    listed = page.get_by_role("button", name="List", exact=True)
    await listed.click()
    await page.get_by_role("menuitemradio", name="Home").click()
    await expect(listed).to_have_accessible_description("Home")
    # Three picks from one page: one save (each a save of the same version would meet the
    # one before it as someone else's).
    await expect(status).to_contain_text("1 change waiting")
    await Watched(page, server.url, axe_source).accessible()
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=SHOTS.format("menus", width))
    await page.set_viewport_size({"width": 1280, "height": 800})
    # Read again from the device: the change still waits, the form shows it.
    await page.reload()
    await expect(status).to_contain_text("1 change waiting")
    await expect(page.get_by_role("combobox", name="Priority")).to_have_value("high")

    await context.set_offline(False)
    await expect(status).to_be_hidden()
    await expect(page.get_by_role("button", name="Priority")).to_have_accessible_description("High")
    task = _task(server, headers, bike["id"])
    body = task.json()
    assert (body["priority"], body["due_date"], body["list_id"]) == ("high", day, home["id"])
    # One save, done once (by the page, or by the worker's Background Sync, whichever came
    # first: they take turns).
    assert task.headers["etag"] == f'"{int(version.strip(chr(34))) + 1}"'
    assert errors == []
    await context.close()


async def test_changes_waiting_are_sent_by_the_worker_with_no_page_open(
    server: Server, browser: Browser
) -> None:
    email, headers = register(server)
    context = await new_context(browser)
    page = await context.new_page()
    await sign_in(page, server, email)
    await controlled(page)
    other = await context.new_page()  # outside the worker's scope: to reach it by, later
    await other.goto(f"{server.url}/health")
    await context.set_offline(True)
    box = page.get_by_role("textbox", name="Add a task")
    for title in ("Buy stamps", "Post the letter"):
        await box.fill(title)
        await box.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_contain_text(
        "2 changes waiting"
    )
    # Registered with the browser's Background Sync (tried by it as soon as it thinks it is
    # online: the worker found no network, so they still wait).
    tags = await page.evaluate("navigator.serviceWorker.ready.then(r => r.sync.getTags())")
    assert SYNC in tags

    # Every page of the app closed: only the worker can send them.
    await page.close()
    await context.set_offline(False)
    devtools = await context.new_cdp_session(other)
    registrations: list[str] = []
    registered = asyncio.Event()

    def updated(event: dict[str, Any]) -> None:
        registrations.extend(r["registrationId"] for r in event["registrations"])
        if registrations:
            registered.set()

    devtools.on("ServiceWorker.workerRegistrationUpdated", updated)
    await devtools.send("ServiceWorker.enable")
    await asyncio.wait_for(registered.wait(), TIMEOUT_MS / 1000)
    await devtools.send(  # the network is back: the browser fires the sync (here, at once)
        "ServiceWorker.dispatchSyncEvent",
        {"origin": server.url, "registrationId": registrations[0], "tag": SYNC}
        | {"lastChance": False},
    )
    for _ in range(TIMEOUT_MS // 100):
        titles = [t["title"] for t in _get(server, "/api/tasks", headers)]
        if "Post the letter" in titles:
            break
        await asyncio.sleep(0.1)
    assert titles.count("Buy stamps") == 1
    assert titles.count("Post the letter") == 1
    assert titles.index("Post the letter") < titles.index("Buy stamps")  # in order: newest first

    # The app opened again: nothing waits, nothing is sent again.
    page = await context.new_page()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    await page.goto(f"{server.url}/app/")
    await expect(page.get_by_role("link", name="Post the letter")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="waiting")).to_be_hidden()
    await page.wait_for_timeout(500)
    assert sent == []
    titles = [t["title"] for t in _get(server, "/api/tasks", headers)]
    assert sorted(titles) == ["Buy stamps", "Post the letter"]
    await context.close()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# For PushManager.subscribe alone (headless Chromium has no push service): a subscription with
# the keys the test made, and the options the page asked with.
STAND_IN = """subscription => {
  window.asked = [];
  const made = { ...subscription, toJSON() { return subscription; } };
  PushManager.prototype.getSubscription = async () => null;
  PushManager.prototype.subscribe = async function (options) {
    const key = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
    window.asked.push({ userVisibleOnly: options.userVisibleOnly, key });
    return made;
  };
}"""


async def test_allowing_reminders_subscribes_the_browser_with_the_servers_key(
    server: Server, browser: Browser
) -> None:
    email, headers = register(server)
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    subscription = {
        "endpoint": f"{server.url}/push-service/{_b64url(os.urandom(8))}",
        "expirationTime": None,
        "keys": {"p256dh": _b64url(point), "auth": _b64url(os.urandom(16))},
    }
    context = await new_context(browser)
    await context.add_init_script(f"({STAND_IN})({json.dumps(subscription)})")
    page = await context.new_page()
    await sign_in(page, server, email)
    assert await page.locator("body").get_attribute("data-vapid-key") == PUBLIC_KEY
    await page.goto(f"{server.url}/app/settings/notifications")
    # The page's own wait for its worker has ended before reminders are allowed: else it
    # subscribes the browser as the worker comes, before the click (a loaded machine's order).
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await context.grant_permissions(["notifications"], origin=server.url)
    async with page.expect_response(lambda r: r.url.endswith("/app/push-subscriptions")) as info:
        await page.get_by_role("button", name="Show reminders on this device").click()
    answer = await info.value
    assert answer.status == 201, await answer.text()
    await expect(page.get_by_text("Reminders are shown on this device.")).to_be_visible()
    asked = await page.evaluate("window.asked")
    assert asked
    for each in asked:  # the server's applicationServerKey, as bytes
        assert each["userVisibleOnly"] is True
        assert _b64url(base64.b64decode(each["key"])) == PUBLIC_KEY
    kept = _get(server, "/api/export", headers)["push_subscriptions"]
    assert [{k: v for k, v in s.items() if k != "created_at"} for s in kept] == [subscription]
    # Told once: the next page does not post it again.
    again: list[str] = []
    page.on("request", lambda r: again.append(r.url) if "push-subscriptions" in r.url else None)
    await page.goto(f"{server.url}/app/")
    await until(page, "() => navigator.serviceWorker.ready.then(() => true)")
    await page.wait_for_timeout(500)
    assert again == []
    await context.close()
