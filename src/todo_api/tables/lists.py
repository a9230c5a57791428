import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Uuid,
    false,
    func,
    select,
)
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.tasks import tasks
from todo_api.tables.versioned import change_stamp_field, timestamp_field, version_field

NAME_MAX_LENGTH = 100
# What uniqueness compares (keys.name_key), which can be longer than the name itself; a name
# whose key is longer than this is refused.
NAME_KEY_MAX_LENGTH = 4 * NAME_MAX_LENGTH


class TaskList(SQLModel, table=True):
    """A user's list of tasks (Todoist's project, Google Tasks' list)."""

    __tablename__ = "lists"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_type=String(NAME_MAX_LENGTH), nullable=False)
    # The name as uniqueness sees it (keys.name_key): unique per user, written by the service.
    name_key: str = Field(sa_type=String(NAME_KEY_MAX_LENGTH), nullable=False)
    color: str | None = Field(default=None, sa_type=String(7))
    # The list's place among the user's lists (see todo_api.kit.ordering).
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = version_field()
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ListTombstone(SQLModel, table=True):
    """A deleted list, remembered for the change feed (written by a trigger, like tasks')."""

    __tablename__ = "list_tombstones"

    list_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(nullable=False)
    deleted_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    change_txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    change_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


lists: Table = TaskList.__table__  # type: ignore[attr-defined]
list_tombstones: Table = ListTombstone.__table__  # type: ignore[attr-defined]


class ListRow(TypedDict):
    """A row of `lists` as the service reads it, with its open tasks counted."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    name_key: str
    color: str | None
    position: int
    version: int
    change_txid: int
    change_seq: int
    created_at: datetime
    updated_at: datetime
    open_count: int


# A name is unique per user, whatever its case, compatibility forms and invisible characters.
Index("uq_lists_user_id_name_key", lists.c.user_id, lists.c.name_key, unique=True)
# The user's lists in their order.
Index("ix_lists_user_id_position_id", lists.c.user_id, lists.c.position, lists.c.id)
# The change feed.
Index("ix_lists_user_id_change", lists.c.user_id, lists.c.change_txid, lists.c.change_seq)
Index(
    "ix_list_tombstones_user_id_change",
    list_tombstones.c.user_id,
    list_tombstones.c.change_txid,
    list_tombstones.c.change_seq,
)


# A list as it is served: its row and the number of its open tasks, counted in the statement
# that reads the list (a correlated count the (list_id, is_completed) index answers).
OPEN_COUNT = (
    select(func.count())
    .where(tasks.c.list_id == lists.c.id, tasks.c.is_completed == false())
    .scalar_subquery()
    .label("open_count")
)
WITH_OPEN_COUNT = (*lists.c, OPEN_COUNT)
