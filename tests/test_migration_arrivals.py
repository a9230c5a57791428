"""Migration 0020 on rows written before it: tasks keep their place in the change feed and
arrive at (0, 0), before every membership, so a member who loses the list is told of them as
before; tasks made after it are told only to those who were members then. Downgrading gives
back the triggers of 0019, and writes still work."""

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.lists.sharing import remove, share
from tests.lists.test_shared_feed import follow, gathered
from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.helpers import create_task, user_id_of
from tests.test_migration_task_counts import insert_task, insert_user_and_list
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migration_timezones import _downgrade
from todo_api.kit.ids import utcnow
from todo_api.tables.tasks import departures, tasks, tombstones

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)


async def test_existing_tasks_keep_their_stamps_and_are_taken_from_an_ex_member(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0019")
    now, alice, groceries = utcnow(), uuid.uuid4(), uuid.uuid4()
    old = [uuid.uuid4(), uuid.uuid4()]
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, groceries, now)
        for n, task_id in enumerate(old):
            await insert_task(conn, alice, f"Task {n}", id=task_id, list_id=groceries)
    feed_place = select(tasks.c.id, tasks.c.change_txid, tasks.c.change_seq).order_by(tasks.c.id)
    async with engine.connect() as conn:
        before = (await conn.execute(feed_place)).all()
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        assert (await conn.execute(feed_place)).all() == before
        arrivals = select(tasks.c.arrived_txid, tasks.c.arrived_seq).distinct()
        assert (await conn.execute(arrivals)).all() == [(0, 0)]

    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as owner,
        client_for(app, token_for(settings, subject=str(uuid.uuid4()))) as member,
    ):
        await share(owner, member, str(groceries), "viewer")
        known = [str(task_id) for task_id in old]
        _, member_token = await follow(member, None, wait_for=[str(groceries), *known])
        await remove(owner, str(groceries), str(await user_id_of(member)))
        await create_task(owner, title="After", list_id=str(groceries))
        pages, _ = await follow(member, member_token, wait_for=[str(groceries)])
        assert gathered(pages, "deleted_lists") == [str(groceries)]
        assert sorted(gathered(pages, "deleted")) == sorted(known)


async def test_downgrading_gives_back_the_triggers_before_it(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "head")
        await conn.run_sync(_downgrade, "0019")
        columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("tasks"))
        assert not {"arrived_txid", "arrived_seq"} & {column["name"] for column in columns}
    alice, groceries = uuid.uuid4(), uuid.uuid4()
    # Creating, moving and deleting a task still stamp it and leave what they left before.
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, groceries, utcnow())
        task_id = await insert_task(conn, alice, "t", list_id=groceries)
        await conn.execute(tasks.update().where(tasks.c.id == task_id).values(list_id=None))
        await conn.execute(tasks.delete().where(tasks.c.id == task_id))
    async with engine.begin() as conn:
        left = select(departures.c.task_id).union_all(select(tombstones.c.task_id))
        assert (await conn.execute(left)).scalars().all() == [task_id, task_id]
        await conn.run_sync(_upgrade, "head")
