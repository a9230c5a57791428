"""Personal access tokens against real `todo-api serve` processes, on SQLite and PostgreSQL: a
token revoked through one process is refused by the next request to another process on the
same database (two servers, and one server with two workers); a `read` token on /mcp (the MCP
SDK's client) reads and gets FORBIDDEN tool errors for writes; the live stream opens with one.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

from tests.helpers_server import (
    Server,
    all_started,
    clean_env,
    launch_server,
    running_server,
    started,
)
from tests.support import TEST_SECRET, make_settings, token_for
from tests.test_instances_server import _redis_or_skip
from todo_api.live import wakeups
from todo_api.migrations import upgrade_to_head

TIMEOUT = 30.0
# Enough requests that both workers of a two-worker server answer some of them.
REQUESTS_PER_CHECK = 20


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two instances on one database, as behind a load balancer."""
    cwd = tmp_path_factory.mktemp("token-servers")
    env = clean_env(DATABASE_URL=database_url, JWT_SECRET=TEST_SECRET)
    with _two_started(cwd, env) as (first, second):
        yield first, second


@contextmanager
def _two_started(cwd: Path, env: dict[str, str]) -> Iterator[list[Server]]:
    """Two servers started side by side, on a database migrated here first."""
    asyncio.run(upgrade_to_head(make_settings(env["DATABASE_URL"], cwd)))
    launched = [launch_server(cwd, env, cwd / f"{name}.log") for name in ("first", "second")]
    with all_started(launched) as servers:
        yield servers


@pytest.fixture
def session_token(database_url: str, tmp_path: Path) -> str:
    """A JWT for a brand-new user."""
    return token_for(make_settings(database_url, tmp_path))


def _client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )


def _make_token(server: Server, session: str, **body: Any) -> dict[str, Any]:
    with _client(server, session) as client:
        response = client.post("/api/tokens", json={"name": "cli", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_token_revoked_through_one_instance_is_refused_by_the_next_request_to_another(
    servers: tuple[Server, Server], session_token: str
) -> None:
    _revoke_on_one_refused_by_the_other(*servers, session_token)


def test_the_same_with_redis_as_the_channel(postgres_url: str, tmp_path: Path) -> None:
    """With REDIS_URL, revocations travel on Redis (as live updates' wake-ups do)."""
    session_token = token_for(make_settings(postgres_url, tmp_path))
    env = clean_env(DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET, REDIS_URL=_redis_or_skip())
    with _two_started(tmp_path, env) as (first, second):
        _revoke_on_one_refused_by_the_other(first, second, session_token)


def _revoke_on_one_refused_by_the_other(first: Server, second: Server, session_token: str) -> None:
    created = _make_token(first, session_token)
    with _client(second, created["token"]) as on_second:
        for _ in range(3):  # looked up once, then kept by that process
            assert on_second.get("/api/tasks").status_code == 200
        with _client(first, session_token) as owner:
            assert owner.delete(f"/api/tokens/{created['id']}").status_code == 204
        refused = on_second.get("/api/tasks")
    assert refused.status_code == 401
    assert refused.json()["code"] == "INVALID_TOKEN"


async def test_a_revocation_answers_once_every_listening_process_confirmed_it(
    postgres_url: str, tmp_path: Path
) -> None:
    """A revocation's 204 comes after every process listening on the channel confirmed it has
    forgotten the tokens: here a slow one (a listener of our own that speaks the protocol)."""
    session_token = token_for(make_settings(postgres_url, tmp_path))
    env = clean_env(DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET)
    confirmed_at: list[float] = []
    listener = await asyncpg.connect(postgres_url, timeout=10)

    async def confirm_slowly(nonce: uuid.UUID) -> None:
        await asyncio.sleep(0.2)
        await listener.execute("SELECT pg_notify($1, $2)", wakeups.CHANNEL, f"k:{nonce.hex}")
        confirmed_at.append(time.monotonic())

    def heard(_conn: Any, _pid: int, _channel: str, message: str) -> None:
        nonce = wakeups.confirmation_asked(message)
        if message.startswith("r:") and nonce is not None:
            asyncio.get_running_loop().create_task(confirm_slowly(nonce))

    try:
        await listener.execute(
            "SELECT set_config('application_name', $1, false)", wakeups.LISTENER_NAME
        )
        await listener.add_listener(wakeups.CHANNEL, heard)
        with running_server(tmp_path, env, tmp_path / "server.log") as server:
            created = _make_token(server, session_token)
            headers = {"Authorization": f"Bearer {session_token}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers) as owner:
                revoked = await owner.delete(f"/api/tokens/{created['id']}", timeout=TIMEOUT)
            answered_at = time.monotonic()
    finally:
        await listener.close()
    assert revoked.status_code == 204
    assert len(confirmed_at) == 1
    assert confirmed_at[0] < answered_at


async def test_a_listening_process_that_never_confirms_delays_a_revocation_by_a_bound(
    postgres_url: str, tmp_path: Path
) -> None:
    """A process that hears but never confirms (stuck) holds a revocation's answer up to
    CONFIRM_SECONDS, no longer; the token is refused meanwhile everywhere else."""
    session_token = token_for(make_settings(postgres_url, tmp_path))
    env = clean_env(DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET)
    silent = await asyncpg.connect(postgres_url, timeout=10)
    try:
        await silent.add_listener(wakeups.CHANNEL, lambda *_heard: None)
        await silent.execute(
            "SELECT set_config('application_name', $1, false)", wakeups.LISTENER_NAME
        )
        with running_server(tmp_path, env, tmp_path / "server.log") as server:
            created = _make_token(server, session_token)
            with _client(server, session_token) as owner:
                assert owner.delete(f"/api/tokens/{created['id']}").status_code == 204
            with _client(server, created["token"]) as revoked:
                assert revoked.get("/api/tasks").status_code == 401
    finally:
        await silent.close()
    assert "confirmed a token revocation within" in (tmp_path / "server.log").read_text()


@pytest.fixture(scope="module")
def two_workers(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server with two worker processes."""
    cwd = tmp_path_factory.mktemp("token-workers")
    env = clean_env(DATABASE_URL=database_url, JWT_SECRET=TEST_SECRET)
    with started(launch_server(cwd, env, cwd / "server.log", args=["--workers", "2"])) as server:
        yield server


def test_a_token_revoked_through_one_worker_is_refused_by_every_worker(
    two_workers: Server, session_token: str
) -> None:
    created = _make_token(two_workers, session_token)
    # New connections each time: the requests spread over both workers.
    for _ in range(REQUESTS_PER_CHECK):
        with _client(two_workers, created["token"]) as client:
            assert client.get("/api/tasks").status_code == 200
    with _client(two_workers, session_token) as owner:
        assert owner.delete(f"/api/tokens/{created['id']}").status_code == 204
    for _ in range(REQUESTS_PER_CHECK):
        with _client(two_workers, created["token"]) as client:
            response = client.get("/api/tasks")
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_TOKEN"


async def test_a_read_token_on_mcp_reads_and_its_writes_are_forbidden_tool_errors(
    servers: tuple[Server, Server], session_token: str
) -> None:
    server = servers[0]
    with _client(server, session_token) as owner:
        task = owner.post("/api/tasks", json={"title": "seen by the assistant"}).json()
    reader = _make_token(server, session_token, scope="read")["token"]
    headers = {"Authorization": f"Bearer {reader}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = (await session.list_tools()).tools
        assert tools
        got = await session.call_tool("get_task", {"task_id": task["id"]})
        assert not got.is_error
        assert got.structured_content == {**task, "attachments": []}  # with its files
        writers = [t for t in tools if not (t.annotations and t.annotations.read_only_hint)]
        assert {t.name for t in writers} >= {"create_task", "delete_task", "create_list"}
        for tool in writers:
            result = await session.call_tool(tool.name, {"task_id": task["id"], "title": "x"})
            assert result.is_error, tool.name
            [content] = result.content
            assert isinstance(content, TextContent)
            error = json.loads(content.text)
            assert error["code"] == "FORBIDDEN", tool.name
            assert "read" in error["error"]
    with _client(server, session_token) as owner:
        assert owner.get("/api/tasks").json() == [task]
        assert owner.get("/api/lists").json() == []


def test_the_live_stream_opens_with_a_personal_token(
    servers: tuple[Server, Server], session_token: str
) -> None:
    server = servers[1]
    reader = _make_token(server, session_token, scope="read")["token"]
    with (
        _client(server, reader) as client,
        client.stream("GET", "/api/events") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        first = [line for line, _ in zip(stream.iter_lines(), range(3), strict=False)]
        assert "event: changes" in first
