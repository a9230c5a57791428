import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, false
from sqlmodel import Field, SQLModel

from todo_api.db import UTCDateTime

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(sa_type=String(TITLE_MAX_LENGTH), nullable=False)
    description: str | None = Field(default=None, sa_type=String(DESCRIPTION_MAX_LENGTH))
    is_completed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


tasks: Table = Task.__table__  # type: ignore[attr-defined]

# "This user's tasks, newest first": an equality on user_id, then a scan of created_at
# (backwards for DESC) with id breaking ties. It also serves every lookup by user_id.
Index("ix_tasks_user_id_created_at_id", tasks.c.user_id, tasks.c.created_at, tasks.c.id)
