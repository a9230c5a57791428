"""The completed occurrences of repeating tasks (see todo_api.tasks.completions): completing a
task that repeats keeps the task and moves it to its next occurrence, and each row here is one
occurrence completed, with the task's schedule as it was then, which undoing it puts back."""

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, Date, DateTime, ForeignKey, Index, String, Table, Uuid, text
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.tasks import RECURRENCE_MAX_LENGTH
from todo_api.tables.versioned import timestamp_field


class TaskCompletion(SQLModel, table=True):
    __tablename__ = "task_completions"

    id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    # The occurrence completed: the task's due and start, rule (its COUNT before this one),
    # series start and reminders as they were, as the task's own columns hold them.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_date: date | None = Field(default=None, sa_type=Date)
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_date: date | None = Field(default=None, sa_type=Date)
    recurrence: str | None = Field(default=None, sa_type=String(RECURRENCE_MAX_LENGTH))
    series_start: datetime | None = Field(default=None, sa_type=DateTime)
    reminders: list[dict[str, str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    # When it was completed (a calendar app's COMPLETED, else the server's clock) and by whom
    # (null: an account since deleted).
    completed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    completed_by: uuid.UUID | None = Field(default=None, nullable=True)
    # When the completion was recorded: the order of the task's completions (newest first).
    created_at: datetime = timestamp_field()


task_completions: Table = TaskCompletion.__table__  # type: ignore[attr-defined]

# A task's completions, newest first (and the cascade when the task goes).
Index(
    "ix_task_completions_task_id_created_at_id",
    task_completions.c.task_id,
    task_completions.c.created_at,
    task_completions.c.id,
)
