"""push: the browsers' Web Push subscriptions, and the messages reminders leave for them

Two new tables: `push_subscriptions` (a browser's push endpoint and keys, its user's row) and
`push_messages` (the outbox of reminders to send by Web Push, one row per reminder and
subscription). Nothing existing is touched but `users`, whose key the new foreign key
references: creating the table takes a SHARE ROW EXCLUSIVE lock on `users` for that moment,
bounded by the runner's `lock_timeout` (migrations/online.py). The previous release reads
neither table.

Revision ID: 0045
Revises: 0044
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0045"
down_revision: str | None = "0044"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sa.String(2000), nullable=False),
        sa.Column("p256dh", sa.String(100), nullable=False),
        sa.Column("auth", sa.String(50), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_push_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
    )
    op.create_table(
        "push_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["push_subscriptions.id"],
            name=op.f("fk_push_messages_subscription_id_push_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_messages")),
    )
    # New, empty tables: their indexes are built at once, blocking nobody.
    op.create_index(
        "ix_push_subscriptions_user_id_endpoint",
        "push_subscriptions",
        ["user_id", "endpoint"],
        unique=True,
    )
    op.create_index("ix_push_messages_subscription_id", "push_messages", ["subscription_id"])
    op.create_index("ix_push_messages_next_attempt_at", "push_messages", ["next_attempt_at"])
    op.create_index("ix_push_messages_created_at", "push_messages", ["created_at"])


def downgrade() -> None:
    op.drop_table("push_messages")
    op.drop_table("push_subscriptions")
