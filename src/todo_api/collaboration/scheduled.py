"""The background work of comments (see todo_api.kit.jobs): their tombstones pruned once the
change feed's retention has passed (a sync token that old is refused)."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.collaboration import activity
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.comments import comment_tombstones

log = logging.getLogger("todo_api")

schedule = Schedule()


async def prune_tombstones(db: Database, settings: Settings) -> int:
    """Delete the tombstones of comments past the feed's retention; return how many."""
    cutoff = utcnow() - timedelta(days=settings.sync_retention_days)
    async with db.connection() as conn:
        gone = await conn.execute(
            delete(comment_tombstones).where(comment_tombstones.c.deleted_at < cutoff)
        )
    return gone.rowcount


@schedule.job(
    "collaboration.housekeeping", every=lambda settings: settings.maintenance_interval_seconds
)
async def housekeeping(db: Database, settings: Settings) -> None:
    if gone := await prune_tombstones(db, settings):
        log.info("pruned %d comment tombstones", gone)
    if gone := await activity.prune(db, settings):
        log.info("pruned %d activity items past their retention", gone)
