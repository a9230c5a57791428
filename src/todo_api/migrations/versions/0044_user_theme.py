"""users: the web app's theme each person chose (null: the system's)

One nullable column on `users`, added to the catalogue alone (no default, no rewrite). The
previous release works on the result (it does not read the column).

Revision ID: 0044
Revises: 0043
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.migrations import online

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.add_column("users", sa.Column("theme", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "theme")
