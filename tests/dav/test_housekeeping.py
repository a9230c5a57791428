"""CalDAV's housekeeping forgets what clients gave for a task once the change feed has
forgotten the task (its tombstone pruned), and the names of lists that are gone; nothing else."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.dav.helpers import DavUser, dav_user, vtodo
from tests.tasks.feed_helpers import database
from todo_api.config import Settings
from todo_api.dav import scheduled as dav_scheduled
from todo_api.kit.ids import utcnow
from todo_api.tables.dav import dav_collections, dav_objects
from todo_api.tables.tasks import tombstones
from todo_api.tasks import scheduled as tasks_scheduled


@pytest.fixture
async def ada(app: FastAPI, settings: Settings) -> AsyncIterator[DavUser]:
    async with dav_user(app, settings) as user:
        yield user


async def kept_names(settings: Settings) -> set[str]:
    async with database(settings) as db, db.connection() as conn:
        rows = await conn.execute(select(dav_objects.c.name))
        return {row.name for row in rows}


async def test_objects_are_forgotten_with_the_feeds_memory_of_their_task(
    ada: DavUser, settings: Settings
) -> None:
    await ada.dav.put(f"{ada.home}inbox/stays.ics", content=vtodo("stays", "Stays"))
    await ada.dav.put(f"{ada.home}inbox/goes.ics", content=vtodo("goes", "Goes"))
    await ada.dav.request("MKCALENDAR", f"{ada.home}short-lived/")
    assert (await ada.dav.delete(f"{ada.home}short-lived/")).status_code == 204
    assert (await ada.dav.delete(f"{ada.home}inbox/goes.ics")).status_code == 204
    async with database(settings) as db:
        await dav_scheduled.prune(db)
    assert {"stays.ics", "goes.ics"} <= await kept_names(settings)  # the feed still names it
    async with database(settings) as db:
        async with db.transaction() as conn:
            gone = select(dav_objects.c.task_id).where(dav_objects.c.name == "goes.ics")
            await conn.execute(
                update(tombstones)
                .where(tombstones.c.task_id.in_(gone))
                .values(deleted_at=utcnow() - timedelta(days=settings.sync_retention_days + 1))
            )
        await tasks_scheduled.prune(db, settings)
        await dav_scheduled.prune(db)
        async with db.connection() as conn:
            names = {row.name for row in await conn.execute(select(dav_collections.c.name))}
    kept = await kept_names(settings)
    assert "stays.ics" in kept
    assert "goes.ics" not in kept
    assert "short-lived" not in names


async def test_a_deleted_tasks_comments_are_kept_for_the_move_window_only(
    ada: DavUser, settings: Settings
) -> None:
    """What a client's move would bring back of a task it deleted (its comments among it) is
    kept while the move may come, then forgotten; its object's name stays for the feed."""
    await ada.dav.put(f"{ada.home}inbox/said.ics", content=vtodo("said", "Said"))
    [task] = (await ada.api.get("/api/tasks")).json()
    made = await ada.api.post(f"/api/tasks/{task['id']}/comments", json={"body": "A secret"})
    assert made.status_code == 201, made.text
    assert (await ada.dav.delete(f"{ada.home}inbox/said.ics")).status_code == 204
    note = select(dav_objects.c.deleted_task).where(dav_objects.c.name == "said.ics")
    async with database(settings) as db:
        await dav_scheduled.prune(db)
        async with db.connection() as conn:
            [kept] = (await conn.execute(note)).rows
        assert [c["body"] for c in kept.deleted_task["comments"]] == ["A secret"]
        async with db.transaction() as conn:
            await conn.execute(
                update(dav_objects)
                .where(dav_objects.c.name == "said.ics")
                .values(deleted_at=utcnow() - timedelta(minutes=11))
            )
        await dav_scheduled.prune(db)
        async with db.connection() as conn:
            [forgotten] = (await conn.execute(note)).rows
    assert forgotten.deleted_task is None
    assert "said.ics" in await kept_names(settings)
    # Put back now, it is a new task.
    again = await ada.dav.put(f"{ada.home}inbox/said.ics", content=vtodo("said", "Said"))
    assert again.status_code == 201, again.text
    [new] = (await ada.api.get("/api/tasks")).json()
    assert (new["id"] != task["id"], new["comment_count"]) == (True, 0)
