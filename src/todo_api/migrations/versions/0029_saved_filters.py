"""saved filters: a user's named queries in the filter language

A new table, its names unique per user ignoring case (`name_key`, as lists'), its rows
indexed in the user's order. Nothing existing is touched but `users`, whose key the new
foreign key references: creating the table takes a SHARE ROW EXCLUSIVE lock on `users` for
that moment, bounded by the runner's `lock_timeout` (migrations/online.py).

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("color", sa.String(7), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_filters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
    )
    # A new, empty table: its indexes are built at once, blocking nobody.
    op.create_index(
        "uq_saved_filters_user_id_name_key", "saved_filters", ["user_id", "name_key"], unique=True
    )
    op.create_index(
        "ix_saved_filters_user_id_position", "saved_filters", ["user_id", "position", "id"]
    )


def downgrade() -> None:
    op.drop_table("saved_filters")
