"""The tasks' background work (see todo_api.kit.jobs)."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.tasks import departures, tombstones

log = logging.getLogger("todo_api")

schedule = Schedule()


async def prune(db: Database, settings: Settings) -> tuple[int, int]:
    """Delete expired idempotency keys, and the tombstones of tasks and the records of tasks
    that left a list past the retention (a sync token that old is refused); return how many
    keys and how many records."""
    now = utcnow()
    async with db.transaction() as conn:
        keys = await conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
        )
        cutoff = now - timedelta(days=settings.sync_retention_days)
        gone = await conn.execute(delete(tombstones).where(tombstones.c.deleted_at < cutoff))
        left = await conn.execute(delete(departures).where(departures.c.deleted_at < cutoff))
    return keys.rowcount, gone.rowcount + left.rowcount


@schedule.job("tasks.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    pruned = await prune(db, settings)
    if any(pruned):
        log.info("pruned %d expired idempotency keys and %d task deletions and departures", *pruned)
