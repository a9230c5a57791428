"""A real browser signs in and allows an app: Debian's chromium, headless, opens the
authorization page of a real `todo-api serve`, and the test drives it through chromium's
remote debugging (the DevTools protocol over a websocket), as a person would: it types the
email and password, presses "Sign in", then "Allow", and the browser lands on the app's
redirect URI (a small server of the test's) with the code. A screenshot of the consent page is
kept in the test's tmp dir. Skipped when chromium is not installed, unless CI=true
(scripts/setup-ci.sh installs it there)."""

import asyncio
import base64
import contextlib
import itertools
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.browser import chromium, require_chromium
from tests.helpers_server import Server, clean_env, free_port, running_server
from tests.oauth.helpers import (
    PASSWORD,
    authorize_url,
    exchange,
    pkce,
    query_of,
    register_client,
    register_user,
)
from tests.oauth.test_oauth_server import mcp_status
from tests.support import TEST_SECRET

WAIT_SECONDS = 20.0

require_chromium()


class Callback:
    """The app's redirect URI: records the query of each request that reaches it."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/callback"):  # not the browser's /favicon.ico
                    callback.queries.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<!doctype html><title>Connected</title><p>You may close this.")

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/callback"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def callback() -> Iterator[Callback]:
    served = Callback()
    yield served
    served.stop()


@pytest.fixture
def server(server_database_url: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    with running_server(tmp_path, env, tmp_path / "server.log", port) as running:
        yield running


@contextlib.asynccontextmanager
async def chromium_page(profile: Path) -> AsyncIterator[str]:
    """Headless chromium with remote debugging; the websocket URL of its page."""
    port = free_port()
    async with chromium(profile, f"--remote-debugging-port={port}", "about:blank") as browser:
        yield await _page_websocket(port, browser)


async def _page_websocket(port: int, browser: asyncio.subprocess.Process) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while True:
            assert browser.returncode is None, f"chromium exited with {browser.returncode}"
            with contextlib.suppress(httpx.TransportError, ValueError):
                targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    url: str = pages[0]["webSocketDebuggerUrl"]
                    return url
            assert loop.time() < deadline, "chromium's remote debugging did not answer"
            await asyncio.sleep(0.1)


class DevTools:
    """The DevTools protocol on one page: commands, and waiting for events."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        await self._socket.send(json.dumps({"id": message_id, "method": method, "params": params}))
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message = json.loads(await self._socket.recv())
                if message.get("id") == message_id:
                    assert "error" not in message, message
                    result: dict[str, Any] = message.get("result", {})
                    return result
                self._events.append(message)

    async def loaded(self) -> None:
        """Until the page's load event (one since the last wait)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                for event in self._events:
                    if event.get("method") == "Page.loadEventFired":
                        self._events.clear()
                        return
                self._events.append(json.loads(await self._socket.recv()))

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")


async def test_a_person_signs_in_and_allows_an_app_in_chromium(
    server: Server, callback: Callback, tmp_path: Path
) -> None:
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    await register_user(server.url, email)
    client = await register_client(server.url, redirect_uris=[callback.url])
    verifier, challenge = pkce()
    url = authorize_url(server.url, client["client_id"], challenge, redirect_uri=callback.url)
    async with chromium_page(tmp_path / "profile") as websocket, connect(websocket) as socket:
        page = DevTools(socket)
        await page.send("Page.enable")
        await page.send("Page.navigate", url=url)
        await page.loaded()
        assert await page.evaluate("document.title") == "Sign in · Tasks"
        # Typed in, then the button pressed, as a person would (the page has no script).
        await page.evaluate(
            f"document.getElementById('email').value = {json.dumps(email)};"
            f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
            "document.querySelector('button[value=signin]').click();"
        )
        await page.loaded()
        heading = await page.evaluate("document.querySelector('h1').textContent")
        assert heading == "Connect Test app?"
        assert "read and change your tasks" in await page.evaluate("document.body.innerText")
        shot = await page.send("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        await asyncio.to_thread((tmp_path / "consent.png").write_bytes, png)  # kept, to look at
        await page.evaluate("document.querySelector('button[value=allow]').click();")
        await page.loaded()
        landed = await page.evaluate("location.href")
    assert landed.startswith(callback.url + "?")
    assert len(callback.queries) == 1
    answer = query_of(callback.queries[0])
    assert answer["state"] == "some-state"
    tokens = await exchange(server.url, client["client_id"], answer["code"], verifier, callback.url)
    assert tokens.status_code == 200, tokens.text
    assert (await mcp_status(server.url, tokens.json()["access_token"])).status_code == 200
