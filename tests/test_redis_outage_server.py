"""Redis going away and coming back under two real `todo-api serve` processes: a redis-server of
the test's own, on a free port, stopped and started again by the test (never the machine's own
Redis). Meanwhile live updates reach a stream on the other process by polling, a token revoked
through one process is refused by the other (it looks tokens up), sign-in limits still count;
once Redis is back each process hears it again, and nothing was lost. Each process says that
Redis went, once, and that it is back, once, and writes no traceback for it."""

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.helpers_server import (
    Server,
    all_started,
    clean_env,
    free_port,
    launch_server,
    server_token,
)
from tests.live_helpers import EVENT_WAIT_SECONDS, open_stream
from tests.support import IN_CI, TEST_SECRET, make_settings
from todo_api.migrations import upgrade_to_head

REDIS_SERVER = shutil.which("redis-server")
WENT, BACK = "went away", "answers again"


class RedisServer:
    """redis-server on `port`, without persistence, started and stopped at will."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port, self.folder = port, folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        try:
            while True:
                try:
                    client.ping()
                    return
                except (redis.RedisError, OSError):
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@contextmanager
def own_redis(folder: Path) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port(), folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _client(server: Server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=EVENT_WAIT_SECONDS,
    )


def _said(servers: list[Server], words: str, times: int) -> None:
    """Until every server's log says `words` `times` times (bounded)."""
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while not all(server.log().count(words) >= times for server in servers):
        assert time.monotonic() < deadline, [server.log() for server in servers]
        time.sleep(0.1)


async def _revoked_elsewhere(one: httpx.AsyncClient, two: Server) -> None:
    """A personal token used on `two`, then revoked through `one`: `two` refuses it."""
    made = (await one.post("/api/tokens", json={"name": "script"})).json()
    async with _client(two, made["token"]) as script:
        assert (await script.get("/api/tasks")).status_code == 200
        assert (await one.delete(f"/api/tokens/{made['id']}")).status_code == 204
        assert (await script.get("/api/tasks")).status_code == 401


async def test_redis_going_away_and_coming_back(postgres_url: str, tmp_path: Path) -> None:
    await upgrade_to_head(make_settings(postgres_url, tmp_path))
    with own_redis(tmp_path) as own:
        env = clean_env(DATABASE_URL=postgres_url, REDIS_URL=own.url, JWT_SECRET=TEST_SECRET)
        folders = [tmp_path / "one", tmp_path / "two"]
        launched = []
        for folder in folders:
            folder.mkdir()
            launched.append(launch_server(folder, env, folder / "log"))
        with all_started(launched) as servers:
            one, two = servers
            session = server_token(env, sub=str(uuid.uuid4()))
            async with _client(one, session) as on_one, _client(two, session) as on_two:
                async with open_stream(on_two) as (response, events):
                    assert response.status_code == 200
                    assert (await events.next_event()).event == "changes"

                    own.stop()
                    _said(servers, WENT, 1)
                    made = await on_one.post("/api/tasks", json={"title": "while away"})
                    assert made.status_code == 201, made.text
                    await events.wait_for({made.json()["id"]})  # polled, not announced
                    await _revoked_elsewhere(on_one, two)
                    for client in (on_one, on_two):  # counted in memory meanwhile
                        wrong = {"email": "nobody@example.com", "password": "not it at all"}
                        answer = await client.post("/api/auth/login", json=wrong)
                        assert answer.status_code == 401, answer.text

                    own.start()
                    _said(servers, BACK, 1)
                    made = await on_one.post("/api/tasks", json={"title": "once back"})
                    assert made.status_code == 201, made.text
                    await events.wait_for({made.json()["id"]})
                    await _revoked_elsewhere(on_one, two)
                feed = await on_two.get("/api/tasks/changes")
                titles = {task["title"] for task in feed.json()["changes"]}
                assert {"while away", "once back"} <= titles
            await asyncio.sleep(0)
    for server in servers:
        log = server.log()
        assert log.count(WENT) == 1, log
        assert log.count(BACK) == 1, log
        assert "Traceback" not in log, log
