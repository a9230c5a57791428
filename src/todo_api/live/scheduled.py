"""Live updates' background work (see todo_api.kit.jobs): expired tickets are deleted."""

import logging

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.live import event_tickets

log = logging.getLogger("todo_api")

schedule = Schedule()


@schedule.job("live.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    async with db.connection() as conn:
        gone = await conn.execute(
            delete(event_tickets).where(event_tickets.c.expires_at <= utcnow())
        )
    if gone.rowcount:
        log.info("pruned %d expired event tickets", gone.rowcount)
