"""The notifications' background work (see todo_api.kit.jobs): making them from the activity
(one worker of all instances at a time), and sending their emails (claimed row by row, as
reminder emails are)."""

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.jobs import Schedule
from todo_api.notifications import mail, making

schedule = Schedule()


@schedule.job("notifications.make", every=lambda settings: settings.notification_poll_seconds)
async def make(db: Database, settings: Settings) -> float | None:
    read = await making.make(db, settings)
    return 0.0 if read >= making.BATCH else None


@schedule.job(
    "notifications.email",
    every=lambda settings: settings.notification_poll_seconds,
    singleton=False,
)
async def email(db: Database, settings: Settings) -> float | None:
    return await mail.send_due(db, settings)
