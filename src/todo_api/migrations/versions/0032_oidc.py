"""signing in with an identity provider: users.email_verified, oidc_identities, oidc_codes

`users.email_verified` (false for every account made before) says whether an account showed
it receives mail at its address; an identity provider's sign-in links only to such an account.
A boolean with a constant default: the catalogue alone changes, nothing is rewritten.

Two new tables: which account each of the provider's people is (its issuer and subject), and
the one-time codes that hand a finished sign-in to the frontend. Creating their foreign keys
takes a SHARE ROW EXCLUSIVE lock on `users` for that moment, bounded by the runner's
`lock_timeout` (migrations/online.py).

(Numbered 0032 and run after 0034: the numbers between were given out to work done alongside.)

Revision ID: 0032
Revises: 0034
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0032"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "oidc_identities",
        sa.Column("issuer", sa.String(2048), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issuer", "subject", name=op.f("pk_oidc_identities")),
    )
    # New, empty tables: their indexes are built at once, blocking nobody.
    op.create_index("ix_oidc_identities_user_id", "oidc_identities", ["user_id"])
    op.create_table(
        "oidc_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_oidc_codes")),
    )
    op.create_index("ix_oidc_codes_user_id", "oidc_codes", ["user_id"])
    op.create_index("ix_oidc_codes_expires_at", "oidc_codes", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oidc_codes")
    op.drop_table("oidc_identities")
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on users stay.
    op.drop_column("users", "email_verified")
