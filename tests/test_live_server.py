"""Live updates across real `todo-api serve` processes: a change made through one process
reaches a stream held by another (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, and on SQLite the
polling that needs no channel), and SIGTERM ends streams with a `retry:` hint."""

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.helpers_server import (
    STOP_TIMEOUT,
    Server,
    all_started,
    clean_env,
    launch_server,
    running_server,
    server_token,
)
from tests.live_helpers import EVENT_WAIT_SECONDS, ended, open_stream
from tests.support import TEST_SECRET, make_settings
from tests.test_instances_server import _redis_or_skip
from todo_api.live.wakeups import CHANNEL
from todo_api.migrations import upgrade_to_head


@contextmanager
def _two_servers(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    # Migrated here first, so that the two start side by side without racing to migrate.
    asyncio.run(upgrade_to_head(make_settings(env["DATABASE_URL"], tmp_path)))
    launched = []
    for n in (1, 2):
        folder = tmp_path / f"instance-{n}"
        folder.mkdir()
        launched.append(launch_server(folder, env, folder / "log"))
    with all_started(launched) as (one, two):
        yield one, two


@pytest.fixture(scope="module", params=["sqlite-polling", "postgresql-notify", "redis"])
def instances(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two processes on one database, as two instances behind a load balancer: one pair per
    module and channel, shared by tests that each make users of their own."""
    tmp_path = tmp_path_factory.mktemp("instances")
    env = clean_env(JWT_SECRET=TEST_SECRET)
    if request.param == "sqlite-polling":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path}/todo.db"
    else:
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    if request.param == "redis":
        env["REDIS_URL"] = _redis_or_skip()
    with _two_servers(env, tmp_path) as servers:
        yield servers


def _client(server: Server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=EVENT_WAIT_SECONDS,
    )


async def test_a_change_made_through_one_process_reaches_a_stream_on_another(
    instances: tuple[Server, Server], tmp_path: Path
) -> None:
    one, two = instances
    token = server_token(clean_env(JWT_SECRET=TEST_SECRET), sub=str(uuid.uuid4()))
    async with _client(one, token) as on_one, _client(two, token) as on_two:
        async with open_stream(on_one) as (response, events):
            assert response.status_code == 200
            first = await events.next_event()
            assert first.event == "changes"
            made = await on_two.post("/api/tasks", json={"title": "made on two"})
            assert made.status_code == 201, made.text
            messages = await events.wait_for({made.json()["id"]})
            renamed = await on_two.patch(
                f"/api/tasks/{made.json()['id']}", json={"title": "renamed on two"}
            )
            assert renamed.status_code == 200, renamed.text
            while True:  # the rename, in a later message
                page = (await events.next_event()).page()
                titles = [task["title"] for task in page["changes"]]
                if "renamed on two" in titles:
                    break
        # The stream's ids are sync tokens, good on the other process too.
        feed = await on_two.get("/api/tasks/changes", params={"since": messages[-1].id})
        assert feed.status_code == 200, feed.text


async def test_streams_on_another_process_end_with_what_opened_them(
    instances: tuple[Server, Server], tmp_path: Path
) -> None:
    """A personal token revoked, a sign-in logged out, an account deleted through one process:
    the streams they opened on the other end (heard over the channel, or read from the
    database where there is none), and their cookies are refused."""
    one, two = instances
    subject = str(uuid.uuid4())
    session = server_token(clean_env(JWT_SECRET=TEST_SECRET), sub=subject)
    async with _client(one, session) as on_one:
        made = (await on_one.post("/api/tokens", json={"name": "script"})).json()
        account = {"email": f"{uuid.uuid4().hex}@example.com", "password": "p" * 12}
        signed_in = (await on_one.post("/api/auth/register", json=account)).json()
        refresh = {"refresh_token": signed_in["refresh_token"]}
        ends = {
            made["token"]: lambda: on_one.delete(f"/api/tokens/{made['id']}"),
            signed_in["access_token"]: lambda: on_one.post(
                "/api/auth/logout",
                json=refresh,
                headers={"Authorization": f"Bearer {signed_in['access_token']}"},
            ),
            session: lambda: on_one.request("DELETE", "/api/auth/me", json={"confirm": subject}),
        }
        for token, end in ends.items():
            async with _client(two, token) as on_two, _client(two, "") as browser:
                del browser.headers["Authorization"]
                ticket = await on_two.post("/api/events/ticket")
                assert ticket.status_code == 201, ticket.text
                name, _, rest = ticket.headers["set-cookie"].partition("=")
                cookie = {"Cookie": f"{name}={rest.split(';')[0]}"}
                async with (
                    open_stream(on_two) as (_, by_header),
                    open_stream(browser, headers=cookie) as (_, by_cookie),
                ):
                    for events in (by_header, by_cookie):
                        assert (await events.next_event()).event == "changes"
                    assert (await end()).status_code == 204
                    for events in (by_header, by_cookie):
                        await asyncio.wait_for(ended(events), EVENT_WAIT_SECONDS)
                async with open_stream(browser, headers=cookie) as (refused, _):
                    await refused.aread()
                assert refused.status_code == 401, refused.text


async def test_sigterm_ends_streams_with_a_retry_hint_and_exits_0(
    server_database_url: str, tmp_path: Path
) -> None:
    env = clean_env(DATABASE_URL=server_database_url, JWT_SECRET=TEST_SECRET)
    token = server_token(env, sub=str(uuid.uuid4()))
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        async with _client(server, token) as client, open_stream(client) as (_, events):
            assert (await events.next_event()).event == "changes"
            server.process.send_signal(signal.SIGTERM)
            last = await events.next_event()
            assert last.retry is not None
            assert await events.next() is None
        assert server.process.wait(timeout=STOP_TIMEOUT) == 0, server.log()


def test_only_writes_a_stream_waits_for_are_sent_to_the_other_processes(
    postgres_url: str, tmp_path: Path
) -> None:
    """A write is announced on the channel only when some stream, on some process, can see
    it: the writes of a user nobody streams for send nothing."""
    url = _redis_or_skip()
    env = clean_env(DATABASE_URL=postgres_url, REDIS_URL=url, JWT_SECRET=TEST_SECRET)
    streamer, loner = uuid.uuid4(), uuid.uuid4()  # a token's UUID subject is the user's id
    auth = {
        user: {"Authorization": f"Bearer {server_token(env, sub=str(user))}"}
        for user in (streamer, loner)
    }
    listener = redis.Redis.from_url(url, socket_timeout=EVENT_WAIT_SECONDS)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    heard: list[str] = []
    try:
        with (
            _two_servers(env, tmp_path) as (one, two),
            httpx.Client(base_url=one.url, headers=auth[streamer], timeout=30) as on_one,
            httpx.Client(base_url=two.url, headers=auth[streamer], timeout=30) as on_two,
            httpx.Client(base_url=two.url, headers=auth[loner], timeout=30) as loner_on_two,
            on_one.stream("GET", "/api/events") as response,
        ):
            assert response.status_code == 200
            assert next(line for line in response.iter_lines() if line.startswith("data:"))
            deadline = time.monotonic() + EVENT_WAIT_SECONDS
            # Until process two has heard of the stream on one and sends the streamer's
            # writes; the loner writes just before each.
            while not any(streamer.hex in text for text in heard if text.startswith("w:")):
                assert time.monotonic() < deadline, heard
                for client in (loner_on_two, on_two):
                    made = client.post("/api/tasks", json={"title": "a write"})
                    assert made.status_code == 201, made.text
                while (message := pubsub.get_message(timeout=1.0)) is not None:
                    heard.append(message["data"].decode())
    finally:
        pubsub.close()
        listener.close()
    assert not any(loner.hex in text for text in heard), heard
