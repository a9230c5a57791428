"""an index for listing by due date, descending

`ORDER BY due_at DESC NULLS LAST` (undated tasks last either way) is not the backward order of
(user_id, due_at, id), which would put them first; without its own index a large list sorted
that way read every one of the user's rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite orders NULL lowest, so its DESC already puts undated tasks last (and it refuses
    # NULLS LAST in an index); PostgreSQL orders NULL highest and must be told.
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(
        "CREATE INDEX ix_tasks_user_id_due_at_desc_id "
        f"ON tasks (user_id, due_at DESC{nulls_last}, id DESC)"
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_user_id_due_at_desc_id", table_name="tasks")
