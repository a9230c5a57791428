"""The tasks' background work (see todo_api.kit.jobs)."""

import logging
import uuid
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select, update

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.tasks import departures, task_counts, tombstones

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


# The rows of counts a turn folds at the most (a few per scope that ever had writes commit at
# the same moment, so seldom more than a handful).
FOLD_BATCH = 1000
_counts = task_counts.c
# The rows of the scopes that have more than one (migration 0019), those no write holds: one
# that a commit holds is skipped, never waited for.
_SLOTS_TO_FOLD = Query(
    select(_counts.scope_id, _counts.slot, _counts.open_count, _counts.done_count)
    .where(
        _counts.scope_id.in_(
            select(_counts.scope_id).group_by(_counts.scope_id).having(func.count() > 1)
        )
    )
    .order_by(_counts.scope_id, _counts.slot)
    .limit(FOLD_BATCH)
    .with_for_update(skip_locked=True)
)
_in_slot = (_counts.scope_id == bindparam("scope_id")) & (_counts.slot == bindparam("slot"))
_SET_SLOT = Query(
    update(task_counts)
    .where(_in_slot)
    .values(open_count=bindparam("open_count"), done_count=bindparam("done_count"))
)
_DELETE_SLOT = Query(delete(task_counts).where(_in_slot))


async def fold_counts(db: Database) -> int:
    """Fold each scope's rows of counts into its first one that no write holds (PostgreSQL; on
    SQLite a scope has one row); return how many rows went. Without it a scope keeps as many
    rows as writes ever committed to it at once, and every total reads them all."""
    if db.name != "postgresql":
        return 0
    folded = 0
    async with db.transaction() as conn:
        by_scope: dict[uuid.UUID, list[Row]] = {}
        for row in await conn.execute(_SLOTS_TO_FOLD):
            by_scope.setdefault(row["scope_id"], []).append(row)
        for scope, rows in by_scope.items():
            if len(rows) < 2:
                continue
            first, rest = rows[0], rows[1:]
            totals = {key: sum(row[key] for row in rows) for key in ("open_count", "done_count")}
            await conn.execute(_SET_SLOT, {"scope_id": scope, "slot": first["slot"], **totals})
            for row in rest:
                await conn.execute(_DELETE_SLOT, {"scope_id": scope, "slot": row["slot"]})
            folded += len(rest)
    return folded


@schedule.job("tasks.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    pruned = await prune(db, settings)
    if any(pruned):
        log.info("pruned %d expired idempotency keys and %d task deletions and departures", *pruned)
    folded = await fold_counts(db)
    if folded:
        log.info("folded %d rows of task counts", folded)
