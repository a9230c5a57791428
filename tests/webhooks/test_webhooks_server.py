"""Webhooks across real `todo-api serve` processes, on SQLite and PostgreSQL: an event whose
change committed is delivered by the next process when the one that made it was killed, and
two processes on one database deliver each (event, webhook) once."""

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers_server import (
    Server,
    all_started,
    clean_env,
    free_port,
    launch_server,
    running_server,
    server_token,
    start_server,
)
from tests.support import TEST_SECRET, make_settings
from tests.test_mcp_server import structured
from tests.webhooks.receiver import Answer, receiving
from todo_api.migrations import upgrade_to_head

WAIT_SECONDS = 30.0


def _env(database_url: str) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
        WEBHOOK_RETRY_SCHEDULE=",".join(["0.3"] * 20),
        WEBHOOK_POLL_SECONDS="0.3",
        # A claim held by a killed process runs out in 12 s (the timeout and 10 s).
        WEBHOOK_TIMEOUT_SECONDS="5",
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def two_processes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two processes on one database (migrated here first, so that they start side by side),
    shared by the module's tests that each make a user of their own."""
    folder = tmp_path_factory.mktemp("webhook-servers")
    if request.param == "sqlite":
        url = f"sqlite:///{folder}/todo.db"
    else:
        url = request.getfixturevalue("postgres_url")
    env = _env(url)
    asyncio.run(upgrade_to_head(make_settings(url, folder)))
    launched = [launch_server(folder, env, folder / f"{name}.log") for name in ("a", "b")]
    with all_started(launched) as (one, two):
        yield one, two


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.05)


def test_an_event_committed_before_a_kill_is_delivered_by_the_next_process(
    server_database_url: str, tmp_path: Path
) -> None:
    env = _env(server_database_url)
    token = server_token(env, str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()  # nothing listens there while the first process runs
    first = start_server(tmp_path, env, tmp_path / "first.log")
    try:
        with httpx.Client(base_url=first.url, headers=headers, timeout=30) as client:
            hook = client.post(
                "/api/webhooks",
                json={"url": f"http://127.0.0.1:{port}/hook", "events": ["task.created"]},
            )
            assert hook.status_code == 201, hook.text
            created = client.post("/api/tasks", json={"title": "Survives a kill"})
            assert created.status_code == 201, created.text
        first.process.send_signal(signal.SIGKILL)  # the moment after it answered
        first.process.wait(timeout=10)
    finally:
        first.stop()
    with (
        receiving(port) as receiver,
        running_server(tmp_path, env, tmp_path / "second.log"),
    ):
        _wait(lambda: receiver.requests(), "the event")
        time.sleep(1)  # nothing more comes
    [request] = receiver.requests()
    event = request.verified(hook.json()["secret"])
    assert event["type"] == "task.created"
    assert event["data"]["id"] == created.json()["id"]


def test_two_processes_deliver_each_event_to_each_webhook_once(
    two_processes: tuple[Server, Server],
) -> None:
    token = server_token(clean_env(JWT_SECRET=TEST_SECRET), str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token}"}
    count = 12
    with receiving() as receiver:
        receiver.answer = Answer(status=200, delay=0.3)  # slow: attempts overlap the polls
        clients = [
            httpx.Client(base_url=server.url, headers=headers, timeout=30)
            for server in two_processes
        ]
        try:
            hooks = [
                clients[0]
                .post("/api/webhooks", json={"url": receiver.url(path), "events": ["*"]})
                .json()
                for path in ("/a", "/b")
            ]
            for number in range(count):
                response = clients[number % 2].post("/api/tasks", json={"title": f"task {number}"})
                assert response.status_code == 201, response.text
            _wait(lambda: len(receiver.requests()) >= 2 * count, "every delivery")

            def outcomes(hook: dict[str, Any]) -> list[tuple[str, int, str | None]]:
                rows = clients[1].get(f"/api/webhooks/{hook['id']}/deliveries").json()
                return [(row["status"], row["attempts"], row["error"]) for row in rows]

            _wait(
                lambda: all(o[0] != "pending" for hook in hooks for o in outcomes(hook)),
                "every outcome written",
            )
            time.sleep(2)  # time for a second attempt, were one to come
            for hook in hooks:
                assert outcomes(hook) == [("succeeded", 1, None)] * count
        finally:
            for client in clients:
                client.close()
    for path in ("/a", "/b"):
        ids = [request.headers["webhook-id"] for request in receiver.requests(path)]
        assert len(ids) == count
        assert len(set(ids)) == count


async def test_mcp_tools_emit_the_events_rest_does(two_processes: tuple[Server, Server]) -> None:
    server = two_processes[0]
    token = server_token(clean_env(JWT_SECRET=TEST_SECRET), str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {token}"}
    with receiving() as receiver:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as rest:
            hook = await rest.post("/api/webhooks", json={"url": receiver.url(), "events": ["*"]})
            assert hook.status_code == 201, hook.text
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
        ):
            task = structured(await client.call_tool("create_task", {"title": "By a tool"}))
            structured(await client.call_tool("complete_task", {"task_id": task["id"]}))
            await client.call_tool("delete_task", {"task_id": task["id"]})
        _wait(lambda: len(receiver.requests()) >= 3, "three events")
    events = sorted(
        (request.verified(hook.json()["secret"]) for request in receiver.requests()),
        key=lambda event: event["created_at"],
    )
    assert [event["type"] for event in events] == [
        "task.created",
        "task.completed",
        "task.deleted",
    ]
    assert events[0]["data"]["id"] == task["id"]
