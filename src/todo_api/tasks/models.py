import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from todo_api.db import UTCDateTime

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
TAG_MAX_LENGTH = 50
TAGS_MAX_COUNT = 20


class Priority(enum.IntEnum):
    """Stored as a number so that sorting by priority is sorting by importance."""

    none = 0
    low = 1
    medium = 2
    high = 3


# A JSON array of strings: JSONB on PostgreSQL (with a GIN index for "has these tags"),
# JSON text on SQLite (searched with json_each).
TagList = JSON().with_variant(JSONB(), "postgresql")


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
    priority: int = Field(
        default=0, sa_column=Column(SmallInteger, nullable=False, server_default=text("0"))
    )
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(TagList, nullable=False, server_default=text("'[]'")),
    )
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


tasks: Table = Task.__table__  # type: ignore[attr-defined]

# One index per sort order, each led by user_id: "this user's tasks, by X" is an equality on
# user_id and then an ordered scan (backwards for descending), with id breaking ties.
Index("ix_tasks_user_id_created_at_id", tasks.c.user_id, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_user_id_updated_at_id", tasks.c.user_id, tasks.c.updated_at, tasks.c.id)
Index("ix_tasks_user_id_due_at_id", tasks.c.user_id, tasks.c.due_at, tasks.c.id)
Index("ix_tasks_user_id_priority_id", tasks.c.user_id, tasks.c.priority, tasks.c.id)

# Indexes only PostgreSQL has, created by the migrations (trigram search for `q`, GIN for
# tags, the title order in code-point collation). Schema comparison leaves them out.
POSTGRESQL_ONLY_INDEXES = frozenset(
    {
        "ix_tasks_title_trgm",
        "ix_tasks_description_trgm",
        "ix_tasks_tags_gin",
        "ix_tasks_user_id_title_id",
    }
)
