"""How a person shows each list (todo_api.lists.views): its sort, and its layout."""

import uuid

from sqlalchemy import Column, ForeignKey, String, Table, Uuid
from sqlmodel import Field, SQLModel

# A list's id, or the name of a view that is no list (`inbox`, `filter:<id>`).
LIST_KEY_MAX_LENGTH = 50
SORT_MAX_LENGTH = 20
VIEW_MAX_LENGTH = 10


class ListView(SQLModel, table=True):
    __tablename__ = "list_views"

    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    list_key: str = Field(sa_type=String(LIST_KEY_MAX_LENGTH), primary_key=True)
    sort: str | None = Field(default=None, sa_type=String(SORT_MAX_LENGTH))
    view: str | None = Field(default=None, sa_type=String(VIEW_MAX_LENGTH))  # list|board|calendar


list_views: Table = ListView.__table__  # type: ignore[attr-defined]
