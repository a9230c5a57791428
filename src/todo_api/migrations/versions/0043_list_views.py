"""list_views: how each person shows each list (its sort; list or board)

A new table, whose foreign key takes a SHARE ROW EXCLUSIVE lock on `users` for a moment,
bounded by the runner's `lock_timeout` (migrations/online.py). The previous release does not
read it.

Revision ID: 0043
Revises: 0042
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "list_views",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_key", sa.String(50), nullable=False),
        sa.Column("sort", sa.String(20), nullable=True),
        sa.Column("view", sa.String(10), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_list_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "list_key", name=op.f("pk_list_views")),
    )


def downgrade() -> None:
    op.drop_table("list_views")
