"""accounts: sign-ins and account tokens

Two new tables: `sign_ins` (what each built-in sign-in was made from: a user agent and an
address; its id is its refresh family's) and `account_tokens` (the single-use tokens a
password reset or an email to confirm links to, kept as their SHA-256). Nothing existing is
touched but `users`, whose key the new foreign keys reference: creating each table takes a
SHARE ROW EXCLUSIVE lock on `users` for that moment, bounded by the runner's `lock_timeout`
(migrations/online.py).

Revision ID: 0030
Revises: 0037
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0030"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sign_ins_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
    )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    # New, empty tables: their indexes are built at once, blocking nobody.
    op.create_index("ix_sign_ins_user_id", "sign_ins", ["user_id"])
    op.create_index("ix_account_tokens_user_id_purpose", "account_tokens", ["user_id", "purpose"])


def downgrade() -> None:
    op.drop_table("account_tokens")
    op.drop_table("sign_ins")
