"""Migration 0049: files written before it are given their task's owner and list, and a stamp
that brings them to the feed; files written after it by the previous release (which knows
nothing of these columns) get both from the database; a task moved carries its files; a file
deleted leaves a tombstone. Downgrading drops it all, and upgrading again works."""

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.test_migration_activity_cost import _downgrade
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from todo_api.kit.ids import utcnow
from todo_api.tables.attachments import attachment_tombstones, attachments
from todo_api.tables.lists import lists
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)


def _columns(*names: str) -> sa.TableClause:
    return sa.table("attachments", *(sa.column(name, attachments.c[name].type) for name in names))


# `attachments` as migration 0048 made it (what the previous release writes), and what 0049 adds.
_FILES_0048 = _columns(
    *("id", "task_id", "name", "size", "content_type", "sha256", "created_by", "storage_key"),
    "created_at",
)
_FILES = _columns("id", "user_id", "list_id", "change_txid", "change_seq")


async def _file(conn: AsyncConnection, task_id: uuid.UUID, owner: uuid.UUID) -> uuid.UUID:
    """A file as the previous release writes it."""
    file_id = uuid.uuid4()
    await conn.execute(
        _FILES_0048.insert().values(
            id=file_id,
            task_id=task_id,
            name="notes.txt",
            size=6,
            content_type="text/plain",
            sha256="0" * 64,
            created_by=owner,
            storage_key=f"key/{file_id}",
            created_at=utcnow(),
        )
    )
    return file_id


async def _row(conn: AsyncConnection, file_id: uuid.UUID) -> Any:
    found = await conn.execute(sa.select(_FILES).where(_FILES.c.id == file_id))
    return found.one()


async def test_files_take_their_tasks_owner_list_and_stamp(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0048")
    now = utcnow()
    owner, task_id, list_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(users.insert().values(id=owner, created_at=now, updated_at=now))
        await conn.execute(
            lists.insert().values(
                id=list_id,
                user_id=owner,
                name="Work",
                name_key="work",
                created_at=now,
                updated_at=now,
            )
        )
        await conn.execute(
            tasks.insert().values(
                id=task_id,
                user_id=owner,
                title="With files",
                created_at=now,
                updated_at=now,
                created_by=owner,
                changed_by=owner,
            )
        )
        before = await _file(conn, task_id, owner)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0049")
    async with engine.begin() as conn:
        backfilled = await _row(conn, before)
        after = await _row(conn, await _file(conn, task_id, owner))
    assert (backfilled.user_id, backfilled.list_id) == (owner, None)
    assert (after.user_id, after.list_id) == (owner, None)
    assert 0 < backfilled.change_seq < after.change_seq

    # The task moved into a list: its files go with it, stamped again.
    async with engine.begin() as conn:
        await conn.execute(sa.update(tasks).where(tasks.c.id == task_id).values(list_id=list_id))
        moved = await _row(conn, before)
    assert (moved.user_id, moved.list_id) == (owner, list_id)
    assert moved.change_seq > after.change_seq

    async with engine.begin() as conn:
        await conn.execute(sa.delete(_FILES).where(_FILES.c.id == before))
        stone = await conn.execute(
            sa.select(attachment_tombstones).where(attachment_tombstones.c.attachment_id == before)
        )
    gone = stone.one()
    assert (gone.task_id, gone.user_id, gone.list_id) == (task_id, owner, list_id)
    assert gone.change_seq > moved.change_seq

    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, "0048")
    async with engine.begin() as conn:
        await _file(conn, task_id, owner)  # as the previous release does again
        names = await conn.run_sync(
            lambda sync: {column["name"] for column in sa.inspect(sync).get_columns("attachments")}
        )
        assert not await conn.run_sync(
            lambda sync: sa.inspect(sync).has_table("attachment_tombstones")
        )
    assert not {"user_id", "list_id", "change_txid", "change_seq"} & names

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
    async with engine.begin() as conn:
        owners = await conn.execute(sa.select(_FILES.c.user_id).where(_FILES.c.user_id.is_(None)))
    assert owners.all() == []
