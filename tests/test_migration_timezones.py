"""Migration 0015 on rows written before it: every user and task reads "UTC", no task is
all-day, nothing a user sees moves (due times, the next occurrence of a recurring task, the
change feed), and the columns come without rewriting the table."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from todo_api.db import UTCDateTime
from todo_api.kit.ids import utcnow
from todo_api.migrations import alembic_config

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

# The tables as migration 0013 leaves them.
USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
TASKS = sa.table(
    "tasks",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("created_by", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("title_key", sa.String()),
    sa.column("due_at", UTCDateTime()),
    sa.column("recurrence", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("change_seq", sa.BigInteger()),
)
MONDAY_NIGHT = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # Tuesday already east of Greenwich


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_existing_users_and_tasks_read_utc_and_nothing_they_show_moves(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0013")
    now, alice = utcnow(), uuid.uuid4()
    dues = {
        "weekly": (MONDAY_NIGHT, "FREQ=WEEKLY;BYDAY=MO"),
        "dated": (MONDAY_NIGHT + timedelta(days=30), None),
        "undated": (None, None),
    }
    async with engine.begin() as conn:
        await conn.execute(USERS.insert().values(id=alice, created_at=now, updated_at=now))
        for title, (due_at, rule) in dues.items():
            await conn.execute(
                TASKS.insert().values(
                    id=uuid.uuid4(),
                    user_id=alice,
                    created_by=alice,
                    title=title,
                    title_key=title,
                    due_at=due_at,
                    recurrence=rule,
                    created_at=now,
                    updated_at=now,
                )
            )
        stamps_before = dict((await conn.execute(select(TASKS.c.title, TASKS.c.change_seq))).all())

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0015")
    async with engine.connect() as conn:
        stamps_after = dict((await conn.execute(select(TASKS.c.title, TASKS.c.change_seq))).all())
    assert stamps_after == stamps_before  # no task comes again in a feed

    async with engine.begin() as conn:  # the app reads the latest schema
        await conn.run_sync(_upgrade, "head")
    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as client,
    ):
        me = (await client.get("/api/auth/me")).json()
        assert me["timezone"] == "UTC"
        tasks = await _listed(client, sort="due_at")
        assert [t["title"] for t in tasks] == ["weekly", "dated", "undated"]
        for task in tasks:
            due_at, _ = dues[task["title"]]
            assert task["timezone"] == "UTC"
            assert task["due_date"] is None
            assert task["due_at"] == (due_at.strftime("%Y-%m-%dT%H:%M:%SZ") if due_at else None)
        # The weekly Monday task still recurs on UTC Mondays.
        completed = await client.post(f"/api/tasks/{tasks[0]['id']}/complete")
        assert completed.status_code == 200, completed.text
        [following] = [
            t for t in await _listed(client, completed="false") if t["title"] == "weekly"
        ]
        assert following["due_at"] == "2026-03-09T23:30:00Z"
        # One task, moved on: its Monday of 2 March is a completion of it now.
        assert [t["title"] for t in await _listed(client, due_on="2026-03-09")] == ["weekly"]


async def _listed(client: httpx.AsyncClient, **params: str) -> list[dict]:
    response = await client.get("/api/tasks", params=params)
    assert response.status_code == 200, response.text
    tasks: list[dict] = response.json()
    return tasks


def _downgrade(conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_downgrading_drops_the_columns_and_keeps_the_triggers(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0015")
        await conn.run_sync(_downgrade, "0013")

    def columns(conn: sa.Connection, table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}

    async with engine.begin() as conn:
        assert not {"timezone", "due_date"} & await conn.run_sync(columns, "tasks")
        assert "timezone" not in await conn.run_sync(columns, "users")
        alice, now = uuid.uuid4(), utcnow()
        await conn.execute(USERS.insert().values(id=alice, created_at=now, updated_at=now))
        values = {"user_id": alice, "title": "t", "title_key": "t"}
        await conn.execute(
            TASKS.insert().values(id=uuid.uuid4(), created_at=now, updated_at=now, **values)
        )
        # The change-stamping trigger still stamps.
        [stamp] = (await conn.execute(select(TASKS.c.change_seq))).scalars().all()
        assert stamp > 0
