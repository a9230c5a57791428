"""Migration 0038 on items written before it: they stay; the foreign keys of `activity` give
way to triggers that still delete a deleted list's and a deleted user's items; downgrading
gives the foreign keys and the old indexes back."""

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from todo_api.kit.ids import utcnow
from todo_api.migrations import alembic_config
from todo_api.tables.activity import activity
from todo_api.tables.lists import lists
from todo_api.tables.users import users

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)


def _downgrade(conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.downgrade(config, revision)


def _shape(conn: sa.Connection) -> tuple[set[str], set[str]]:
    """The foreign keys' referred tables and the index names of `activity`."""
    inspector = sa.inspect(conn)
    keys = {key["referred_table"] for key in inspector.get_foreign_keys("activity")}
    return keys, {str(index["name"]) for index in inspector.get_indexes("activity")}


async def test_items_stay_and_still_go_with_their_list_or_user(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0037")
    now = utcnow()
    owner, leaving, list_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def item(list_id: uuid.UUID | None, owner_id: uuid.UUID | None) -> dict[str, object]:
        return {
            "id": uuid.uuid4(),
            "at": now,
            "list_id": list_id,
            "owner_id": owner_id,
            "task_id": uuid.uuid4(),
            "actor_id": owner_id,
            "action": "task.created",
            "changes": None,
        }

    async with engine.begin() as conn:
        for user in (owner, leaving):
            await conn.execute(users.insert().values(id=user, created_at=now, updated_at=now))
        await conn.execute(
            lists.insert().values(
                id=list_id, user_id=owner, name="L", name_key="l", created_at=now, updated_at=now
            )
        )
        items = [item(list_id, None), item(None, owner), item(None, leaving)]
        await conn.execute(activity.insert(), items)
        assert await conn.run_sync(_shape) == (
            {"lists", "users"},
            {
                "ix_activity_list_id_seq",
                "ix_activity_owner_id_seq",
                "ix_activity_task_id_seq",
                "ix_activity_at",
                "ix_activity_txid_seq",
            },
        )
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0038")
    async with engine.begin() as conn:
        assert await conn.run_sync(_shape) == (
            set(),
            {
                "ix_activity_list_seq",
                "ix_activity_owner_seq",
                "ix_activity_task_id_seq",
                "ix_activity_at",
                "ix_activity_txid_seq",
            },
        )
        kept = await conn.execute(select(activity.c.id).order_by(activity.c.seq))
        assert list(kept.scalars()) == [i["id"] for i in items]
        await conn.execute(sa.delete(lists).where(lists.c.id == list_id))
        await conn.execute(sa.delete(users).where(users.c.id == leaving))
        left = await conn.execute(select(activity.c.id))
        assert list(left.scalars()) == [items[1]["id"]]
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, "0037")
    async with engine.begin() as conn:
        keys, indexes = await conn.run_sync(_shape)
        assert keys == {"lists", "users"}
        assert {"ix_activity_list_id_seq", "ix_activity_owner_id_seq"} <= indexes
        assert not {"ix_activity_list_seq", "ix_activity_owner_seq"} & indexes
        await conn.execute(sa.delete(users).where(users.c.id == owner))  # by the foreign key
        assert list((await conn.execute(select(activity.c.id))).scalars()) == []
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        assert (await conn.run_sync(_shape))[0] == set()
