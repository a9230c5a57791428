"""Migration 0021 on tags written before it: each entry takes its task's state, the totals of a
tag in each state count them, and later completions and reopenings follow. Downgrading drops
the column and gives back the triggers of 0016, which still keep the entries."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_task_counts import insert_task, insert_user_and_list
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migration_timezones import _downgrade
from todo_api.kit.ids import utcnow
from todo_api.tables.tasks import task_tags, tasks

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)

# Each task: its tags, whether it is done, whether it is in the list.
TASKS = {
    "open in the list": (["errand"], False, True),
    "done in the inbox": (["errand"], True, False),
    "done, two tags": (["errand", "home"], True, True),
    "done, no tag": ([], True, False),
}


async def _insert_tasks(conn: AsyncConnection, user_id: uuid.UUID, list_id: uuid.UUID) -> None:
    for title, (tags, done, listed) in TASKS.items():
        in_list = list_id if listed else None
        await insert_task(conn, user_id, title, list_id=in_list, tags=tags, is_completed=done)


async def _entries(conn: AsyncConnection, *columns: Any) -> list[tuple[Any, ...]]:
    query = (
        select(tasks.c.title, task_tags.c.tag, *columns)
        .join_from(task_tags, tasks, tasks.c.id == task_tags.c.task_id)
        .order_by(tasks.c.title, task_tags.c.tag)
    )
    return [tuple(row) for row in (await conn.execute(query)).all()]


async def test_entries_take_their_tasks_state_and_the_totals_count_them(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0020")
    alice, groceries = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, groceries, utcnow())
        await _insert_tasks(conn, alice, groceries)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        assert await _entries(conn, task_tags.c.is_completed) == [
            ("done in the inbox", "errand", True),
            ("done, two tags", "errand", True),
            ("done, two tags", "home", True),
            ("open in the list", "errand", False),
        ]

    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as owner,
    ):

        async def totals() -> tuple[str, str]:
            counted = []
            for done in ("true", "false"):
                params = {"tag": "errand", "completed": done}
                response = await owner.get("/api/tasks", params=params)
                assert response.status_code == 200, response.text
                counted.append(response.headers["x-total-count"])
            return counted[0], counted[1]

        assert await totals() == ("2", "1")
        response = await owner.get("/api/tasks", params={"tag": "errand", "completed": "true"})
        for task in response.json():
            reopened = await owner.post(f"/api/tasks/{task['id']}/reopen")
            assert reopened.status_code == 200, reopened.text
        assert await totals() == ("0", "3")
    async with engine.connect() as conn:  # the entries themselves, which SQLite never reads
        assert await _entries(conn, task_tags.c.is_completed) == [
            ("done in the inbox", "errand", False),
            ("done, two tags", "errand", False),
            ("done, two tags", "home", False),
            ("open in the list", "errand", False),
        ]


async def test_downgrading_drops_the_state_and_the_entries_are_still_kept(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        await conn.run_sync(_downgrade, "0020")
        columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("task_tags"))
        assert "is_completed" not in {column["name"] for column in columns}
    alice, groceries = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, groceries, utcnow())
        await _insert_tasks(conn, alice, groceries)
        done_in_inbox = tasks.c.title == "done in the inbox"
        # A reopening, a change of tags and a move still keep the entries.
        await conn.execute(tasks.update().where(done_in_inbox).values(is_completed=False))
        await conn.execute(tasks.update().where(done_in_inbox).values(tags=["home"]))
        await conn.execute(tasks.update().where(done_in_inbox).values(list_id=groceries))
        assert await _entries(conn, task_tags.c.list_id) == [
            ("done in the inbox", "home", groceries),
            ("done, two tags", "errand", groceries),
            ("done, two tags", "home", groceries),
            ("open in the list", "errand", groceries),
        ]
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        assert await _entries(conn, task_tags.c.is_completed) == [
            ("done in the inbox", "home", False),
            ("done, two tags", "errand", True),
            ("done, two tags", "home", True),
            ("open in the list", "errand", False),
        ]
