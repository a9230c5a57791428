"""task start: tasks.start_at and tasks.start_date (CalDAV's DTSTART), and the indexes of
sort=start

A task may start at a moment (`start_at`) or on a day (`start_date`, all day; `start_at` then
holds the instant that day starts in the task's zone, as `due_at` does for `due_date`). Two
nullable columns without a default: the catalogue alone changes, nothing is rewritten or
backfilled; every task written before has no start.

`sort=start` and the start filters read the indexes the due date's sort has (0005, 0012): led
by user_id, ascending and descending with tasks without a start last, and led by list_id for
the lists shared with the caller. A page then stops at its limit whatever the number of
tasks, rather than sort every task of the user. Each costs every insert and every update that
moves a start (an update that leaves every indexed column alone stays a HOT update on
PostgreSQL). Built concurrently: nothing waits on them.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_A_LIST = "list_id IS NOT NULL"


def _indexes() -> dict[str, tuple[str, str | None]]:
    """name -> (columns, predicate). SQLite orders NULL lowest, so its DESC already puts the
    tasks without a start last (and it refuses NULLS LAST in an index)."""
    nulls_last = " NULLS LAST" if op.get_context().dialect.name == "postgresql" else ""
    return {
        "ix_tasks_user_id_start_at_id": ("user_id, start_at, id", None),
        "ix_tasks_user_id_start_at_desc_id": (
            f"user_id, start_at DESC{nulls_last}, id DESC",
            None,
        ),
        "ix_tasks_list_id_start_at_id": ("list_id, start_at, id", IN_A_LIST),
        "ix_tasks_list_id_start_at_desc_id": (
            f"list_id, start_at DESC{nulls_last}, id DESC",
            IN_A_LIST,
        ),
    }


def upgrade() -> None:
    online.add_column("tasks", sa.Column("start_at", UTCDateTime(), nullable=True))
    online.add_column("tasks", sa.Column("start_date", sa.Date(), nullable=True))
    for name, (columns, predicate) in _indexes().items():
        online.create_index(name, "tasks", columns, where=predicate)


def downgrade() -> None:
    for name in reversed(_indexes()):
        online.drop_index(name)
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("tasks", "start_date")
    op.drop_column("tasks", "start_at")
