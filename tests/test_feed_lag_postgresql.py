"""What holds the change feed back on PostgreSQL: a write transaction left open in this
database delays every user's feed (and live updates) until it ends, and says so (/metrics'
`feed_lag_seconds`, and a log line naming its backend); one open in another database of the
same server holds nothing back."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support import ADMIN_URL, app_for, captured_logs, client_for, make_settings, token_for
from tests.tasks.helpers import create_task
from tests.test_metrics_and_logs import sample
from tests.webhooks.helpers import wait_until
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.feed import scheduled as feed_scheduled
from todo_api.kit.jobs import JobRunner
from todo_api.migrations import upgrade_to_head


@asynccontextmanager
async def open_write_transaction(url: str, application_name: str) -> AsyncIterator[int]:
    """A transaction that has taken an id (as a write does) and stays open: its backend's pid."""
    conn = await asyncpg.connect(
        url.replace("postgresql+asyncpg://", "postgresql://"),
        server_settings={"application_name": application_name},
    )
    try:
        await conn.execute("BEGIN")
        await conn.fetchval("SELECT pg_current_xact_id()")
        yield conn.get_server_pid()
    finally:
        await conn.close()


async def _migrated(postgres_url: str, tmp_path: Path, **overrides: object) -> Settings:
    settings = make_settings(postgres_url, tmp_path, **overrides)
    await upgrade_to_head(settings)
    return settings


@asynccontextmanager
async def _watching(settings: Settings) -> AsyncIterator[None]:
    """The feed's job running, as a server's lifespan runs it."""
    db = Database(settings)
    runner = asyncio.create_task(JobRunner(db, settings, feed_scheduled.schedule.jobs).run())
    try:
        yield
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await db.close()


async def _in_feed(client: httpx.AsyncClient, task_id: str) -> bool:
    feed = await client.get("/api/tasks/changes")
    assert feed.status_code == 200, feed.text
    return task_id in {task["id"] for task in feed.json()["changes"]}


async def test_a_transaction_in_another_database_holds_no_feed_back(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = await _migrated(postgres_url, tmp_path)
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings)) as alice,
        open_write_transaction(ADMIN_URL, "elsewhere"),
    ):
        task = await create_task(alice, title="Seen at once")
        assert await _in_feed(alice, task["id"])


async def test_a_transaction_open_here_holds_the_feed_and_is_named(
    postgres_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = await _migrated(postgres_url, tmp_path, feed_lag_warn_seconds=0.5)
    name = f"forgotten-{uuid.uuid4().hex[:6]}"
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        with captured_logs(caplog):
            async with open_write_transaction(postgres_url, name) as pid:
                task = await create_task(alice, title="Held back")
                async with _watching(settings):
                    await wait_until(lambda: name in caplog.text, what="the holder named")
                assert not await _in_feed(alice, task["id"])  # waits for the open one
                metrics = (await alice.get("/metrics")).text
                assert sample(metrics, "feed_lag_seconds") >= 0.5
            # Ended: the change comes, and nothing holds the feed any more.
            assert await wait_until(lambda: _in_feed(alice, task["id"]), what="the change")
            await asyncio.sleep(0)
            assert sample((await alice.get("/metrics")).text, "feed_lag_seconds") < 0.5
    [line] = {r.getMessage() for r in caplog.records if name in r.getMessage()}
    assert f"pid={pid} " in line
    assert f"application_name={name} " in line
    assert f"database={postgres_url.rsplit('/', 1)[1]} " in line
    assert " held=" in line
