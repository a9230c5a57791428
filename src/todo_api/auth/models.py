import uuid
from datetime import datetime

from sqlalchemy import Index, String, Table, func
from sqlmodel import Field, SQLModel

from todo_api.db import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    email: str | None = Field(default=None, sa_type=String(320))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


users: Table = User.__table__  # type: ignore[attr-defined]

# Emails are stored normalised; the unique index on lower() holds whatever path writes them.
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
