"""attachments: files on tasks and their comments

- `attachments`: a file's name, size, type, SHA-256 and where its bytes are (`storage_key`), on
  a task (and perhaps one of its comments), uploaded by `created_by`. A task's deletion deletes
  its files' rows; a comment's leaves them on the task.

Online: a new table, whose foreign keys take a SHARE ROW EXCLUSIVE lock on `tasks`,
`task_comments` and `users` for a moment (bounded by the runner's `lock_timeout`:
migrations/online.py); its indexes are built on an empty table. The previous release neither
reads nor writes it.

Revision ID: 0048
Revises: 0047
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0048"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("comment_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_attachments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["task_comments.id"],
            name=op.f("fk_attachments_comment_id_task_comments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_attachments_created_by_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        if_not_exists=True,  # (every step may run twice: migrations/online.py)
    )
    # The table is new and empty: its indexes are built at once, not concurrently.
    op.create_index(
        "ix_attachments_task_id_created_at_id",
        "attachments",
        ["task_id", "created_at", "id"],
        if_not_exists=True,
    )
    op.create_index("ix_attachments_comment_id", "attachments", ["comment_id"], if_not_exists=True)
    op.create_index("ix_attachments_created_by", "attachments", ["created_by"], if_not_exists=True)
    op.create_index(
        "uq_attachments_storage_key",
        "attachments",
        ["storage_key"],
        unique=True,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("attachments")
