"""Better Auth session tokens (its `bearer` plugin), on both databases.

Against a real Better Auth server (npm `better-auth`, started by the test on 127.0.0.1 with
tests/better_auth/server.mjs; its npm dependencies are installed once per machine into the
ignored tests/better_auth/node_modules): a user signs up through its API, and the session
token from its `set-auth-token` header is accepted by this service as the same user as a JWT
for them. Against a small local server that answers as get-session does: the cache window
(one question per window, never past the session's expiry), and Better Auth down, failing or
slow (503 AUTH_UNAVAILABLE with Retry-After).
"""

import fcntl
import json
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers_server import free_port, node_running
from tests.support import IN_CI, app_for, assert_error, client_for, make_settings, token_for
from todo_api.auth import better_auth as sessions
from todo_api.config import Settings

SERVER_DIR = Path(__file__).resolve().parent.parent / "better_auth"
NPM_TIMEOUT = 600.0
PASSWORD = "a long enough passphrase 42"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI needs it: scripts/setup-ci.sh)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def better_auth_installed() -> Path:
    """tests/better_auth with its npm dependencies (installed once per machine)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _missing("node and npm are not installed")
    # `make test` runs two pytest processes at once: one installs, the other waits for it.
    with (SERVER_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (SERVER_DIR / "node_modules" / "better-auth").is_dir():
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=SERVER_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                _missing(f"npm could not install better-auth: {done.stderr[-2000:]}")
    return SERVER_DIR


@pytest.fixture(scope="session")
def better_auth_url(better_auth_installed: Path) -> Iterator[str]:
    """A running Better Auth server's base URL."""
    port = free_port()
    name = "Better Auth's server"
    with node_running(better_auth_installed, "server.mjs", str(port), ready="listening", name=name):
        yield f"http://127.0.0.1:{port}"


def sign_up(base: str, email: str, name: str) -> tuple[str, dict[str, Any]]:
    """A new Better Auth user: the session token of its `set-auth-token` header, the user."""
    response = httpx.post(
        f"{base}/api/auth/sign-up/email",
        json={"email": email, "password": PASSWORD, "name": name},
        headers={"Origin": base},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return response.headers["set-auth-token"], user


def sign_out(base: str, token: str) -> None:
    response = httpx.post(
        f"{base}/api/auth/sign-out",
        headers={"Authorization": f"Bearer {token}", "Origin": base},
        timeout=30,
    )
    assert response.status_code == 200, response.text


@asynccontextmanager
async def app_with(settings: Settings, **overrides: Any) -> AsyncIterator[FastAPI]:
    """An app of its own on the migrated test database, with `overrides`."""
    assert settings.database_url is not None
    made = make_settings(settings.database_url, settings.data_dir, **overrides)
    async with app_for(made) as app:
        yield app


async def test_a_better_auth_session_token_is_its_user(
    settings: Settings, better_auth_url: str
) -> None:
    email = f"ann-{time.time_ns()}@example.com"
    token, user = sign_up(better_auth_url, email, "Ann")
    assert "." not in token.partition(".")[2]  # a session token, not a JWT
    async with app_with(settings, better_auth_url=better_auth_url) as app:
        async with client_for(app, token) as session:
            me = await session.get("/api/auth/me")
            assert me.status_code == 200, me.text
            assert me.json()["email"] == email
            assert me.json()["name"] == "Ann"
            made = await session.post("/api/tasks", json={"title": "from the frontend"})
            assert made.status_code == 201
        # Better Auth's JWT for the same user (its `sub` is the user's id) is the same user.
        async with client_for(app, token_for(settings, user["id"])) as by_jwt:
            assert (await by_jwt.get("/api/auth/me")).json()["id"] == me.json()["id"]
            assert [t["id"] for t in (await by_jwt.get("/api/tasks")).json()] == [made.json()["id"]]
        # A session may manage personal tokens, as the frontend's JWT may.
        async with client_for(app, token) as session:
            assert (await session.post("/api/tokens", json={"name": "cli"})).status_code == 201


async def test_a_session_better_auth_does_not_know_is_invalid(
    settings: Settings, better_auth_url: str
) -> None:
    token, _ = sign_up(better_auth_url, f"bo-{time.time_ns()}@example.com", "Bo")
    # No window: each request asks Better Auth, so a signed-out session is refused at once.
    async with app_with(
        settings,
        better_auth_url=better_auth_url,
        better_auth_session_cache_seconds=0,
    ) as app:
        async with client_for(app, token) as session:
            assert (await session.get("/api/tasks")).status_code == 200
        sign_out(better_auth_url, token)
        async with client_for(app, token) as session:
            assert_error(await session.get("/api/tasks"), 401, "INVALID_TOKEN")
        async with client_for(app, "not-a-session-Better-Auth-issued") as stranger:
            response = await stranger.get("/api/tasks")
            assert_error(response, 401, "INVALID_TOKEN")
            assert response.headers["www-authenticate"].startswith("Bearer")


# --- against a stand-in that answers as get-session does ------------------------------------


class StandIn:
    """A local HTTP server answering GET /api/auth/get-session as `answer` says, counting the
    questions (and the tokens they carried)."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answer: Callable[[], tuple[int, Any]] = lambda: (200, None)
        self.delay = 0.0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in.asked.append(self.headers.get("Authorization", ""))
                time.sleep(stand_in.delay)
                status, body = stand_in.answer()
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def session(self, user_id: str, expires_in: timedelta) -> None:
        expires = (datetime.now(UTC) + expires_in).isoformat().replace("+00:00", "Z")
        body = {
            "session": {"id": "s1", "userId": user_id, "expiresAt": expires},
            "user": {"id": user_id, "email": f"{user_id.lower()}@example.com", "name": "Cy"},
        }
        self.answer = lambda: (200, body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.close()


SESSION_TOKEN = "pQ9x2LrT8vWc4NbK7yHf3GjD6sAe1ZuM.c2lnbmF0dXJl+/="


async def test_an_answer_is_kept_for_the_window_and_never_past_the_sessions_expiry(
    settings: Settings, stand_in: StandIn
) -> None:
    stand_in.session("CyUserId123", timedelta(hours=1))
    async with app_with(settings, better_auth_url=stand_in.url) as app:
        async with client_for(app, SESSION_TOKEN) as client:
            for _ in range(5):
                assert (await client.get("/api/tasks")).status_code == 200
            assert stand_in.asked == [f"Bearer {SESSION_TOKEN}"]
            # JWTs and personal tokens never go to Better Auth.
            jwt = token_for(settings)
            made = await client.post("/api/tokens", json={"name": "cli"})
            for other in (jwt, made.json()["token"]):
                response = await client.get(
                    "/api/tasks", headers={"Authorization": f"Bearer {other}"}
                )
                assert response.status_code == 200
            assert len(stand_in.asked) == 1
        # A session that ends within the window is kept only until it ends.
        stand_in.session("CyUserId123", timedelta(seconds=-1))
        async with client_for(app, SESSION_TOKEN + "x") as client:
            for _ in range(3):
                assert (await client.get("/api/tasks")).status_code == 200
        assert len(stand_in.asked) == 4


@pytest.mark.parametrize("failure", ["down", "5xx", "slow", "not json"])
async def test_better_auth_unavailable_is_503_never_a_pass(
    settings: Settings,
    stand_in: StandIn,
    failure: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = stand_in.url
    if failure == "down":
        url = "http://127.0.0.1:1"
    elif failure == "5xx":
        stand_in.answer = lambda: (502, {"error": "bad gateway"})
    elif failure == "slow":
        # The limit is 5 s; the test waits a fraction of it, the stand-in longer than that.
        monkeypatch.setattr(sessions, "TIMEOUT_SECONDS", 0.3)
        stand_in.session("CyUserId123", timedelta(hours=1))
        stand_in.delay = 1.0
    else:
        stand_in.answer = lambda: (200, b"<html>")
    async with (
        app_with(settings, better_auth_url=url) as app,
        client_for(app, SESSION_TOKEN) as client,
    ):
        response = await client.get("/api/tasks")
        assert_error(response, 503, "AUTH_UNAVAILABLE")
        assert int(response.headers["retry-after"]) > 0
        assert SESSION_TOKEN not in response.text


async def test_without_better_auth_an_opaque_token_is_invalid(
    anonymous: httpx.AsyncClient, stand_in: StandIn
) -> None:
    response = await anonymous.get(
        "/api/tasks", headers={"Authorization": f"Bearer {SESSION_TOKEN}"}
    )
    assert_error(response, 401, "INVALID_TOKEN")
    assert stand_in.asked == []
