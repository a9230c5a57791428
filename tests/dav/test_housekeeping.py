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
