"""calendar feeds: calendar_feeds

A person's calendar subscription URLs (`POST /api/feeds`): each row is one feed, its secret kept
only as a SHA-256, what it shows (a list, a saved filter or everything) and whether undated
tasks are in it. A new table: the previous release neither reads nor writes it.

Creating it takes a SHARE ROW EXCLUSIVE lock on `users`, `lists` and `saved_filters`, whose keys
its foreign keys reference, for that moment, bounded by the runner's `lock_timeout`
(migrations/online.py).

Revision ID: 0053
Revises: 0052
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0053"
down_revision: str | None = "0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("filter_id", sa.Uuid(), nullable=True),
        sa.Column("include", sa.String(5), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_calendar_feeds_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["filter_id"],
            ["saved_filters.id"],
            name=op.f("fk_calendar_feeds_filter_id_saved_filters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
        if_not_exists=True,
    )
    # A new, empty table: its index is built at once, blocking nobody.
    op.create_index(
        "ix_calendar_feeds_user_id_created_at",
        "calendar_feeds",
        ["user_id", "created_at"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
