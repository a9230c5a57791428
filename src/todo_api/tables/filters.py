"""Saved filters (see todo_api.filters): a user's named queries in the filter language, in
the user's own order."""

import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import BigInteger, Column, Index, String, Table, Text
from sqlmodel import Field, SQLModel

from todo_api.tables.keys import NAME_KEY_MAX_LENGTH
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import timestamp_field, version_field

FILTER_NAME_MAX_LENGTH = 100
FILTER_QUERY_MAX_LENGTH = 1000
# Saved filters a user may have.
FILTERS_MAX_COUNT = 100


class SavedFilter(SQLModel, table=True):
    __tablename__ = "saved_filters"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    name: str = Field(sa_type=String(FILTER_NAME_MAX_LENGTH), nullable=False)
    # The name as uniqueness sees it (keys.name_key), as lists' names.
    name_key: str = Field(sa_type=String(NAME_KEY_MAX_LENGTH), nullable=False)
    query: str = Field(sa_column=Column(Text, nullable=False))
    color: str | None = Field(default=None, sa_type=String(7))
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = version_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


saved_filters: Table = SavedFilter.__table__  # type: ignore[attr-defined]

Index(
    "uq_saved_filters_user_id_name_key",
    saved_filters.c.user_id,
    saved_filters.c.name_key,
    unique=True,
)
# The user's filters in their order (position, then id), and the count the limit reads.
Index(
    "ix_saved_filters_user_id_position",
    saved_filters.c.user_id,
    saved_filters.c.position,
    saved_filters.c.id,
)


class FilterRow(TypedDict):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    name_key: str
    query: str
    color: str | None
    position: int
    version: int
    created_at: datetime
    updated_at: datetime
