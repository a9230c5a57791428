"""The reminders' background work (see todo_api.kit.jobs), in every process: firing what is
due, sending emails and Web Push messages, each sleeping until its next due time; and, once
across all, pruning what streams have had and emails and push messages that ended long ago."""

import logging
from datetime import timedelta

from sqlalchemy import delete

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit import mail as kit_mail
from todo_api.kit.ids import utcnow
from todo_api.kit.jobs import Schedule
from todo_api.kit.reminders import FIRE_JOB
from todo_api.push import sending
from todo_api.reminders import firing, mail
from todo_api.tables.push import push_messages
from todo_api.tables.reminders import reminder_emails, reminder_events

log = logging.getLogger("todo_api")

schedule = Schedule()

# A stream message is read within a second or two by every process that has streams.
EVENTS_KEPT = timedelta(minutes=10)
EMAILS_KEPT = timedelta(days=30)
FIRE_TURN_SECONDS = 30
PUSH_TURN_MARGIN_SECONDS = 5


@schedule.job(
    FIRE_JOB,
    # The longest sleep with nothing due; a turn returns how long until the next due time.
    every=lambda settings: settings.reminder_sleep_seconds,
    singleton=False,
    limit=lambda _settings: FIRE_TURN_SECONDS,
)
async def fire(db: Database, settings: Settings) -> float:
    return await firing.fire_due(db, settings)


@schedule.job(
    mail.EMAIL_JOB,
    every=lambda settings: settings.reminder_sleep_seconds,
    singleton=False,
    limit=lambda settings: settings.smtp_timeout_seconds + kit_mail.TURN_MARGIN_SECONDS,
)
async def send_emails(db: Database, settings: Settings) -> float | None:
    return await mail.send_due(db, settings)


@schedule.job(
    sending.PUSH_JOB,
    every=lambda settings: settings.reminder_sleep_seconds,
    singleton=False,
    limit=lambda _settings: sending.TIMEOUT_SECONDS + PUSH_TURN_MARGIN_SECONDS,
)
async def send_pushes(db: Database, settings: Settings) -> float | None:
    return await sending.send_due(db, settings)


@schedule.job("reminders.housekeeping", every=lambda s: s.maintenance_interval_seconds)
async def housekeeping(db: Database, settings: Settings) -> None:
    now = utcnow()
    async with db.connection() as conn:
        events = await conn.execute(
            delete(reminder_events).where(reminder_events.c.created_at < now - EVENTS_KEPT)
        )
        emails = await conn.execute(
            delete(reminder_emails).where(
                reminder_emails.c.created_at < now - EMAILS_KEPT,
                reminder_emails.c.next_attempt_at.is_(None),
            )
        )
        pushes = await conn.execute(
            delete(push_messages).where(
                push_messages.c.created_at < now - EMAILS_KEPT,
                push_messages.c.next_attempt_at.is_(None),
            )
        )
    if events.rowcount or emails.rowcount or pushes.rowcount:
        log.info(
            "pruned %d reminder events, %d emails, %d push messages",
            events.rowcount,
            emails.rowcount,
            pushes.rowcount,
        )
