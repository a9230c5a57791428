"""time zones and all-day tasks: users.timezone, tasks.timezone and tasks.due_date

Every existing user and task reads "UTC" (what recurrence has read them in so far), so no
date or time a user sees moves. Nothing is rewritten or backfilled: a column with a constant
default is added to the catalogue alone (PostgreSQL 11 and later, and SQLite), and a new
`due_date` is null. `tasks.due_at` keeps being what listings sort and filter by (for an
all-day task, the instant its date starts in its zone), so every index and plan stays.

On PostgreSQL each ADD COLUMN takes an ACCESS EXCLUSIVE lock for a few milliseconds whatever
the table's size (bench/README.md, "Migration 0015"). `lock_timeout` keeps it from queueing
behind a long transaction, and every request behind it, for long: the migration fails
instead and can be run again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCK_TIMEOUT = "10s"


def _zone_column() -> sa.Column[str]:
    return sa.Column("timezone", sa.String(64), nullable=False, server_default=sa.text("'UTC'"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    op.add_column("users", _zone_column())
    op.add_column("tasks", _zone_column())
    op.add_column("tasks", sa.Column("due_date", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("RESET lock_timeout")  # for the migrations after this one


def downgrade() -> None:
    # An all-day task keeps the instant its date starts as its due time. Dropped in place
    # (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("tasks", "due_date")
    op.drop_column("tasks", "timezone")
    op.drop_column("users", "timezone")
