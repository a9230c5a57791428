"""a repeating task is one task: task_completions

Completing a task that repeats now keeps the task and moves it to its next occurrence; each
occurrence completed is a row of the new table `task_completions`, with the task's schedule
as it was then (which undoing the completion puts back). Nothing existing changes: the
completed copies that earlier releases made stay ordinary completed tasks, and
`tasks.next_occurrence_id` keeps marking them (completing one of those again makes nothing).

Creating the table takes a SHARE ROW EXCLUSIVE lock on `tasks`, whose key its foreign key
references, for that moment, bounded by the runner's `lock_timeout` (migrations/online.py).
The previous release neither reads nor writes the table: while it still serves, it completes a
repeating task the old way (a completed copy), which this release reads as any completed task.

Revision ID: 0050
Revises: 0049
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0050"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_completions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("start_at", UTCDateTime(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("recurrence", sa.String(500), nullable=True),
        sa.Column("series_start", sa.DateTime(), nullable=True),
        sa.Column("reminders", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.Column("completed_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_completions_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_completions")),
        if_not_exists=True,
    )
    # A new, empty table: its index is built at once, blocking nobody.
    op.create_index(
        "ix_task_completions_task_id_created_at_id",
        "task_completions",
        ["task_id", "created_at", "id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("task_completions")
