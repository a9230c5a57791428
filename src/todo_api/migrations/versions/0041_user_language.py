"""users: the language the web app speaks to each (null: the browser's)

One nullable column on `users`, added to the catalogue alone (no default, no rewrite). The
previous release works on the result (it does not read the column).

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.migrations import online

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.add_column("users", sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "language")
