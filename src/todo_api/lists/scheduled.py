"""The lists' background work (see todo_api.kit.jobs)."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.lists import list_invitations, list_tombstones, member_tombstones
from todo_api.tables.sections import section_tombstones

log = logging.getLogger("todo_api")

schedule = Schedule()


async def prune_tombstones(db: Database, settings: Settings) -> int:
    """Delete the tombstones of lists, of memberships and of sections past the retention;
    return how many."""
    cutoff = utcnow() - timedelta(days=settings.sync_retention_days)
    async with db.connection() as conn:
        lists_gone = await conn.execute(
            delete(list_tombstones).where(list_tombstones.c.deleted_at < cutoff)
        )
        members_gone = await conn.execute(
            delete(member_tombstones).where(member_tombstones.c.deleted_at < cutoff)
        )
        sections_gone = await conn.execute(
            delete(section_tombstones).where(section_tombstones.c.deleted_at < cutoff)
        )
    return lists_gone.rowcount + members_gone.rowcount + sections_gone.rowcount


async def prune_invitations(db: Database) -> int:
    """Delete the invitation links that have expired (no one can use or see them); return how
    many."""
    async with db.connection() as conn:
        expired = list_invitations.c.expires_at <= utcnow()
        return (await conn.execute(delete(list_invitations).where(expired))).rowcount


@schedule.job("lists.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    if gone := await prune_tombstones(db, settings):
        log.info("pruned %d list, membership and section tombstones", gone)
    if gone := await prune_invitations(db):
        log.info("pruned %d expired invitation links", gone)
