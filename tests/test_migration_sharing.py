"""Migration 0011 on rows written before it: every list becomes its owner's, in the place it had,
with no other member; every task keeps its user and gains `created_by`; nothing moves in the
change feed."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from todo_api.db import UTCDateTime
from todo_api.kit.ids import utcnow
from todo_api.tables.lists import list_members
from todo_api.tables.users import users

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

# The tables as migration 0010 leaves them.
LISTS = sa.table(
    "lists",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("name_key", sa.String()),
    sa.column("position", sa.BigInteger()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
TASKS = sa.table(
    "tasks",
    sa.column("id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("list_id", sa.Uuid()),
    sa.column("title", sa.String()),
    sa.column("title_key", sa.String()),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
    sa.column("change_seq", sa.BigInteger()),
)


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
async def test_lists_become_their_owners_and_tasks_gain_their_creator(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0010")
    now = utcnow()
    alice, bob = uuid.uuid4(), uuid.uuid4()
    first, second, bobs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Each list: its owner and position; each task: its user and list.
    lists = {first: (alice, 2 * 2**20), second: (alice, 2**20), bobs: (bob, 5)}
    task_ids = {uuid.uuid4(): (alice, None), uuid.uuid4(): (alice, second)}
    task_ids[uuid.uuid4()] = (bob, bobs)
    async with engine.begin() as conn:
        for user in (alice, bob):
            await conn.execute(users.insert().values(id=user, created_at=now, updated_at=now))
        for n, (list_id, (owner, position)) in enumerate(lists.items()):
            await conn.execute(
                LISTS.insert().values(
                    id=list_id,
                    user_id=owner,
                    name=f"List {n}",
                    name_key=f"list {n}",
                    position=position,
                    created_at=now + timedelta(seconds=n),
                    updated_at=now,
                )
            )
        for task_id, (owner, list_id) in task_ids.items():
            await conn.execute(
                TASKS.insert().values(
                    id=task_id,
                    user_id=owner,
                    list_id=list_id,
                    title="A task",
                    title_key="a task",
                    created_at=now,
                    updated_at=now,
                )
            )
        stamps_before = dict((await conn.execute(select(TASKS.c.id, TASKS.c.change_seq))).all())

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0011")

    async with engine.connect() as conn:
        members = (
            await conn.execute(
                select(
                    list_members.c.list_id,
                    list_members.c.user_id,
                    list_members.c.role,
                    list_members.c.position,
                    list_members.c.change_seq,
                )
            )
        ).all()
        tasks_after = (
            await conn.execute(sa.text("SELECT id, user_id, created_by, change_seq FROM tasks"))
        ).all()
    assert sorted((m.list_id, m.user_id, m.role, m.position) for m in members) == sorted(
        (list_id, owner, "owner", position) for list_id, (owner, position) in lists.items()
    )
    assert {m.change_seq for m in members} == {0}  # no list comes again in a feed
    for row in tasks_after:
        task_id = uuid.UUID(str(row.id)) if not isinstance(row.id, uuid.UUID) else row.id
        owner = task_ids[task_id][0]
        assert str(row.user_id).replace("-", "") == owner.hex
        assert str(row.created_by).replace("-", "") == owner.hex
        assert row.change_seq == stamps_before[task_id]
