"""Housekeeping that runs beside the service: expired idempotency keys, old tombstones.

Every worker of every instance runs the loop; on PostgreSQL a transaction-scoped advisory
lock lets one of them at a time do the work (the others find it taken and skip that round).
A transaction-scoped lock also holds behind a pooler in transaction mode.
"""

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select

from todo_api.config import Settings
from todo_api.db import Database, DatabaseFailure, Query
from todo_api.kit.ids import utcnow
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.lists import list_tombstones
from todo_api.tables.tasks import tombstones

log = logging.getLogger("todo_api")

# Any fixed number other than the migrations' (todo_api.migrations.MIGRATION_LOCK_KEY).
HOUSEKEEPING_LOCK_KEY = 7_164_120_312
_TRY_LOCK = Query(select(func.pg_try_advisory_xact_lock(bindparam("key"))))


async def prune(db: Database, settings: Settings) -> tuple[int, int] | None:
    """Delete expired idempotency keys and tombstones (of tasks and of lists) past the
    retention; return the counts, or None when another worker or instance is pruning right
    now."""
    now = utcnow()
    async with db.transaction() as conn:
        if conn.name == "postgresql":
            locked = await conn.execute(_TRY_LOCK, {"key": HOUSEKEEPING_LOCK_KEY})
            if not locked.scalar():
                return None
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
            pruned = await prune(db, settings)
        except DatabaseFailure as exc:
            log.warning("housekeeping failed, will try again: %s", exc)
        else:
            if pruned is not None and any(pruned):
                log.info("pruned %d expired idempotency keys and %d tombstones", *pruned)
        await asyncio.sleep(settings.maintenance_interval_seconds)
