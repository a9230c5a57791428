"""email verified: when a built-in account's email was confirmed

One nullable column on `users`, added to the catalogue alone (no default, no rewrite, no
backfill): every account made before reads as not confirmed.

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
    online.add_column("users", sa.Column("email_verified_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "email_verified_at")
