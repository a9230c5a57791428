"""Attachments (see todo_api.files): files on tasks, and on comments of the task. The bytes live
in the storage (a folder or an S3 bucket) under `storage_key`; the row says what they are.

A file counts against the quota of its task's owner (the list's owner, or the inbox's user): the
usage is summed through the task, so that a task moved to someone else's list takes its files'
bytes with it (no owner column to keep in step). The task's deletion, its owner's account's
included, deletes the rows (`ON DELETE CASCADE`); the storage's sweep then removes bytes that no
row names (todo_api.files.scheduled).

In the change feed, a file carries its task's owner (`user_id`) and list (`list_id`), as a
comment does, set from the task by a trigger and carried when the task moves (migration 0049),
so that the feed finds a user's files, and a shared list's, by indexed look-ups; a deletion
leaves a tombstone with them."""

import uuid
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import Tombstone, change_stamp_field, timestamp_field

ATTACHMENT_NAME_MAX_LENGTH = 255
# Files a task may have.
ATTACHMENTS_MAX_COUNT = 100


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False)
    )
    # The comment it was attached to, if any (a comment's deletion leaves the file on the task).
    comment_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("task_comments.id", ondelete="SET NULL"), nullable=True),
    )
    name: str = Field(sa_type=String(ATTACHMENT_NAME_MAX_LENGTH), nullable=False)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    content_type: str = Field(sa_type=String(255), nullable=False)
    sha256: str = Field(sa_type=String(64), nullable=False)
    created_by: uuid.UUID = user_id_field()
    storage_key: str = Field(sa_type=String(300), nullable=False)
    created_at: datetime = timestamp_field()
    # The task's owner and list, as on the task (set and kept by triggers: migration 0049;
    # nullable until a later release, the previous one not writing them).
    user_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # The change feed's stamp, from the tasks' sequence (migration 0049).
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()


attachments: Table = Attachment.__table__  # type: ignore[attr-defined]


class AttachmentTombstone(Tombstone, table=True):
    """A deleted file (on its own, with its task, by the sweep), for the change feed, with the
    task's owner and list at the time (a trigger's)."""

    __tablename__ = "attachment_tombstones"

    attachment_id: uuid.UUID = Field(primary_key=True)
    task_id: uuid.UUID = Field(nullable=False)
    user_id: uuid.UUID = Field(nullable=False)
    list_id: uuid.UUID | None = Field(default=None, nullable=True)


attachment_tombstones: Table = AttachmentTombstone.__table__  # type: ignore[attr-defined]

# A task's files, oldest first (and the count the limit reads, and the cascade).
Index(
    "ix_attachments_task_id_created_at_id",
    attachments.c.task_id,
    attachments.c.created_at,
    attachments.c.id,
)
Index("ix_attachments_comment_id", attachments.c.comment_id)
Index("ix_attachments_created_by", attachments.c.created_by)
# The sweep's look-up of the bytes a row names.
Index("uq_attachments_storage_key", attachments.c.storage_key, unique=True)
# The change feed: a user's files and a list's, and those deleted, in change order.
Index(
    "ix_attachments_user_id_change",
    attachments.c.user_id,
    attachments.c.change_txid,
    attachments.c.change_seq,
)
_IN_A_LIST: dict[str, Any] = {
    "postgresql_where": attachments.c.list_id.is_not(None),
    "sqlite_where": attachments.c.list_id.is_not(None),
}
Index(
    "ix_attachments_list_id_change",
    attachments.c.list_id,
    attachments.c.change_txid,
    attachments.c.change_seq,
    **_IN_A_LIST,
)
Index(
    "ix_attachment_tombstones_user_id_change",
    attachment_tombstones.c.user_id,
    attachment_tombstones.c.change_txid,
    attachment_tombstones.c.change_seq,
)
Index(
    "ix_attachment_tombstones_list_id_change",
    attachment_tombstones.c.list_id,
    attachment_tombstones.c.change_txid,
    attachment_tombstones.c.change_seq,
)


class AttachmentRow(TypedDict):
    id: uuid.UUID
    task_id: uuid.UUID
    comment_id: uuid.UUID | None
    name: str
    size: int
    content_type: str
    sha256: str
    created_by: uuid.UUID
    storage_key: str
    created_at: datetime
    user_id: uuid.UUID | None
    list_id: uuid.UUID | None
    change_txid: int
    change_seq: int
