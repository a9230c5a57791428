"""The background work of attachments (see todo_api.kit.jobs): the sweep that keeps the storage
and the rows in step after a crash.

Bytes are stored before their row and removed after it, so a crash leaves at worst bytes that
no row names (an upload cut short after storing, a deletion cut short before removing): the
sweep removes those once they are a day old (a younger one may be an upload whose row is being
written), except those a task a calendar app deleted keeps for its move (its note in
`dav_objects` names them for the move window) and those a deleted task keeps for `restore`
(`deleted_tasks`, todo_api.tasks.trash). The sweep forgets the deleted tasks whose grace is
over and removes their files' bytes at once, not a day later. A row whose bytes are gone (a
storage restored from an older backup) is deleted, each checked once more on its own first,
so that a listing that comes back empty by mistake deletes nothing. Spool files that a crash
left mid-upload go after a day too. The tombstones of deleted files go once the change feed's
retention has passed (a sync token that old is refused)."""

import logging
from datetime import datetime, timedelta

import anyio
from sqlalchemy import bindparam, delete, select

from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row
from todo_api.files.storage import Storage, remove_stale_spools, storage_for
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.attachments import attachment_tombstones, attachments
from todo_api.tables.dav import dav_objects
from todo_api.tables.deleted_tasks import deleted_tasks

log = logging.getLogger("todo_api")

schedule = Schedule()
KEPT_WITHOUT_A_ROW = timedelta(days=1)
GRACE = timedelta(seconds=Settings.model_fields["deleted_task_grace_seconds"].default)


async def sweep(
    db: Database, storage: Storage, *, now: datetime | None = None, grace: timedelta = GRACE
) -> tuple[int, int]:
    """Forget the deleted tasks kept longer than `grace` with their files' bytes; remove the
    bytes no row (nor note, nor kept task) names, older than a day at `now`, and the rows whose
    bytes are gone; returns how many bytes and rows."""
    listed_at = utcnow()
    now = now or listed_at
    removed = await _forget_deleted_tasks(db, storage, now - grace)
    stored = {key: written async for key, written in storage.listing()}
    statement = select(attachments.c.id, attachments.c.storage_key, attachments.c.created_at)
    async with db.connection() as conn:
        # The notes before and after the rows: a file that goes from its row to a note (a
        # calendar app's DELETE, a task's deletion) or back (its move's PUT, a restore), each
        # in one transaction, is seen.
        held = await _held_by_notes(conn)
        rows = (await conn.execute(statement)).rows
        held |= await _held_by_notes(conn)
    named = {row.storage_key for row in rows} | held
    for key, written in stored.items():
        if key not in named and written < now - KEPT_WITHOUT_A_ROW:
            await storage.delete(key)
            removed += 1
    lost = [
        row.id
        for row in rows
        if row.storage_key not in stored
        and row.created_at < listed_at
        and not await storage.exists(row.storage_key)
    ]
    if lost:
        async with db.connection() as conn:
            await conn.execute(delete(attachments).where(attachments.c.id.in_(lost)))
    return removed, len(lost)


# A task a calendar app deleted keeps its files in its note for the move window (see
# todo_api.dav.objects `_snapshot`), so that the move's PUT puts them back with their bytes:
# the keys a note names count as named until the note forgets them (todo_api.dav.scheduled).
_NOTES = select(dav_objects.c.deleted_task).where(dav_objects.c.deleted_task.is_not(None))


# A deleted task keeps its files' rows for `restore` (todo_api.tasks.trash) for its grace.
_KEPT = Query(select(deleted_tasks.c.kept))
_EXPIRED = Query(
    delete(deleted_tasks)
    .where(deleted_tasks.c.deleted_at < bindparam("cutoff"))
    .returning(deleted_tasks.c.kept)
)
_NAMED = Query(
    select(attachments.c.storage_key).where(attachments.c.storage_key == bindparam("key"))
)


async def _held_by_notes(conn: Connection) -> set[str]:
    notes = (await conn.execute(_NOTES)).rows
    # A note with nothing kept holds JSON's null (a move's note of the object it moved away).
    kept = (note.deleted_task or {} for note in notes)
    held = {file["storage_key"] for note in kept for file in note.get("files", [])}
    return held | _keys((await conn.execute(_KEPT)).rows)


def _keys(kept: list[Row]) -> set[str]:
    return {file["storage_key"] for row in kept for file in row.kept.get("attachments", [])}


async def _forget_deleted_tasks(db: Database, storage: Storage, cutoff: datetime) -> int:
    """Forget the tasks deleted before `cutoff` and remove their files' bytes at once (those a
    row names again aside: a task a calendar app's move made again); returns how many bytes.
    A crash between the two leaves bytes no row names, which go a day later."""
    async with db.transaction() as conn:
        expired = await conn.execute(_EXPIRED, {"cutoff": cutoff})
        keys = _keys(expired.rows)
        if keys:
            keys -= await _held_by_notes(conn)
            keys = {k for k in keys if not (await conn.execute(_NAMED, {"key": k})).first()}
    for key in keys:
        await storage.delete(key)
    return len(keys)


async def sweep_spools(storage: Storage, *, now: datetime | None = None) -> int:
    """Remove the spool files of uploads a crash cut short (a day old at `now`)."""
    cutoff = ((now or utcnow()) - KEPT_WITHOUT_A_ROW).timestamp()
    return await anyio.to_thread.run_sync(remove_stale_spools, storage.spool_dir, cutoff)


async def prune_tombstones(db: Database, settings: Settings) -> int:
    """Delete the tombstones of files past the feed's retention; return how many."""
    cutoff = utcnow() - timedelta(days=settings.sync_retention_days)
    async with db.connection() as conn:
        gone = await conn.execute(
            delete(attachment_tombstones).where(attachment_tombstones.c.deleted_at < cutoff)
        )
    return gone.rowcount


@schedule.job("files.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    if gone := await prune_tombstones(db, settings):
        log.info("pruned %d attachment tombstones", gone)


@schedule.job("files.sweep", every=lambda settings: settings.maintenance_interval_seconds)
async def sweep_storage(db: Database, settings: Settings) -> None:
    storage = storage_for(settings)
    try:
        grace = timedelta(seconds=settings.deleted_task_grace_seconds)
        removed, lost = await sweep(db, storage, grace=grace)
    finally:
        await storage.close()
    if removed:
        log.info("removed the bytes of %d attachments that no row names", removed)
    if lost:
        log.warning("deleted %d attachments whose bytes were gone", lost)


# Spool files are on each machine's own disk (with S3): every process sweeps its own.
@schedule.job(
    "files.spools", every=lambda settings: settings.maintenance_interval_seconds, singleton=False
)
async def sweep_spool_files(db: Database, settings: Settings) -> None:
    storage = storage_for(settings)
    try:
        if removed := await sweep_spools(storage):
            log.info("removed %d spool files of uploads cut short", removed)
    finally:
        await storage.close()
