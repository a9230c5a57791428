"""The webhooks' background work (see todo_api.kit.jobs): sending due deliveries in every
process (each claimed by one worker at a time), and pruning old ones once across all."""

import logging
from datetime import timedelta

from sqlalchemy import delete, select

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.events import DELIVERY_JOB
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.tables.webhooks import webhook_deliveries, webhooks
from todo_api.webhooks.delivery import TURN_MARGIN_SECONDS, deliver_due

log = logging.getLogger("todo_api")

schedule = Schedule()


@schedule.job(
    DELIVERY_JOB,
    # A poll: a write that adds deliveries wakes this process's turn at once (kit.jobs.wake);
    # other processes' deliveries, retries coming due and a crashed process's leftovers are
    # found by the next poll.
    every=lambda settings: settings.webhook_poll_seconds,
    singleton=False,
    # A turn claims and starts attempts, which run on after it (each within the timeout, its
    # outcome written before the claim's lease runs out: delivery.lease); the turn itself is
    # short, this bounds it should the database be slow.
    limit=lambda settings: settings.webhook_timeout_seconds + TURN_MARGIN_SECONDS,
)
async def deliver(db: Database, settings: Settings) -> None:
    await deliver_due(db, settings)


@schedule.job("webhooks.housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    """Deliveries made more than WEBHOOK_RETENTION_DAYS ago that ended (succeeded or
    failed), or wait for a webhook that is disabled (a receiver gone for good)."""
    cutoff = utcnow() - timedelta(days=settings.webhook_retention_days)
    disabled = select(webhooks.c.id).where(webhooks.c.active.is_(False))
    async with db.connection() as conn:
        gone = await conn.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.created_at < cutoff,
                webhook_deliveries.c.next_attempt_at.is_(None)
                | webhook_deliveries.c.webhook_id.in_(disabled),
            )
        )
    if gone.rowcount:
        log.info("pruned %d old webhook deliveries", gone.rowcount)
