"""users' email index on SQLite: on the column, NOCASE, which SQLite can reflect

SQLite cannot reflect an index on lower(email), so every autogenerate warned about it and could
not compare it. NOCASE folds the same letters as SQLite's lower() (ASCII only), so the same
emails stay unique. PostgreSQL keeps its index on lower(email).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _email_index(expression: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("uq_users_email_lower", table_name="users")
    op.create_index("uq_users_email_lower", "users", [sa.text(expression)], unique=True)


def upgrade() -> None:
    _email_index("email COLLATE NOCASE")


def downgrade() -> None:
    _email_index("lower(email)")
