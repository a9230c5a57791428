"""deleted_tasks: a deleted task kept for `restore` during DELETED_TASK_GRACE_SECONDS

A deleted task is still deleted for real: its row, its subtasks', their comments, files and
reminders' schedule go as before (the triggers leave their tombstones, the change feed and
webhooks say `task.deleted`), and what they were is written to this new table in the same
transaction. `POST /api/tasks/{id}/restore` inserts the same rows again; the storage's sweep
keeps the files' bytes while a row here names them and removes them, with the row, at its first
run after the grace.

The previous release keeps working against this schema during a rolling upgrade: nothing it
reads changed, and a task in this table is absent from `tasks`, so the old code cannot take a
task in its grace for a live one (no `deleted_at` column that the old queries would not filter
on). What the previous release deletes is not kept here (its tasks cannot be restored), and its
storage sweep does not read this table: while it still runs, the bytes of a kept task's files
stored more than a day ago may be removed by it, as they were before this release; a task
restored then comes back without those files' bytes, and the sweep deletes their rows, as for
any row whose bytes are gone.

Online: a new table with its indexes, created empty; no lock on any table that exists.

Revision ID: 0051
Revises: 0050
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0051"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deleted_tasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_by", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("kept", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_deleted_tasks")),
        if_not_exists=True,  # (every step may run twice: migrations/online.py)
    )
    # The table is new and empty: its indexes are built at once, not concurrently.
    op.create_index(
        op.f("ix_deleted_tasks_user_id"), "deleted_tasks", ["user_id"], if_not_exists=True
    )
    op.create_index(
        op.f("ix_deleted_tasks_deleted_at"), "deleted_tasks", ["deleted_at"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("deleted_tasks")
