"""Migration 0022 on tasks written before it: a recurring task with no series start kept reads
its own due time as the start of its series, and the occurrences completing it makes carry
that start (so that a time moved by a clock change is moved on that day only). The column
comes without rewriting the table, under a lock timeout; downgrading drops it."""

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_task_counts import insert_task, insert_user_and_list
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migration_timezones import _downgrade
from todo_api.kit.ids import utcnow

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*wall: int) -> datetime:
    return datetime(*wall, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def written(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _columns(conn: sa.Connection) -> dict[str, Any]:
    return {c["name"]: c for c in sa.inspect(conn).get_columns("tasks")}


async def _open_dues(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/tasks", params={"completed": "false", "sort": "due_at"})
    assert response.status_code == 200, response.text
    return [task["due_at"] for task in response.json()]


async def test_a_task_written_before_starts_its_series_at_its_due_time(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0021")
    alice = uuid.uuid4()
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, uuid.uuid4(), utcnow())
        # Due at 02:30 the day before Berlin's clocks jump from 02:00 to 03:00.
        task_id = await insert_task(
            conn,
            alice,
            "Daily",
            due_at=berlin(2026, 3, 28, 2, 30),
            timezone="Europe/Berlin",
            recurrence="FREQ=DAILY",
        )
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        column = (await conn.run_sync(_columns))["series_start"]
        assert column["nullable"]
        assert column["default"] is None
        starts = (await conn.execute(sa.text("SELECT series_start FROM tasks"))).scalars().all()
        assert starts == [None]  # nothing backfilled

    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as client,
    ):
        completed = await client.post(f"/api/tasks/{task_id}/complete")
        assert completed.status_code == 200, completed.text
        [gap_day] = await _open_dues(client)
        assert gap_day == written(berlin(2026, 3, 29, 3, 30))  # 02:30 does not exist that day
        [following] = (await client.get("/api/tasks", params={"completed": "false"})).json()
        completed = await client.post(f"/api/tasks/{following['id']}/complete")
        assert completed.status_code == 200, completed.text
        assert await _open_dues(client) == [written(berlin(2026, 3, 30, 2, 30))]  # 02:30 again


async def test_the_column_comes_without_rewriting_the_table_and_under_a_lock_timeout(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0021")
    if engine.dialect.name != "postgresql":
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "0022")
            assert "series_start" in await conn.run_sync(_columns)
        return
    filenode = sa.text("SELECT pg_relation_filenode('tasks')")
    async with engine.connect() as conn:
        before = (await conn.execute(filenode)).scalar()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "0022")
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
    async with engine.connect() as conn:
        assert (await conn.execute(filenode)).scalar() == before  # not rewritten
    [alter] = [i for i, s in enumerate(statements) if "ADD COLUMN series_start" in s]
    # The runner's lock_timeout (migrations/online.py) is set before it.
    assert any(s.startswith("SET lock_timeout") for s in statements[:alter])


async def test_downgrading_drops_the_column_and_keeps_the_triggers(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0022")
        await conn.run_sync(_downgrade, "0021")
        assert "series_start" not in await conn.run_sync(_columns)
        alice = uuid.uuid4()
        await insert_user_and_list(conn, alice, uuid.uuid4(), utcnow())
        await insert_task(conn, alice, "t")
        # The change-stamping trigger still stamps.
        stamp = (await conn.execute(sa.text("SELECT change_seq FROM tasks"))).scalar_one()
        assert stamp > 0
