"""Reminders' schedule, their emails, and the messages they leave for live streams (see
todo_api.kit.reminders and todo_api.reminders).

A task keeps its reminders as it shows them (`tasks.reminders`, JSON): listings read them with
the row. `reminder_fires` is the schedule derived from them, one row per reminder, written in
the same transaction as the task: `fires_at` is the reminder's time, `next_fire_at` the same
while it waits to fire and null once it fired (or was set in the past), so that what is due is
one short range of its index and a scheduler with nothing due reads one index entry. An email
and a Web Push message (todo_api.tables.push) keep where their sending stands in the same
columns (`ReminderMessage`).
"""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.jobs import CLAIMANT_LENGTH
from todo_api.tables.versioned import count_field

REMINDERS_MAX_COUNT = 5
EMAIL_ADDRESS_MAX_LENGTH = 320
SUBJECT_MAX_LENGTH = 300
ERROR_MAX_LENGTH = 1000
STATUS_MAX_LENGTH = 10


class ReminderFire(SQLModel, table=True):
    """One reminder of one task, as scheduled; claimed (todo_api.kit.claims) while it fires."""

    __tablename__ = "reminder_fires"

    reminder_id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    fires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_fire_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(CLAIMANT_LENGTH))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReminderMessage(SQLModel):
    """Where the sending of a message a fired reminder left stands (its email, or a Web Push
    message: todo_api.tables.push), each sent by its own job, tried again after each delay of
    REMINDER_EMAIL_RETRY_SCHEDULE and claimed (todo_api.kit.claims) while it is attempted.
    Each table keeps its own `attempts` (a Column belongs to one table) and `error` (of its
    own length)."""

    # `pending`, `sent` or `failed`.
    status: str = Field(sa_type=String(STATUS_MAX_LENGTH), nullable=False)
    # Set while it is pending, null once it ended (sent or failed).
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(CLAIMANT_LENGTH))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReminderEmail(ReminderMessage, table=True):
    """One reminder's email, written when it fires and sent by its own job, retried on its
    own schedule: a mail server that refuses holds up nothing else."""

    __tablename__ = "reminder_emails"

    id: uuid.UUID = Field(primary_key=True)
    reminder_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    # The task and the user it goes to, so that the sender can ask whether they still see
    # the task (no foreign key: the email outlives neither, and adding one would lock
    # `tasks`). Null on emails written before they were kept.
    task_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    recipient_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    recipient: str = Field(sa_type=String(EMAIL_ADDRESS_MAX_LENGTH), nullable=False)
    subject: str = Field(sa_type=String(SUBJECT_MAX_LENGTH), nullable=False)
    body: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = count_field()
    error: str | None = Field(default=None, sa_type=String(ERROR_MAX_LENGTH))


class ReminderEvent(SQLModel, table=True):
    """A `reminder.fired` event for live streams, written when it fires: every process with
    open streams reads the new ones (todo_api.live.hub) and passes each to the streams of its
    `audience` (the users who can see the task). Kept for minutes, never replayed."""

    __tablename__ = "reminder_events"

    id: uuid.UUID = Field(primary_key=True)
    audience: list[str] = Field(sa_column=Column(JSON, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


reminder_fires: Table = ReminderFire.__table__  # type: ignore[attr-defined]
reminder_emails: Table = ReminderEmail.__table__  # type: ignore[attr-defined]
reminder_events: Table = ReminderEvent.__table__  # type: ignore[attr-defined]

__all__ = ["reminder_emails", "reminder_events", "reminder_fires"]
