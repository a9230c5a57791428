"""The settings of reminders and notifications (todo_api.reminders, todo_api.notifications): how
late a missed reminder may still fire, how long a scheduler sleeps with nothing due, when the
daily digest goes and how often new notifications are looked for. A group of its own, which
`todo_api.config.Settings` inherits."""

from pydantic import Field
from pydantic_settings import BaseSettings


class ReminderSettings(BaseSettings):
    # How late a reminder missed while the service was down may still fire (hours, fractions
    # allowed), and the longest a scheduler sleeps with nothing due (a write wakes it sooner).
    reminder_max_late_hours: float = Field(default=24, ge=0, le=24 * 365)
    reminder_sleep_seconds: float = Field(default=60, gt=0, le=3600)
    # When the daily digest goes, on each recipient's clock (HH:MM), and how often the changes
    # are read for new notifications and due emails.
    notification_digest_time: str = Field(
        default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
    )
    notification_poll_seconds: float = Field(default=2, gt=0, le=60)
