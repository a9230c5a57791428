"""Migration 0018 on rows written before it: every list and every inbox gets its counts of the
tasks it already holds, the totals and open counts a user sees are those they saw before, the
writes after it are counted, and downgrading gives back the open-count index. Downgrading
0019 folds the rows of each scope back into one."""

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migration_timezones import _downgrade
from todo_api.kit.ids import utcnow
from todo_api.tables.lists import list_members, lists
from todo_api.tables.tasks import task_counts, tasks
from todo_api.tables.users import User

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

users = User.__table__  # type: ignore[attr-defined]
pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)


async def insert_user_and_list(
    conn: AsyncConnection, user_id: uuid.UUID, list_id: uuid.UUID, now: datetime
) -> None:
    """A user and their list "Groceries", its owner its member (as migrations since 0011
    keep a list)."""
    stamps = {"created_at": now, "updated_at": now}
    await conn.execute(users.insert().values(id=user_id, **stamps))
    await conn.execute(
        lists.insert().values(
            id=list_id, user_id=user_id, name="Groceries", name_key="groceries", **stamps
        )
    )
    await conn.execute(
        list_members.insert().values(
            list_id=list_id, user_id=user_id, role="owner", position=0, joined_at=now
        )
    )


async def insert_task(
    conn: AsyncConnection, user_id: uuid.UUID, title: str, **fields: Any
) -> uuid.UUID:
    """A task of `user_id`'s, written as migrations since 0011 keep one (`fields` over the
    defaults: no list, open); its id."""
    now = utcnow()
    row = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "created_by": user_id,
        "title": title,
        "title_key": title.lower(),
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    await conn.execute(tasks.insert().values(**row))
    task_id: uuid.UUID = row["id"]
    return task_id


async def _total(client: httpx.AsyncClient, **params: str) -> str:
    response = await client.get("/api/tasks", params=params)
    assert response.status_code == 200, response.text
    return response.headers["x-total-count"]


async def test_existing_lists_and_inboxes_are_counted_and_writes_after_it_too(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0017")
    now, alice, groceries = utcnow(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, groceries, now)
        # The inbox: two open, one done; the list: three open, one done.
        held = [(None, False)] * 2 + [(None, True)] + [(groceries, False)] * 3 + [(groceries, True)]
        for n, (list_id, done) in enumerate(held):
            await insert_task(conn, alice, f"Task {n}", list_id=list_id, is_completed=done)
        await conn.run_sync(_upgrade, "head")

    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as client,
    ):
        assert await _total(client) == "7"
        assert await _total(client, completed="false") == "5"
        assert await _total(client, list_id="inbox", completed="true") == "1"
        assert await _total(client, list_id=str(groceries)) == "4"
        [listed] = (await client.get("/api/lists")).json()
        assert listed["open_count"] == 3
        created = await client.post("/api/tasks", json={"title": "New", "list_id": str(groceries)})
        assert created.status_code == 201, created.text
        assert await _total(client, list_id=str(groceries), completed="false") == "4"
        assert await _total(client) == "8"


async def test_downgrading_drops_the_counts_and_gives_back_the_open_count_index(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0018")
        await conn.run_sync(_downgrade, "0017")

    def shape(conn: sa.Connection) -> tuple[set[str], set[str | None]]:
        inspector = sa.inspect(conn)
        return set(inspector.get_table_names()), {
            index["name"] for index in inspector.get_indexes("tasks")
        }

    async with engine.begin() as conn:
        tables, indexes = await conn.run_sync(shape)
        assert "task_counts" not in tables
        assert "ix_tasks_list_id_is_completed" in indexes
        # Writes to the tables whose triggers went still work.
        now, alice = utcnow(), uuid.uuid4()
        await conn.execute(users.insert().values(id=alice, created_at=now, updated_at=now))
        await conn.execute(
            tasks.insert().values(
                id=uuid.uuid4(),
                user_id=alice,
                title="t",
                title_key="t",
                created_at=now,
                updated_at=now,
            )
        )
        await conn.run_sync(_upgrade, "head")


async def test_downgrading_the_slots_folds_each_scopes_rows_into_one(engine: AsyncEngine) -> None:
    now, alice = utcnow(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        await conn.execute(users.insert().values(id=alice, created_at=now, updated_at=now))
        inbox = task_counts.c.scope_id == alice
        await conn.execute(task_counts.update().where(inbox).values(open_count=3, done_count=0))
        if engine.dialect.name == "postgresql":  # a row a write added while the first was held
            await conn.execute(
                task_counts.insert().values(
                    scope_id=alice, slot=4242, user_id=alice, open_count=2, done_count=1
                )
            )
        await conn.run_sync(_downgrade, "0018")
        counts = sa.table(
            "task_counts", sa.column("scope_id"), *map(sa.column, ("open_count", "done_count"))
        )
        rows = (
            await conn.execute(
                sa.select(counts.c.open_count, counts.c.done_count).where(
                    counts.c.scope_id == alice
                )
            )
        ).all()
        expected = (5, 1) if engine.dialect.name == "postgresql" else (3, 0)
        assert [tuple(row) for row in rows] == [expected]
        await conn.run_sync(_upgrade, "head")
