"""Migration 0039: a task's activity item is written by the trigger that stamps the write, at
the write's own place in the feed's order. Items written before it stay where they were; the
items written after it come after them, whoever writes them; downgrading gives the table its
own numbering back, after the items there."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.test_migration_activity_cost import _downgrade
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from todo_api.kit.ids import utcnow
from todo_api.tables.activity import activity
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)


async def _items(conn: AsyncConnection) -> list[Any]:
    result = await conn.execute(
        select(activity.c.seq, activity.c.txid, activity.c.action, activity.c.changes)
        .where(activity.c.task_id.is_not(None))
        .order_by(activity.c.seq)
    )
    return list(result)


async def _retitle(conn: AsyncConnection, task_id: uuid.UUID, title: str) -> Any:
    """Retitle the task; its change stamp."""
    await conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(title=title))
    stamp = await conn.execute(
        select(tasks.c.change_txid, tasks.c.change_seq).where(tasks.c.id == task_id)
    )
    return stamp.one()


async def _service_item(conn: AsyncConnection, owner: uuid.UUID) -> int:
    """An item as a service writes it (todo_api.kit.activity: no `seq`); its `seq`."""
    values = {"id": uuid.uuid4(), "at": utcnow(), "owner_id": owner, "action": "comment.created"}
    await conn.execute(activity.insert().values(**values))
    seq = await conn.execute(select(activity.c.seq).where(activity.c.id == values["id"]))
    return int(seq.scalar_one())


async def test_items_come_after_those_before_and_carry_the_writes_stamp(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    postgresql = engine.dialect.name == "postgresql"
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0038")
    now = utcnow()
    owner, task_id = uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(users.insert().values(id=owner, created_at=now, updated_at=now))
        await conn.execute(
            tasks.insert().values(
                id=task_id,
                user_id=owner,
                title="Before",
                created_at=now,
                updated_at=now,
                created_by=owner,
                changed_by=owner,
            )
        )
        await _retitle(conn, task_id, "Before, again")
        before = await _items(conn)
    assert [item.action for item in before] == ["task.created", "task.updated"]

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0039")
    async with engine.begin() as conn:
        assert await _items(conn) == before
        stamp = await _retitle(conn, task_id, "After")
        # A write that changes no field the activity shows makes no item.
        await conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(position=7))
        service_seq = await _service_item(conn, owner)
        after = await _items(conn)
    assert after[:2] == before
    assert [item.action for item in after[2:]] == ["task.updated"]
    item = after[2]
    assert item.changes == {"title": ["Before, again", "After"]}
    assert item.seq > before[-1].seq
    assert service_seq > item.seq
    if postgresql:
        assert (item.txid, item.seq) == (stamp.change_txid, stamp.change_seq)

    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, "0038")
    async with engine.begin() as conn:
        await _retitle(conn, task_id, "Downgraded")
        service_again = await _service_item(conn, owner)
        last = (await _items(conn))[-1]
    assert last.changes == {"title": ["After", "Downgraded"]}
    assert service_seq < last.seq < service_again

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
    async with engine.begin() as conn:
        await _retitle(conn, task_id, "Head")
        assert (await _items(conn))[-1].seq > service_again
