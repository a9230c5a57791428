"""CalDAV's background work (see todo_api.kit.jobs): forgetting what clients gave for tasks and
lists that are gone.

A deleted task's row in `dav_objects` names its object in sync answers (a 404 by the name the
client knows) for as long as the change feed remembers the deletion: it goes once the task's
tombstone has been pruned (tasks.housekeeping), when no sync token can ask for it any more;
what a move would have brought back of it (its comments and files among it; the storage's
sweep keeps the files' bytes while a note names them) goes after the move window.
A note of an object a client moved away by a PUT elsewhere goes after the move window too."""

import logging

from sqlalchemy import bindparam, delete, exists, null, or_, update

from todo_api.config import Settings
from todo_api.dav import store
from todo_api.db import Database, Query
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.dav import dav_collections, dav_objects
from todo_api.tables.lists import lists
from todo_api.tables.tasks import tasks, tombstones

log = logging.getLogger("todo_api")

schedule = Schedule()

_FORGET_OBJECTS = Query(
    delete(dav_objects).where(
        ~exists().where(tasks.c.id == dav_objects.c.task_id),
        ~exists().where(tombstones.c.task_id == dav_objects.c.task_id),
        # A move's note of the object it moved away (no task of its own) waits out the window.
        or_(dav_objects.c.uid != "", dav_objects.c.deleted_at < bindparam("cutoff")),
    )
)
# A deleted task's note keeps what a move brings back (its comments and files) for the move
# window only. SQL's NULL, not JSON's null: the storage's sweep reads the notes that are left.
_FORGET_SNAPSHOTS = Query(
    update(dav_objects)
    .where(
        dav_objects.c.uid != "",
        dav_objects.c.deleted_task.is_not(None),
        dav_objects.c.deleted_at < bindparam("cutoff"),
    )
    .values(deleted_task=null())
)
_FORGET_COLLECTIONS = Query(
    delete(dav_collections).where(~exists().where(lists.c.id == dav_collections.c.list_id))
)


async def prune(db: Database) -> tuple[int, int]:
    """Forget the objects of tasks gone past the feed's memory and the names of lists gone;
    return how many of each."""
    async with db.transaction() as conn:
        cutoff = utcnow() - store.MOVE_WINDOW
        objects = await conn.execute(_FORGET_OBJECTS, {"cutoff": cutoff})
        await conn.execute(_FORGET_SNAPSHOTS, {"cutoff": cutoff})
        collections = await conn.execute(_FORGET_COLLECTIONS)
    return objects.rowcount, collections.rowcount


@schedule.job("dav.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    pruned = await prune(db)
    if any(pruned):
        log.info("forgot %d calendar objects and %d calendar names of things gone", *pruned)
