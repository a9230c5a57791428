"""The notifications' background work (see todo_api.kit.jobs): making them from the activity
(one worker of all instances at a time), sending their emails (claimed row by row, as
reminder emails are), and pruning them with the activity's retention."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit import mail as kit_mail
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.notifications import mail, making
from todo_api.tables.notifications import notification_emails, notifications

log = logging.getLogger("todo_api")

schedule = Schedule()


# A batch of activity (making.BATCH items) may take longer to make than the short poll on a
# busy database: its turn may last this long (one worker at a time all the same), rather than
# being cancelled and tried again every poll.
BATCH_TURN_SECONDS = 60.0


@schedule.job(
    "notifications.make",
    every=lambda settings: settings.notification_poll_seconds,
    limit=lambda _settings: BATCH_TURN_SECONDS,
)
async def make(db: Database, settings: Settings) -> float | None:
    read = await making.make(db, settings)
    return 0.0 if read >= making.BATCH else None


@schedule.job(
    "notifications.email",
    every=lambda settings: settings.notification_poll_seconds,
    singleton=False,
    limit=lambda settings: settings.smtp_timeout_seconds + kit_mail.TURN_MARGIN_SECONDS,
)
async def email(db: Database, settings: Settings) -> float | None:
    return await mail.send_due(db, settings)


async def prune(db: Database, settings: Settings) -> int:
    """Delete the notifications older than ACTIVITY_RETENTION_DAYS (the activity they were
    made of is gone by then), and the emails done with as long ago; return how many
    notifications."""
    cutoff = utcnow() - timedelta(days=settings.activity_retention_days)
    emails = notification_emails.c
    async with db.transaction() as conn:
        gone = await conn.execute(delete(notifications).where(notifications.c.at < cutoff))
        await conn.execute(
            delete(notification_emails).where(
                emails.status != making.PENDING, emails.created_at < cutoff
            )
        )
    return gone.rowcount


@schedule.job(
    "notifications.housekeeping", every=lambda settings: settings.maintenance_interval_seconds
)
async def housekeeping(db: Database, settings: Settings) -> None:
    if gone := await prune(db, settings):
        log.info("pruned %d notifications past the activity's retention", gone)
