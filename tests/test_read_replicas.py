"""Read replicas (DATABASE_READ_URLS), against a primary and two hot standbys of the tests' own
(tests/replicas.py): requests that only read are answered there and counted; a person's
write, or what the primary showed them, is never followed by an older answer, each replica
judged by its own position; a replica that lags or stops is left out within a second and
taken back once caught up, and no request fails for it; no read path writes on a standby; the
change feed read from a standby skips nothing."""

import asyncio
import logging
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from fastapi import FastAPI

from tests.accounts.helpers import PASSWORD as PW
from tests.accounts.helpers import bearer, sign_up
from tests.dav.helpers import NS, basic, dav_user, propfind_body, sync, sync_body, texts, xml
from tests.live_helpers import open_stream, serving
from tests.oauth.helpers import form_fields
from tests.replicas import Cluster, Proxy, Server, cluster
from tests.support import captured_logs, client_for, close_app, make_settings, token_for
from tests.test_redis_outage_server import RedisServer, own_redis
from todo_api.app import create_app
from todo_api.config import ConfigError, Settings, load_settings
from todo_api.migrations import upgrade_to_head

pytestmark = pytest.mark.anyio

REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "not-in-any-log"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def servers() -> Iterator[Cluster]:
    with cluster(standbys=2) as made:
        yield made


@pytest.fixture(scope="module")
async def migrated(servers: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("replicas")
    await upgrade_to_head(make_settings(servers.primary.url, data_dir))
    for standby in servers.standbys:
        servers.caught_up(standby)
    return data_dir


def _url(server: Server) -> str:
    """The server's URL with a password (trust ignores it): the logs must never show it."""
    return server.url.replace("postgres@", f"postgres:{PASSWORD}@")


def settings_for(
    servers: Cluster, data_dir: Path, *replicas: Server, **overrides: object
) -> Settings:
    return make_settings(
        servers.primary.url,
        data_dir,
        database_read_urls=",".join(_url(r) for r in replicas),
        **overrides,
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app with its lifespan (the replicas' watch) and no background jobs."""
    app = create_app(settings, jobs=[])
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await close_app(app)


def _usable(app: FastAPI) -> int:
    from todo_api.kit.deps import held
    from todo_api.kit.reads import ReadRouting

    replicas = held(app, ReadRouting).replicas.all
    return sum(replica.usable for replica in replicas)


async def _until(condition: Any, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.02)


async def reads(client: httpx.AsyncClient) -> dict[str, float]:
    """database_reads_total by target, and database_replica_lag_seconds by replica."""
    text = (await client.get("/metrics")).text
    found = {
        m[1]: float(m[2])
        for m in re.finditer(r'^database_reads_total\{target="(\w+)"\} (\S+)$', text, re.M)
    }
    for m in re.finditer(r'^database_replica_lag_seconds\{replica="([^"]+)"\} (\S+)$', text, re.M):
        found[m[1]] = float(m[2])
    return found


async def titles(client: httpx.AsyncClient) -> set[str]:
    listed = await client.get("/api/tasks")
    assert listed.status_code == 200, listed.text
    return {task["title"] for task in listed.json()}


async def test_reads_are_answered_by_a_replica_and_counted(
    servers: Cluster, migrated: Path
) -> None:
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby)
    plain = make_settings(servers.primary.url, migrated)  # an instance without replicas
    token = token_for(plain)
    async with running(replicated) as app, client_for(app, token) as reader:
        await _until(lambda: _usable(app) == 1)
        assert await titles(reader) == set()
        before = await reads(reader)
        servers.pause(standby)
        try:
            # Written through an instance that keeps no positions: only the replica's
            # answer can miss it.
            other = create_app(plain, jobs=[])
            async with client_for(other, token) as writer:
                made = await writer.post("/api/tasks", json={"title": "written on the primary"})
                assert made.status_code == 201, made.text
            await close_app(other)
            assert await titles(reader) == set()  # the paused replica answered
        finally:
            servers.resume(standby)
        servers.caught_up(standby)
        assert await titles(reader) == {"written on the primary"}
        after = await reads(reader)
        assert after["replica"] == before["replica"] + 2
        assert after["primary"] == before["primary"]
        assert 0 <= after[f"127.0.0.1:{standby.port}/todo"] <= 5


@pytest.mark.parametrize("kept_in", ["primary", "redis"])
async def test_a_person_reads_their_writes_while_every_replica_lags(
    servers: Cluster, migrated: Path, kept_in: str
) -> None:
    extra = {"redis_url": REDIS_URL} if kept_in == "redis" else {}
    replicated = settings_for(
        servers, migrated, *servers.standbys, database_read_max_lag_seconds=60, **extra
    )
    token = token_for(replicated)
    async with running(replicated) as one, running(replicated) as two:
        await _until(lambda: _usable(one) == 2 and _usable(two) == 2)
        for standby in servers.standbys:
            servers.pause(standby)
        try:
            async with client_for(one, token) as first, client_for(two, token) as second:
                made = await first.post("/api/tasks", json={"title": "mine"})
                assert made.status_code == 201, made.text
                task_id = made.json()["id"]
                # Every read after, on either instance, sees it: the primary answers.
                for client in (first, second, first, second):
                    assert await titles(client) == {"mine"}
                    got = await client.get(f"/api/tasks/{task_id}")
                    assert got.status_code == 200, got.text
                # Someone else, who wrote nothing, is still answered by a replica.
                async with client_for(one, token_for(replicated)) as stranger:
                    before = (await reads(stranger))["replica"]
                    assert await titles(stranger) == set()
                    assert (await reads(stranger))["replica"] == before + 1
        finally:
            for standby in servers.standbys:
                servers.resume(standby)


async def test_each_replica_is_judged_by_its_own_position(servers: Cluster, migrated: Path) -> None:
    behind, ahead = servers.standbys
    replicated = settings_for(servers, migrated, behind, ahead, database_read_max_lag_seconds=60)
    async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
        await _until(lambda: _usable(app) == 2)
        servers.pause(behind)
        try:
            made = await client.post("/api/tasks", json={"title": "seen by one replica"})
            assert made.status_code == 201, made.text
            servers.caught_up(ahead)
            before = await reads(client)
            # Both replicas stay in turn (60 s allowed): the one behind never answers.
            for _ in range(6):
                assert await titles(client) == {"seen by one replica"}
            after = await reads(client)
            assert after["replica"] == before["replica"] + 6  # all by the one caught up
        finally:
            servers.resume(behind)


async def test_a_replica_that_lags_is_left_out_and_taken_back(
    servers: Cluster, migrated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=1)
    async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
        await _until(lambda: _usable(app) == 1)
        with captured_logs(caplog):
            servers.pause(standby)
            try:
                servers.primary.sql("CREATE TABLE IF NOT EXISTS lag_maker (n int)")
                paused = time.monotonic()
                await _until(lambda: _usable(app) == 0, within=5)
                assert time.monotonic() - paused < 1 + 1.5  # its 1 s allowed, then within 1 s
                assert (await reads(client))[f"127.0.0.1:{standby.port}/todo"] > 1
                before = await reads(client)
                assert await titles(client) == set()
                assert (await reads(client))["primary"] == before["primary"] + 1
            finally:
                servers.resume(standby)
            await _until(lambda: _usable(app) == 1, within=5)
        lines = [r.getMessage() for r in caplog.records if "read replica" in r.getMessage()]
        assert any("left out" in line and f":{standby.port}/todo" in line for line in lines)
        assert any("taken back" in line for line in lines)
        assert not any(PASSWORD in r.getMessage() for r in caplog.records)
        # Taken back: reads go to it again once it has replayed what the primary showed this
        # person while it lagged (the watch's next poll after it is usable may be needed).
        deadline = time.monotonic() + 5
        while True:
            before = await reads(client)
            assert await titles(client) == set()
            if (await reads(client))["replica"] == before["replica"] + 1:
                break
            assert time.monotonic() < deadline, "reads never went back to the replica"
            await asyncio.sleep(0.1)


async def test_a_replica_that_stops_fails_no_request(servers: Cluster, migrated: Path) -> None:
    standby = servers.standbys[1]
    replicated = settings_for(servers, migrated, standby)
    async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
        await _until(lambda: _usable(app) == 1)
        made = await client.post("/api/tasks", json={"title": "still here"})
        assert made.status_code == 201
        standby.stop()
        try:
            # At once (before the watch sees it), and after.
            for _ in range(3):
                assert await titles(client) == {"still here"}
                assert (await client.get("/ready")).status_code == 200
            await _until(lambda: _usable(app) == 0, within=2)
            assert await titles(client) == {"still here"}
            assert (await client.get("/ready")).status_code == 200
        finally:
            standby.start()
        await _until(lambda: _usable(app) == 1, within=10)


async def test_a_session_the_standby_ended_in_the_pool_fails_no_request_and_no_traceback(
    servers: Cluster, migrated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A standby that stops ends each idle session with a FATAL error, then closes it. A request
    # that takes such a connection between the two (its close not yet seen) gets asyncpg's
    # "cannot switch to state 11 (or 12); another operation (2) is in progress" at its first
    # statement: the FATAL, read while the connection was idle, left asyncpg's protocol in its
    # error state. Nothing else used the connection, and asyncpg ends it there.
    standby = servers.standbys[0]
    async with Proxy(standby.port) as proxy:
        replicated = make_settings(servers.primary.url, migrated, database_read_urls=proxy.url)
        async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
            await _until(lambda: _usable(app) == 1)
            before = await reads(client)
            assert await titles(client) == set()
            assert (await reads(client))["replica"] == before["replica"] + 1
            # The request connections' sessions end, as a stop ends them (not the watch's).
            proxy.holding = True
            ended = standby.sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = 'todo' AND backend_type = 'client backend'"
                " AND query NOT LIKE 'SELECT pg_is_in_recovery()%'"
            )
            assert int(ended) >= 1
            await _until(lambda: len(proxy.held) >= int(ended))
            with captured_logs(caplog):
                before = await reads(client)
                assert await titles(client) == set()  # the primary answered it again
                assert (await reads(client))["primary"] == before["primary"] + 1
            proxy.release()
            warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
            name = proxy.url.split("@")[1]  # the replica's name: host, port, database
            assert any(
                "InternalClientError: cannot switch to state" in line and name in line
                for line in warned
            ), warned
            # A fault of the replica's, which no client saw: no error, no traceback.
            assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
            # Taken back, the replica answers again: the ended connection is not used again.
            await _until(lambda: _usable(app) == 1, within=5)
            before = await reads(client)
            assert await titles(client) == set()
            assert (await reads(client))["replica"] == before["replica"] + 1


async def test_a_request_cancelled_while_a_replica_is_asked_its_position_gives_back_the_connection(
    servers: Cluster, migrated: Path
) -> None:
    standby = servers.standbys[0]
    async with Proxy(standby.port) as proxy:
        replicated = make_settings(
            servers.primary.url,
            migrated,
            database_read_urls=proxy.url,
            database_read_max_lag_seconds=60,
            database_pool_size=1,  # one connection each: one kept would hold up every read
        )
        token = token_for(replicated)
        async with running(replicated) as app, client_for(app, token) as client:
            await _until(lambda: _usable(app) == 1)
            assert await titles(client) == set()  # (its replica connection, open and idle)
            servers.pause(standby)
            try:
                made = await client.post("/api/tasks", json={"title": "ahead of the replica"})
                assert made.status_code == 201, made.text
                # The replica is behind this person's write: a read asks it how far it has
                # replayed, on the request's connection, and the answer does not come.
                proxy.stall()
                reading = asyncio.create_task(client.get("/api/tasks"))
                await _until(lambda: any(b"::bigint AS lsn" in sent for sent in proxy.asked))
                reading.cancel()  # (a client gone, a stop)
                proxy.flow()
                with pytest.raises(asyncio.CancelledError):
                    await reading
            finally:
                servers.resume(standby)
            servers.caught_up(standby)
            await _until(lambda: _usable(app) == 1, within=5)
            from todo_api.kit.deps import held
            from todo_api.kit.reads import ReadRouting

            replica = held(app, ReadRouting).replicas.all[0]
            assert replica.db.pool_stats()[1] == 0  # none in use
            async with client_for(app, token_for(replicated)) as stranger:
                before = await reads(stranger)
                assert await titles(stranger) == set()
                assert (await reads(stranger))["replica"] == before["replica"] + 1


async def test_the_change_feed_from_a_replica_skips_nothing(
    servers: Cluster, migrated: Path
) -> None:
    """A transaction open on the primary while the feed is read from the standby: its change,
    stamped before later ones, comes when it commits, not never."""

    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    plain = make_settings(servers.primary.url, migrated)
    token = token_for(plain)
    async with running(replicated) as app, client_for(app, token) as reader:
        await _until(lambda: _usable(app) == 1)
        other = create_app(plain, jobs=[])
        async with client_for(other, token) as writer:
            made = await writer.post("/api/tasks", json={"title": "first"})
            assert made.status_code == 201
            servers.caught_up(standby)
            first = await reader.get("/api/tasks/changes")
            assert [task["title"] for task in first.json()["changes"]] == ["first"]
            since = first.json()["next"]
            slow = await asyncpg.connect(servers.primary.url)
            try:
                # The slow transaction stamps its change first, and commits last.
                await slow.execute("BEGIN")
                await slow.execute(
                    "UPDATE tasks SET title = 'slow' WHERE id = $1", made.json()["id"]
                )
                fast = await writer.post("/api/tasks", json={"title": "fast"})
                assert fast.status_code == 201
                servers.caught_up(standby)
                before = await reads(reader)
                page = await reader.get("/api/tasks/changes", params={"since": since})
                assert page.status_code == 200, page.text
                assert (await reads(reader))["replica"] == before["replica"] + 1
                seen = [task["title"] for task in page.json()["changes"]]
                since = page.json()["next"]
                await slow.execute("COMMIT")
            finally:
                await slow.close()
        await close_app(other)
        servers.caught_up(standby)
        page = await reader.get("/api/tasks/changes", params={"since": since})
        seen += [task["title"] for task in page.json()["changes"]]
        assert sorted(seen) == ["fast", "slow"]


async def test_a_sync_token_is_not_answered_by_a_replica_behind_it(
    servers: Cluster, migrated: Path
) -> None:
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    plain = make_settings(servers.primary.url, migrated)
    token = token_for(plain)
    async with running(replicated) as app, client_for(app, token) as reader:
        await _until(lambda: _usable(app) == 1)
        servers.pause(standby)
        try:
            # A token from the primary (another instance, no positions kept), after a write.
            other = create_app(plain, jobs=[])
            async with client_for(other, token) as writer:
                assert (await writer.post("/api/tasks", json={"title": "told"})).status_code == 201
                told = (await writer.get("/api/tasks/changes")).json()
            await close_app(other)
            assert [t["title"] for t in told["changes"]] == ["told"]
            before = await reads(reader)
            page = await reader.get("/api/tasks/changes", params={"since": told["next"]})
            assert page.status_code == 200, page.text
            assert page.json()["changes"] == []
            after = await reads(reader)
            assert after["primary"] == before["primary"] + 1  # answered again by the primary
            assert _usable(app) == 1  # behind a token, not failing: still in use
        finally:
            servers.resume(standby)


async def test_a_calendar_apps_sync_token_is_not_answered_by_a_replica_behind_it(
    servers: Cluster, migrated: Path
) -> None:
    """CalDAV's sync-collection streams its answer: a replica behind the token is found before
    the answer starts, so that the primary answers it whole."""
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    plain = make_settings(servers.primary.url, migrated)
    async with running(replicated) as app:
        await _until(lambda: _usable(app) == 1)
        other = create_app(plain, jobs=[])
        async with dav_user(other, plain) as writer:
            inbox = f"{writer.home}inbox/"
            _, first = await sync(writer.dav, inbox)
            servers.pause(standby)
            try:
                # A change and its token from the primary (another instance, no positions
                # kept) that the paused replica has not seen.
                made = await writer.api.post("/api/tasks", json={"title": "told"})
                assert made.status_code == 201, made.text
                _, told = await sync(writer.dav, inbox, first, wait_for=[made.json()["id"]])
                async with client_for(app) as reader:
                    reader.headers.update(basic(writer.token))
                    before = await reads(reader)
                    again = await reader.request("REPORT", inbox, content=sync_body(told))
                    assert again.status_code == 207, again.text
                    root = xml(again)  # whole: it parses, and ends with its token
                    assert root.findtext("d:sync-token", namespaces=NS)
                    assert (await reads(reader))["primary"] > before["primary"]
                    assert _usable(app) == 1
            finally:
                servers.resume(standby)
        await close_app(other)


# What the walk fills each path's parameters with (a path with any other is left out), and
# what it leaves out: streams that do not end, and routes that go to another site.
WALKED = ("/api/", "/app/")
NOT_WALKED = ("/api/events", "/app/live", "/api/auth/oidc/", "/app/signout")


def _get_routes() -> list[str]:
    """Every GET route of the API and the web app, from the route map (docs/architecture.md)."""
    text = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    found = re.findall(r"^\| (?:GET)[^|]*\| `([^`]+)` \|", text, re.M)
    return sorted({p for p in found if p.startswith(WALKED) and not p.startswith(NOT_WALKED)})


async def test_no_read_path_writes_on_a_standby(
    servers: Cluster, migrated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every GET route of the API and the web app, and CalDAV's reads, with a standby as the
    only replica: each answered by it, none failing there (a write on a standby is an
    internal error, never answered again by the primary)."""
    standby = servers.standbys[0]
    replicated = settings_for(
        servers, migrated, standby, database_read_max_lag_seconds=60, email_verification="off"
    )
    async with (
        running(replicated) as app,
        client_for(app) as api,
        client_for(app) as browser,
        client_for(app) as dav,
    ):
        await _until(lambda: _usable(app) == 1)
        account = await sign_up(api)
        api.headers.update(bearer(account["access_token"]))
        ids = {"user_id": account["user"]["id"]}
        made = await api.post("/api/lists", json={"name": "Walked"})
        ids["list_id"] = made.json()["id"]
        made = await api.post("/api/tasks", json={"title": "walked", "list_id": ids["list_id"]})
        ids["task_id"] = made.json()["id"]
        await api.post(f"/api/tasks/{ids['task_id']}/comments", json={"body": "a comment"})
        made = await api.post("/api/filters", json={"name": "Soon", "query": "due before: +7d"})
        ids["filter_id"] = made.json().get("id", "")
        made = await api.post(f"/api/lists/{ids['list_id']}/sections", json={"name": "Part"})
        ids["section_id"] = made.json().get("id", "")
        made = await api.post("/api/tokens", json={"name": "calendar app"})
        dav.headers.update(basic(made.json()["token"]))
        page = await browser.get("/app/signin")
        signed_in = await browser.post(
            "/app/signin",
            data={**form_fields(page.text), "email": account["user"]["email"], "password": PW},
        )
        assert signed_in.status_code == 303, signed_in.text
        servers.caught_up(standby)
        before = await reads(api)
        answered: dict[str, int] = {}
        with captured_logs(caplog):
            for route in _get_routes():
                try:
                    path = route.format(**ids)
                except KeyError:
                    continue  # a parameter the walk has no value for
                client = browser if route.startswith("/app/") else api
                answered[path] = (await client.get(path)).status_code
            home = f"/dav/calendars/{ids['user_id']}/"
            calendar = f"{home}{ids['list_id']}/"
            for path, depth in (("/dav/", "0"), (home, "1"), (calendar, "1")):
                found = await dav.request("PROPFIND", path, headers={"Depth": depth})
                answered[f"PROPFIND {path}"] = found.status_code
            found = await dav.request(
                "REPORT", calendar, content=sync_body(), headers={"Depth": "1"}
            )
            answered[f"REPORT {calendar}"] = found.status_code
            hrefs = re.findall(r"<(?:\w+:)?href>([^<]+\.ics)</", found.text)
            assert hrefs, found.text
            answered[f"GET {hrefs[0]}"] = (await dav.get(hrefs[0])).status_code
            for tool, arguments in (
                ("list_tasks", {}),
                ("get_task", {"task_id": ids["task_id"]}),
                ("list_filters", {}),
            ):
                called = await api.post(
                    "/mcp",
                    headers={
                        "Accept": "application/json, text/event-stream",
                        "MCP-Protocol-Version": "2025-11-25",
                    },
                    json={
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "tools/call",
                        "params": {"name": tool, "arguments": arguments},
                    },
                )
                assert "isError" not in called.text or '"isError":false' in called.text
                answered[f"MCP {tool}"] = called.status_code
        failed = {path: status for path, status in answered.items() if status >= 500}
        assert not failed
        assert len(answered) > 40
        assert sum(status == 200 for status in answered.values()) > 30
        after = await reads(api)
        assert after["replica"] - before["replica"] > 40
        assert after["primary"] == before["primary"]  # none fell to the primary
        assert not [r for r in caplog.records if "left out" in r.getMessage()]


@pytest.mark.parametrize(
    ("primary", "replicas", "says"),
    [
        ("sqlite:///{tmp}/todo.db", "postgresql://standby/todo", "DATABASE_URL to be PostgreSQL"),
        ("postgresql://primary/todo", "sqlite:///{tmp}/todo.db", "SQLite has no replicas"),
        ("postgresql://primary/todo", "postgresql://standby:port/todo", "check the host and port"),
        ("postgresql://primary/todo", "postgresql://standby/", "the host and the database"),
    ],
)
async def test_replicas_are_postgresql_beside_postgresql(
    tmp_path: Path, primary: str, replicas: str, says: str
) -> None:
    with pytest.raises(ConfigError, match="DATABASE_READ_URLS") as refused:
        load_settings(
            _env_file=None,
            database_url=primary.format(tmp=tmp_path),
            database_read_urls=replicas.format(tmp=tmp_path),
        )
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
    both = load_settings(
        _env_file=None,
        database_url="postgresql://primary/todo",
        database_read_urls=" postgresql://a/todo , postgres://b:6432/todo?sslmode=require ",
    )
    assert both.database_read_urls == [
        "postgresql://a/todo",
        "postgres://b:6432/todo?sslmode=require",
    ]
    assert both.database_read_max_lag_seconds == 5
    assert [s.database_summary() for s in both.replica_settings()] == [
        "PostgreSQL a:5432/todo",
        "PostgreSQL b:6432/todo",
    ]
    assert both.replica_settings()[1].connect_args()["ssl"] == "require"


async def test_a_live_update_is_never_followed_by_an_older_read(
    servers: Cluster, migrated: Path
) -> None:
    """A change written through another instance (no position kept for it), told on a live
    stream read from the primary: the person's next read is not the paused replica's."""
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    plain = make_settings(servers.primary.url, migrated)
    token = token_for(plain)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        running(replicated) as app,
        serving(app) as url,
        httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client,
    ):
        await _until(lambda: _usable(app) == 1)
        async with open_stream(client) as (response, events):
            assert response.status_code == 200
            await events.next_event()  # where the stream starts
            servers.pause(standby)
            try:
                other = create_app(plain, jobs=[])
                async with client_for(other, token) as writer:
                    made = await writer.post("/api/tasks", json={"title": "told live"})
                    assert made.status_code == 201
                await close_app(other)
                await events.wait_for({made.json()["id"]})
                assert await titles(client) == {"told live"}
            finally:
                servers.resume(standby)


async def test_a_deleted_account_takes_its_read_position_along(
    servers: Cluster, migrated: Path
) -> None:
    """Without Redis the positions are rows on the primary, which go with their person; the
    deletion's own answer, whose position has no one to go to, is still a success."""
    replicated = settings_for(servers, migrated, servers.standbys[0])
    email = f"gone-{uuid.uuid4().hex[:8]}@example.com"
    token = token_for(replicated, email=email)
    async with running(replicated) as app, client_for(app, token) as client:
        made = await client.post("/api/tasks", json={"title": "mine"})
        assert made.status_code == 201
        me = (await client.get("/api/auth/me")).json()["id"]
        assert await _positions(servers, me) == 1
        gone = await client.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert gone.status_code == 204, gone.text
        assert await _positions(servers, me) == 0


async def _positions(servers: Cluster, user_id: str) -> int:
    conn = await asyncpg.connect(servers.primary.url)
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM read_positions WHERE user_id = $1", uuid.UUID(user_id)
        )
    finally:
        await conn.close()
    return found


async def test_live_updates_catch_up_on_a_replica_never_older_than_the_token(
    servers: Cluster, migrated: Path
) -> None:
    """A stream resumed from a token: what came since is read from the replica when it has
    replayed as far as the token (what it had not yet comes next, from the primary); from
    the primary when it is behind the token."""
    standby = servers.standbys[0]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    plain = make_settings(servers.primary.url, migrated)
    token = token_for(plain)
    headers = {"Authorization": f"Bearer {token}"}
    other = create_app(plain, jobs=[])
    async with (
        running(replicated) as app,
        serving(app) as url,
        httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client,
        client_for(other, token) as writer,
    ):
        await _until(lambda: _usable(app) == 1)
        start = (await writer.get("/api/tasks/changes")).json()["next"]
        replayed = (await writer.post("/api/tasks", json={"title": "replayed"})).json()
        servers.caught_up(standby)
        servers.pause(standby)
        try:
            # Written through an instance that keeps no positions: the replica may answer.
            lagging = (await writer.post("/api/tasks", json={"title": "lagging"})).json()
            told = (await writer.get("/api/tasks/changes", params={"since": start})).json()
            before = await reads(client)
            async with open_stream(client, headers={"Last-Event-ID": start}) as (_, events):
                first = await events.next_event()
                assert [t["title"] for t in first.page()["changes"]] == ["replayed"]
                await events.wait_for({lagging["id"]})  # then the primary's, missing nothing
            await _until_counted(client, before, replica=1)
            # A token the replica has not replayed: the primary answers the catch-up whole.
            before = await reads(client)
            newer = (await writer.post("/api/tasks", json={"title": "after the token"})).json()
            resumed = {"Last-Event-ID": told["next"]}
            async with open_stream(client, headers=resumed) as (_, events):
                seen = await events.wait_for({newer["id"]})
                titles_seen = [t["title"] for m in seen for t in m.page()["changes"]]
                assert titles_seen == ["after the token"]
            await _until_counted(client, before, primary=1)
            assert _usable(app) == 1
        finally:
            servers.resume(standby)
    await close_app(other)
    assert replayed["title"] == "replayed"


async def _until_counted(
    client: httpx.AsyncClient, before: dict[str, float], replica: int = 0, primary: int = 0
) -> None:
    """Waits for a stream that ended to be counted where it read (at its end)."""
    deadline = time.monotonic() + 10
    while True:
        after = await reads(client)
        if (after["replica"] - before["replica"], after["primary"] - before["primary"]) == (
            replica,
            primary,
        ):
            return
        assert time.monotonic() < deadline, (before, after)
        await asyncio.sleep(0.05)


MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


@asynccontextmanager
async def _replica_stuck(servers: Cluster, standby: Server) -> AsyncIterator[Any]:
    """The replica's reads of `tasks` wait (a lock the primary holds, replayed there); the
    caller starts a read and awaits what this yields: once the read waits there, the replica
    goes away (the read fails mid-way) and the primary lets go of the lock. The replica is
    back, caught up, at the end."""
    servers.caught_up(standby, timeout=60)
    lock = await asyncpg.connect(servers.primary.url)
    stopped = False

    async def going() -> None:
        nonlocal stopped
        deadline = time.monotonic() + 20
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        watching = await asyncpg.connect(standby.url)
        try:
            while await watching.fetchval(query) == 0:
                assert time.monotonic() < deadline, "no read waits on the replica"
                await asyncio.sleep(0.05)
        finally:
            await watching.close()
        standby.stop()
        stopped = True
        await lock.execute("ROLLBACK")

    try:
        await lock.execute("BEGIN; LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        servers.caught_up(standby, timeout=60)
        await asyncio.sleep(1)  # the watch's polls, which the wait above held up
        yield going
    finally:
        await lock.close()
        if stopped:
            standby.start()
            servers.caught_up(standby, timeout=60)


async def test_an_mcp_tool_or_an_export_whose_replica_goes_away_is_answered_by_the_primary(
    servers: Cluster, migrated: Path
) -> None:
    standby = servers.standbys[1]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
        for title in ("one", "two"):
            assert (await client.post("/api/tasks", json={"title": title})).status_code == 201
        servers.caught_up(standby)
        await _until(lambda: _usable(app) == 1)
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "list_tasks", "arguments": {}},
        }
        warm = await client.post("/mcp", headers=MCP_HEADERS, json=call)  # (the SDK loaded)
        assert warm.status_code == 200, warm.text
        async with _replica_stuck(servers, standby) as replica_goes:
            called = asyncio.ensure_future(client.post("/mcp", headers=MCP_HEADERS, json=call))
            await replica_goes()
            answer = await called
        assert answer.status_code == 200, answer.text
        result = answer.json()["result"]
        assert not result.get("isError"), result
        assert {t["title"] for t in result["structuredContent"]["tasks"]} == {"one", "two"}
        await _until(lambda: _usable(app) == 1, within=10)
        async with _replica_stuck(servers, standby) as replica_goes:
            exported = asyncio.ensure_future(client.get("/api/export"))
            await replica_goes()
            document = await exported
        assert document.status_code == 200
        assert {t["title"] for t in document.json()["tasks"]} == {"one", "two"}  # whole
        await _until(lambda: _usable(app) == 1, within=10)


async def test_a_calendar_apps_report_whose_replica_goes_away_mid_way_is_answered_whole(
    servers: Cluster, migrated: Path
) -> None:
    """CalDAV's answers stream a page at a time: a replica that fails once the 207 has started
    is read again by the primary for the rest, and the answer ends whole."""
    standby = servers.standbys[1]
    replicated = settings_for(servers, migrated, standby, database_read_max_lag_seconds=60)
    async with running(replicated) as app, dav_user(app, replicated) as user:
        for title in ("one", "two"):
            made = await user.api.post("/api/tasks", json={"title": title})
            assert made.status_code == 201, made.text
        inbox = f"{user.home}inbox/"
        servers.caught_up(standby)
        await _until(lambda: _usable(app) == 1)
        asked = {
            "sync-collection": ("REPORT", sync_body(""), {}),
            "PROPFIND Depth 1": ("PROPFIND", propfind_body("d:getetag"), {"Depth": "1"}),
        }
        for name, (method, body, headers) in asked.items():
            async with _replica_stuck(servers, standby) as replica_goes:
                answered = asyncio.ensure_future(
                    user.dav.request(method, inbox, content=body, headers=headers)
                )
                await replica_goes()
                answer = await answered
            assert answer.status_code == 207, (name, answer.text)
            hrefs = texts(xml(answer), "d:response/d:href")  # whole: it parses
            assert len([h for h in hrefs if h.endswith(".ics")]) == 2, (name, hrefs)
            await _until(lambda: _usable(app) == 1, within=10)


async def test_a_person_reads_their_writes_while_redis_is_away_and_after(
    servers: Cluster, migrated: Path, tmp_path: Path
) -> None:
    """Positions kept in a Redis that stops answering (paused, its data kept) or restarts
    empty: a write whose position was lost is still never followed by an older read, and reads
    go back to the replica once Redis answers and the replica has caught up."""
    standby = servers.standbys[0]
    with own_redis(tmp_path) as redis_server:
        replicated = settings_for(
            servers,
            migrated,
            standby,
            database_read_max_lag_seconds=60,
            redis_url=redis_server.url,
        )
        async with running(replicated) as app, client_for(app, token_for(replicated)) as client:
            await _until(lambda: _usable(app) == 1)
            assert (await client.post("/api/tasks", json={"title": "one"})).status_code == 201
            servers.caught_up(standby)
            await _on_the_replica(client, {"one"})
            servers.pause(standby)
            try:
                process = redis_server.process
                assert process is not None
                process.send_signal(signal.SIGSTOP)  # not answering; what it keeps stays
                try:
                    made = await client.post("/api/tasks", json={"title": "two"})
                    assert made.status_code == 201
                    assert await titles(client) == {"one", "two"}
                finally:
                    process.send_signal(signal.SIGCONT)
                await _answering(redis_server)
                await _until(lambda: _usable(app) == 1)
                assert await titles(client) == {"one", "two"}  # the replica has only "one"
                redis_server.stop()
                made = await client.post("/api/tasks", json={"title": "three"})
                assert made.status_code == 201
                assert await titles(client) == {"one", "two", "three"}
                redis_server.start()  # empty
                await _until(lambda: _usable(app) == 1)
                assert await titles(client) == {"one", "two", "three"}
                await _answering(redis_server)
                await _until(lambda: _usable(app) == 1)
                assert await titles(client) == {"one", "two", "three"}
            finally:
                servers.resume(standby)
            servers.caught_up(standby)
            await _until(lambda: _usable(app) == 1)
            await _on_the_replica(client, {"one", "two", "three"})


async def _answering(server: RedisServer) -> None:
    """Redis answers again, and long enough for the service to have seen it."""
    client = redis.Redis.from_url(server.url, socket_timeout=1)
    try:
        await _until(lambda: bool(client.ping()))
    finally:
        client.close()
    await asyncio.sleep(1)


async def _on_the_replica(client: httpx.AsyncClient, expected: set[str]) -> None:
    """Waits for the person's reads to be the replica's again (the watch's next polls)."""
    deadline = time.monotonic() + 10
    while True:
        before = await reads(client)
        assert await titles(client) == expected
        if (await reads(client))["replica"] == before["replica"] + 1:
            return
        assert time.monotonic() < deadline, "reads never went to the replica"
        await asyncio.sleep(0.1)
