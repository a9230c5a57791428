"""Graceful shutdown of a real `todo-api serve` process: SIGTERM makes /ready fail, lets the
request under way finish, stops accepting, and exits 0; what was acknowledged is kept."""

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.helpers_server import STOP_TIMEOUT, clean_env, running_server, server_token, start_server
from tests.support import TEST_SECRET, captured_logs
from todo_api.process.shutdown import Lifecycle

HTTP_TIMEOUT = 30.0
WAIT_SECONDS = 30.0


def _refuses_connections(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2.0)
    except httpx.ConnectError:
        return True
    except httpx.TransportError:
        return False
    return False


def test_sigterm_finishes_the_request_under_way_then_exits_0(
    server_database_url: str, tmp_path: Path
) -> None:
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        SHUTDOWN_DELAY_SECONDS="3",
        SHUTDOWN_GRACE_SECONDS="60",
    )
    headers = {"Authorization": f"Bearer {server_token(env, sub=str(uuid.uuid4()))}"}
    title = f"in flight {uuid.uuid4().hex[:8]}"
    body_started = threading.Event()
    finish_body = threading.Event()
    answers: list[httpx.Response] = []

    def slow_body() -> Iterator[bytes]:
        yield b'{"title": "'
        body_started.set()  # the head and the first bytes are on their way
        finish_body.wait(WAIT_SECONDS)
        yield title.encode() + b'"}'

    def post_slowly(url: str) -> None:
        answers.append(
            httpx.post(
                f"{url}/api/tasks",
                content=slow_body(),
                headers={**headers, "Content-Type": "application/json"},
                timeout=HTTP_TIMEOUT,
            )
        )

    server = start_server(tmp_path, env, tmp_path / "first.log")
    try:
        poster = threading.Thread(target=post_slowly, args=(server.url,))
        poster.start()
        assert body_started.wait(WAIT_SECONDS)
        server.process.send_signal(signal.SIGTERM)

        # During the delay: still answering, but not ready.
        ready = httpx.get(f"{server.url}/ready", timeout=HTTP_TIMEOUT)
        assert ready.status_code == 503
        assert "shutting down" in ready.json()["error"]
        assert httpx.get(f"{server.url}/health", timeout=HTTP_TIMEOUT).status_code == 200

        # Then no new connection, while the slow request is still being read.
        deadline = time.monotonic() + WAIT_SECONDS
        while not _refuses_connections(server.url):
            assert time.monotonic() < deadline, "the server still accepts connections"
            time.sleep(0.2)
        assert server.process.poll() is None  # waiting for the request under way
        finish_body.set()
        poster.join(WAIT_SECONDS)

        assert len(answers) == 1
        assert answers[0].status_code == 201, answers[0].text
        assert server.process.wait(timeout=WAIT_SECONDS) == 0, server.log()
    finally:
        finish_body.set()
        server.stop()
    assert "Traceback" not in server.log()

    with running_server(tmp_path, env, tmp_path / "second.log") as again:
        listed = httpx.get(f"{again.url}/api/tasks", headers=headers, timeout=HTTP_TIMEOUT)
    assert [task["title"] for task in listed.json()] == [title]


def test_a_request_past_the_grace_is_cut_and_the_process_still_exits_0(tmp_path: Path) -> None:
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/todo.db",
        JWT_SECRET=TEST_SECRET,
        SHUTDOWN_DELAY_SECONDS="1",  # the server reads the request's head meanwhile
        SHUTDOWN_GRACE_SECONDS="1",
    )
    headers = {"Authorization": f"Bearer {server_token(env, sub=str(uuid.uuid4()))}"}
    body_started = threading.Event()
    finish_body = threading.Event()
    outcome: list[object] = []

    def endless_body() -> Iterator[bytes]:
        yield b'{"title": "'
        body_started.set()
        finish_body.wait(WAIT_SECONDS)
        yield b'never"}'

    def post(url: str) -> None:
        try:
            outcome.append(
                httpx.post(
                    f"{url}/api/tasks",
                    content=endless_body(),
                    headers={**headers, "Content-Type": "application/json"},
                    timeout=HTTP_TIMEOUT,
                )
            )
        except httpx.TransportError as exc:
            outcome.append(exc)

    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        poster = threading.Thread(target=post, args=(server.url,))
        poster.start()
        assert body_started.wait(WAIT_SECONDS)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=STOP_TIMEOUT + WAIT_SECONDS) == 0, server.log()
        finish_body.set()
        poster.join(WAIT_SECONDS)
    assert "graceful shutdown exceeded" in server.log()


def test_a_statement_that_waits_past_the_grace_does_not_keep_the_process(
    server_database_url: str, tmp_path: Path
) -> None:
    """A request cut at the end of the grace while its statement waits on PostgreSQL (here a
    lock another session holds) leaves its connection busy: the process still exits 0 within
    the grace and the pool's own bound, not when the statement ends."""
    if not server_database_url.startswith("postgresql"):
        pytest.skip("one SQLite file has no lock another session holds past a statement's end")
    env = clean_env(
        DATABASE_URL=server_database_url,
        JWT_SECRET=TEST_SECRET,
        SHUTDOWN_GRACE_SECONDS="1",
    )
    headers = {"Authorization": f"Bearer {server_token(env, sub=str(uuid.uuid4()))}"}
    outcome: list[object] = []

    def listing(url: str) -> None:
        try:
            outcome.append(httpx.get(f"{url}/api/tasks", headers=headers, timeout=HTTP_TIMEOUT))
        except httpx.TransportError as exc:
            outcome.append(exc)

    async def held_lock() -> asyncpg.Connection:
        lock = await asyncpg.connect(server_database_url)
        await lock.execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        return lock

    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        assert httpx.get(f"{server.url}/api/tasks", headers=headers).status_code == 200
        loop = asyncio.new_event_loop()
        lock = loop.run_until_complete(held_lock())
        try:
            lister = threading.Thread(target=listing, args=(server.url,))
            lister.start()
            deadline = time.monotonic() + WAIT_SECONDS
            while not loop.run_until_complete(_waits_on_a_lock(lock)):
                assert time.monotonic() < deadline, "the listing never waited on the lock"
                time.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=STOP_TIMEOUT + WAIT_SECONDS) == 0, server.log()
        finally:
            loop.run_until_complete(lock.close())
            loop.close()
        lister.join(WAIT_SECONDS)
    assert "graceful shutdown exceeded" in server.log()


async def _waits_on_a_lock(conn: asyncpg.Connection) -> bool:
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    return bool(await conn.fetchval(query))


async def test_a_part_of_the_shutdown_that_never_ends_is_left_behind_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each part of the app's shutdown is bounded (the lifespan's `Lifecycle.close`): one
    waiting on what never answers is given up, named in a warning, and the rest closes."""
    never = asyncio.Event()
    with captured_logs(caplog):
        await Lifecycle.close("the stuck part", never.wait(), seconds=0.2)
        await Lifecycle.close("a quick part", asyncio.sleep(0))
    warned = {r.getMessage() for r in caplog.records if r.levelname == "WARNING"}
    assert warned == {"shutdown: the stuck part did not finish within 0.2 s; left behind"}
