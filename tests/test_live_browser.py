"""A real browser on live updates: Debian's chromium, headless, opens a page (served from another
origin on 127.0.0.1, as a web frontend is) that takes a ticket and reads `GET /api/events` with
`EventSource`; a task created through the API by another request arrives on that page.

The page tells the test what it saw by POSTing to its own origin (a small server of the test's),
so nothing drives the browser but its command line. Skipped when chromium is not installed,
unless CI=true (scripts/setup-ci.sh installs it there)."""

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.browser import chromium, require_chromium
from tests.live_helpers import free_port, serving
from tests.support import app_for, make_settings, token_for
from todo_api.config import Settings

WAIT_SECONDS = 15.0

require_chromium()

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>live</title></head><body>
<script>
const params = new URLSearchParams(location.search);
const api = params.get("api");
const want = params.get("title");
function report(what, body) {
  fetch("/" + what, {method: "POST", body: JSON.stringify(body)});
}
// A ticket, then the stream: EventSource cannot send an Authorization header.
fetch(api + "/api/events/ticket", {
  method: "POST", headers: {"Authorization": "Bearer " + params.get("token")}
}).then((answer) => answer.json()).then((ticket) => {
  const source = new EventSource(api + "/api/events?ticket=" + encodeURIComponent(ticket.ticket));
  let first = true;
  source.addEventListener("changes", (message) => {
    const page = JSON.parse(message.data);
    if (first) {
      first = false;
      report("opened", {id: message.lastEventId});
    }
    for (const task of page.changes) {
      if (task.title === want) report("seen", {task: task, id: message.lastEventId});
    }
  });
  source.onerror = () => report("error", {state: source.readyState});
}).catch((failure) => report("error", {failure: String(failure)}));
</script></body></html>
"""


class PageSite:
    """The page's origin: serves the page, and records what the page reports."""

    def __init__(self, page: str = PAGE) -> None:
        self.reports: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with site.changed:
                    site.reports.append((self.path.strip("/"), body))
                    site.changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reported(self, what: str) -> list[Any]:
        with self.changed:
            return [body for kind, body in self.reports if kind == what]


@contextlib.contextmanager
def page_site(page: str = PAGE) -> Iterator[PageSite]:
    site = PageSite(page)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


async def reported(site: PageSite, what: str, browser: asyncio.subprocess.Process) -> list[Any]:
    """What the page reported as `what`, once it has (failing on the page's errors)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not (found := site.reported(what)):
        assert not site.reported("error"), site.reports
        assert browser.returncode is None, f"chromium exited with {browser.returncode}"
        assert loop.time() < deadline, f"the page did not report {what!r}: {site.reports}"
        await asyncio.sleep(0.05)
    return found


async def test_a_browser_sees_a_change_made_by_another_request(
    settings: Settings, tmp_path: Path
) -> None:
    with page_site() as site:
        own = make_settings(settings.database_url or "", tmp_path / "data", frontend_url=[site.url])
        async with app_for(own) as app, serving(app) as api:
            token = token_for(own)
            title = "Seen in a browser"
            query = f"api={quote(api)}&token={quote(token)}&title={quote(title)}"
            async with chromium(tmp_path / "profile", f"{site.url}/?{query}") as browser:
                [opened] = await reported(site, "opened", browser)
                async with httpx.AsyncClient(
                    base_url=api, headers={"Authorization": f"Bearer {token}"}
                ) as client:
                    created = await client.post("/api/tasks", json={"title": title})
                    assert created.status_code == 201, created.text
                    seen = await reported(site, "seen", browser)
                    shown = await client.get(f"/api/tasks/{created.json()['id']}")
    assert opened["id"]
    assert seen[0]["task"] == shown.json()
    assert seen[0]["id"] != opened["id"]  # the sync token moved on with the change


# A page as a frontend writes it for a stream that outlives restarts: the ticket fetched with
# its cookie (credentials), EventSource opened with credentials; nothing else. EventSource
# reconnects by itself (the same URL, Last-Event-ID and the cookie); the page reports an error
# only when the browser gives up (readyState CLOSED).
RECONNECTING_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>live</title></head><body>
<script>
const params = new URLSearchParams(location.search);
const api = params.get("api");
function report(what, body) {
  fetch("/" + what, {method: "POST", body: JSON.stringify(body)});
}
fetch(api + "/api/events/ticket", {
  method: "POST", credentials: "include",
  headers: {"Authorization": "Bearer " + params.get("token")}
}).then((answer) => answer.json()).then((ticket) => {
  const url = api + "/api/events?ticket=" + encodeURIComponent(ticket.ticket);
  const source = new EventSource(url, {withCredentials: true});
  let opened = false;
  source.onopen = () => report(opened ? "reopened" : "opened", {});
  source.addEventListener("changes", (message) => {
    opened = true;
    for (const task of JSON.parse(message.data).changes) report("seen", {title: task.title});
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) report("error", {state: "closed"});
  };
}).catch((failure) => report("error", {failure: String(failure)}));
</script></body></html>
"""


async def test_a_browser_stream_comes_back_by_itself_after_the_server_restarts(
    settings: Settings, tmp_path: Path
) -> None:
    with page_site(RECONNECTING_PAGE) as site:
        own = make_settings(settings.database_url or "", tmp_path / "data", frontend_url=[site.url])
        token = token_for(own)
        port = free_port()
        async with contextlib.AsyncExitStack() as open_browser:
            async with app_for(own) as app, serving(app, port) as api:
                query = f"api={quote(api)}&token={quote(token)}"
                page = chromium(tmp_path / "profile", f"{site.url}/?{query}")
                browser = await open_browser.enter_async_context(page)
                await reported(site, "opened", browser)
                await create(api, token, "before the restart")
                await _seen(site, "before the restart", browser)
            # The server is gone, then back on the same address, with a new process's state:
            # the page does nothing; the browser reconnects to the URL of the spent ticket.
            async with app_for(own) as app, serving(app, port) as api:
                await reported(site, "reopened", browser)
                await create(api, token, "after the restart")
                await _seen(site, "after the restart", browser)
    assert not site.reported("error")


async def create(api: str, token: str, title: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api, headers=headers) as client:
        created = await client.post("/api/tasks", json={"title": title})
        assert created.status_code == 201, created.text


async def _seen(site: PageSite, title: str, browser: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while {"title": title} not in site.reported("seen"):
        assert not site.reported("error"), site.reports
        assert loop.time() < deadline, f"the page did not see {title!r}: {site.reports}"
        await asyncio.sleep(0.05)
