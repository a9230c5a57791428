"""Comments on tasks (see todo_api.collaboration): Markdown text kept as written, in the change
feed like tasks. A comment carries its task's owner (`user_id`) and list (`list_id`), kept by a
trigger when the task moves (migration 0033), so that the feed finds a user's comments, and a
shared list's, by the same indexed look-ups as their tasks; `tasks.comment_count` is kept by
the comments' own insert and delete triggers."""

import uuid
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import JSON, Column, ForeignKey, Index, Table, Text, Uuid
from sqlmodel import Field, SQLModel

from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import (
    Tombstone,
    change_stamp_field,
    timestamp_field,
    version_field,
)

COMMENT_BODY_MAX_LENGTH = 10_000


class TaskComment(SQLModel, table=True):
    __tablename__ = "task_comments"

    id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    # The task's owner and list, as on the task (kept by a trigger when the task moves).
    user_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    author_id: uuid.UUID = user_id_field()
    body: str = Field(sa_column=Column(Text, nullable=False))
    # The ids (text) of the members the body mentions.
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = version_field()
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


task_comments: Table = TaskComment.__table__  # type: ignore[attr-defined]


class CommentTombstone(Tombstone, table=True):
    """A deleted comment, for the change feed, with the task's owner and list at the time."""

    __tablename__ = "comment_tombstones"

    comment_id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(nullable=False)
    user_id: uuid.UUID = Field(nullable=False)
    list_id: uuid.UUID | None = Field(default=None, nullable=True)


comment_tombstones: Table = CommentTombstone.__table__  # type: ignore[attr-defined]

_IN_A_LIST: dict[str, Any] = {
    "postgresql_where": task_comments.c.list_id.is_not(None),
    "sqlite_where": task_comments.c.list_id.is_not(None),
}
# A task's comments, oldest first (and the cascade when the task goes).
Index(
    "ix_task_comments_task_id_created_at_id",
    task_comments.c.task_id,
    task_comments.c.created_at,
    task_comments.c.id,
)
# The change feed: a user's comments and a list's, in change order.
Index(
    "ix_task_comments_user_id_change",
    task_comments.c.user_id,
    task_comments.c.change_txid,
    task_comments.c.change_seq,
)
Index(
    "ix_task_comments_list_id_change",
    task_comments.c.list_id,
    task_comments.c.change_txid,
    task_comments.c.change_seq,
    **_IN_A_LIST,
)
Index("ix_task_comments_author_id", task_comments.c.author_id)
Index(
    "ix_comment_tombstones_user_id_change",
    comment_tombstones.c.user_id,
    comment_tombstones.c.change_txid,
    comment_tombstones.c.change_seq,
)
Index(
    "ix_comment_tombstones_list_id_change",
    comment_tombstones.c.list_id,
    comment_tombstones.c.change_txid,
    comment_tombstones.c.change_seq,
)


class CommentRow(TypedDict):
    id: uuid.UUID
    task_id: uuid.UUID
    user_id: uuid.UUID
    list_id: uuid.UUID | None
    author_id: uuid.UUID
    body: str
    mentions: list[str]
    version: int
    change_txid: int
    change_seq: int
    created_at: datetime
    updated_at: datetime
