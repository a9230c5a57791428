"""recurring tasks keep their series' wall-clock start: tasks.series_start

A recurring task's next occurrence is read from the series' first due time on the wall clock
of its zone (as RFC 5545 reads DTSTART), not from the previous occurrence, whose time a
daylight-saving gap may have moved. `series_start` holds that local date and time (no zone:
the task's `timezone` says which) on the occurrences completion makes; null means the task's
own due time starts its series, which is what every task written before this reads.

One nullable column without a default: the catalogue alone changes, nothing is rewritten or
backfilled. The runner's `lock_timeout` (migrations/online.py) keeps the ADD COLUMN's brief
ACCESS EXCLUSIVE lock from queueing behind a long transaction, and every request behind it:
the migration is tried again instead.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("series_start", sa.DateTime(), nullable=True))


def downgrade() -> None:
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("tasks", "series_start")
