"""The background work of tasks by email (see todo_api.kit.jobs)."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.inbound import inbound_messages

log = logging.getLogger("todo_api")

schedule = Schedule()

# How long a message's Message-ID is remembered (the same message later makes a task again).
KEPT_DAYS = 30


async def prune_messages(db: Database) -> int:
    """Forget the messages taken more than KEPT_DAYS ago; return how many."""
    cutoff = utcnow() - timedelta(days=KEPT_DAYS)
    async with db.connection() as conn:
        old = inbound_messages.c.received_at < cutoff
        return (await conn.execute(delete(inbound_messages).where(old))).rowcount


@schedule.job("inbound.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, _settings: Settings) -> None:
    if gone := await prune_messages(db):
        log.info("forgot %d messages taken by email more than %d days ago", gone, KEPT_DAYS)
