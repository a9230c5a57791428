"""personal access tokens: long-lived, revocable, scoped tokens for scripts and apps

A new table, each token kept as the SHA-256 of its text (unique: the lookup of every request
that carries one), with its user's tokens indexed newest first for the listing and the limit.
Nothing existing is touched but `users`, whose key the new foreign key references: creating
the table takes a SHARE ROW EXCLUSIVE lock on `users` for that moment, bounded by the runner's
`lock_timeout` (migrations/online.py) so that it never queues the table's readers and writers
behind it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_personal_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_personal_tokens_token_hash")),
    )
    # A new, empty table: its index is built at once, blocking nobody.
    op.create_index(
        "ix_personal_tokens_user_id_created_at", "personal_tokens", ["user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("personal_tokens")
