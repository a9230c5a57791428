"""Calendar feeds (see todo_api.calendar_feeds): a read-only iCalendar URL of a person's tasks
that a calendar app subscribes to. Each is kept as the SHA-256 of its secret, never the secret
itself, found by that hash on every request for its URL."""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.tables.lists import list_id_field
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import timestamp_field

# `dated` or `all`.
INCLUDE_MAX_LENGTH = 5


class CalendarFeed(SQLModel, table=True):
    __tablename__ = "calendar_feeds"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    # What it shows: one list, one saved filter's tasks, or (both null) everything its maker
    # sees. A list or filter deleted takes its feeds with it.
    list_id: uuid.UUID | None = list_id_field()
    filter_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("saved_filters.id", ondelete="CASCADE"), nullable=True),
    )
    include: str = Field(sa_type=String(INCLUDE_MAX_LENGTH), nullable=False)
    # The SHA-256 of the URL's secret, as 64 hex digits: what a request is looked up by.
    secret_hash: str = Field(sa_type=String(64), nullable=False, unique=True)
    created_at: datetime = timestamp_field()

    __table_args__ = (Index("ix_calendar_feeds_user_id_created_at", "user_id", "created_at"),)


calendar_feeds: Table = CalendarFeed.__table__  # type: ignore[attr-defined]
