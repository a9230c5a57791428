"""saved filters on CalDAV: what each filter's calendar held when a sync token was given

A new table. Nothing existing is touched but `saved_filters`, whose key the new foreign key
references: creating the table takes a SHARE ROW EXCLUSIVE lock on `saved_filters` for that
moment, bounded by the runner's `lock_timeout` (migrations/online.py).

Revision ID: 0034
Revises: 0029
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0034"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dav_filter_syncs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("filter_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["saved_filters.id"],
            name=op.f("fk_dav_filter_syncs_filter_id_saved_filters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dav_filter_syncs")),
    )
    # A new, empty table: its index is built at once, blocking nobody.
    op.create_index(
        "ix_dav_filter_syncs_filter_id_created_at",
        "dav_filter_syncs",
        ["filter_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("dav_filter_syncs")
