"""reminders: tasks.reminders, their schedule, their emails and their stream messages

- `tasks.reminders`: a task's reminders as the API shows them (JSON, `[]` for every existing
  task: a constant default, added to the catalogue alone, nothing rewritten).
- `reminder_fires`: one row per reminder, `fires_at` its time and `next_fire_at` the same
  while it waits (null once fired), indexed so that the due ones are one range.
- `reminder_emails`: each fired reminder's email, sent and retried by its own job.
- `reminder_events`: `reminder.fired` events for live streams, read by every process with
  streams open, kept for minutes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "10s"


def _claim_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:  # the ADD COLUMN's lock must not queue behind a long transaction
        op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.add_column(
        "tasks", sa.Column("reminders", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
    )
    if postgres:
        op.execute("RESET lock_timeout")
    op.create_table(
        "reminder_fires",
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("fires_at", UTCDateTime(), nullable=False),
        sa.Column("next_fire_at", UTCDateTime(), nullable=True),
        sa.Column("fired_at", UTCDateTime(), nullable=True),
        *_claim_columns(),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_reminder_fires_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("reminder_id", name=op.f("pk_reminder_fires")),
    )
    op.create_index(op.f("ix_reminder_fires_task_id"), "reminder_fires", ["task_id"])
    op.create_index(op.f("ix_reminder_fires_next_fire_at"), "reminder_fires", ["next_fire_at"])
    op.create_table(
        "reminder_emails",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        *_claim_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_emails")),
    )
    op.create_index(
        op.f("ix_reminder_emails_next_attempt_at"), "reminder_emails", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_reminder_emails_created_at"), "reminder_emails", ["created_at"])
    op.create_table(
        "reminder_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_events")),
    )
    op.create_index(op.f("ix_reminder_events_created_at"), "reminder_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("reminder_events")
    op.drop_table("reminder_emails")
    op.drop_table("reminder_fires")
    op.drop_column("tasks", "reminders")
