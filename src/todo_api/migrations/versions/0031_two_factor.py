"""two-factor: a TOTP secret per account, and recovery codes

Three nullable columns on `users` (each added to the catalogue alone: no default, no rewrite)
and a new table, `recovery_codes`, whose foreign key takes a SHARE ROW EXCLUSIVE lock on
`users` for a moment, bounded by the runner's `lock_timeout` (migrations/online.py).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.add_column("users", sa.Column("totp_secret", sa.String(64), nullable=True))
    online.add_column("users", sa.Column("totp_enabled_at", UTCDateTime(), nullable=True))
    online.add_column("users", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    # A new, empty table: its index is built at once, blocking nobody.
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade() -> None:
    op.drop_table("recovery_codes")
    op.drop_column("users", "totp_last_step")
    op.drop_column("users", "totp_enabled_at")
    op.drop_column("users", "totp_secret")
