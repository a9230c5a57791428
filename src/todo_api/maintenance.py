"""Housekeeping that runs beside the service: expired idempotency keys, old tombstones."""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database, DatabaseFailure
from todo_api.idempotency import idempotency_keys
from todo_api.ids import utcnow
from todo_api.lists.models import list_tombstones
from todo_api.tasks.models import tombstones

log = logging.getLogger("todo_api")


async def prune(db: Database, settings: Settings) -> tuple[int, int]:
    """Delete expired idempotency keys and tombstones (of tasks and of lists) past the
    retention; return the counts."""
    now = utcnow()
    async with db.transaction() as conn:
        keys = await conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.expires_at <= now)
        )
        cutoff = now - timedelta(days=settings.sync_retention_days)
        gone = 0
        for table in (tombstones, list_tombstones):
            result = await conn.execute(delete(table).where(table.c.deleted_at < cutoff))
            gone += result.rowcount
    return keys.rowcount, gone


async def run_periodically(db: Database, settings: Settings) -> None:
    while True:
        try:
            keys, gone = await prune(db, settings)
        except DatabaseFailure as exc:
            log.warning("housekeeping failed, will try again: %s", exc)
        else:
            if keys or gone:
                log.info("pruned %d expired idempotency keys and %d tombstones", keys, gone)
        await asyncio.sleep(settings.maintenance_interval_seconds)
