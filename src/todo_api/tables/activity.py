"""The activity of lists and tasks (see todo_api.collaboration.activity): who did what, with
the values a change replaced. A task's and a list's own changes are written by database
triggers (migration 0034; a task's by the trigger that stamps its write, migration 0039),
whichever way the change came;
comments and memberships by the services that make them (todo_api.kit.activity). Kept
ACTIVITY_RETENTION_DAYS."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Uuid,
    text,
)
from sqlmodel import Field, SQLModel

from todo_api.tables.versioned import timestamp_field

# An increasing key: the order the items were written in (SQLite: the rowid).
ActivityKey = BigInteger().with_variant(Integer(), "sqlite")


class Activity(SQLModel, table=True):
    __tablename__ = "activity"

    # Its place in the change feed's order. PostgreSQL: the stamp of the write of a task it
    # records, and for the others a draw from the same sequence, the column's default
    # (migration 0039); SQLite: the rowid.
    seq: int | None = Field(default=None, sa_column=Column(ActivityKey, primary_key=True))
    id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    at: datetime = timestamp_field()
    # The list it happened in; null: an inbox, `owner_id`'s. Deleting the list or the user
    # deletes them, by triggers rather than foreign keys (migration 0038: no check, and no
    # lock on the list's or the user's row, on every insert).
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    owner_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    task_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # Who did it (null: the service, or someone whose account is gone).
    actor_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    action: str = Field(sa_type=String(40), nullable=False)
    # {"<field>": [old, new]} as the database wrote them (the reader shows them as the API does).
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The writing transaction (PostgreSQL, by default; SQLite: 0): see migration 0034.
    txid: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )


activity: Table = Activity.__table__  # type: ignore[attr-defined]

# An item has a list or an owner: it enters one of these two (migration 0038).
_LISTED = activity.c.list_id.is_not(None)
_OWNED = activity.c.owner_id.is_not(None)
Index(
    "ix_activity_list_seq",
    activity.c.list_id,
    activity.c.seq,
    postgresql_where=_LISTED,
    sqlite_where=_LISTED,
)
Index(
    "ix_activity_owner_seq",
    activity.c.owner_id,
    activity.c.seq,
    postgresql_where=_OWNED,
    sqlite_where=_OWNED,
)
Index("ix_activity_task_id_seq", activity.c.task_id, activity.c.seq)
Index("ix_activity_at", activity.c.at)
Index("ix_activity_txid_seq", activity.c.txid, activity.c.seq)
