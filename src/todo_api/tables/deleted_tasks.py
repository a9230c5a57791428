"""Deleted tasks kept for `restore` (see todo_api.tasks.trash): a task deleted through any face
is deleted for real (its rows go, the triggers leave their tombstones, every read answers 404
as before), and what it was is kept here for `DELETED_TASK_GRACE_SECONDS`: the rows of the task,
its subtasks, their comments, files and reminders' schedule, as they were. The files' bytes stay
in the storage under their keys, which the storage's sweep leaves alone while a row here names
them, and removes at its first run after the grace (todo_api.files.scheduled).

No foreign keys: the row outlives nothing it names for long (an account's deletion deletes its
rows, the sweep the others once past their time), and a foreign key to `users` or `lists` would
lock those tables while it is added."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime


class DeletedTask(SQLModel, table=True):
    __tablename__ = "deleted_tasks"

    task_id: uuid.UUID = Field(primary_key=True)
    # The task's owner and list when it was deleted: who may restore it (the owner, and the
    # list's editors), and whose account's deletion takes it.
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False, index=True))
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    deleted_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # Restorable until DELETED_TASK_GRACE_SECONDS later; the storage's first sweep after that
    # forgets the task and removes its files' bytes.
    deleted_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    # {"<table>": [rows as JSON values]}: tasks, task_comments, attachments.
    kept: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


deleted_tasks: Table = DeletedTask.__table__  # type: ignore[attr-defined]
