"""users: the day each person's weeks start on in the web app's calendar (null: the language's)

One nullable column on `users`, added to the catalogue alone (no default, no rewrite). The
previous release works on the result (it does not read the column).

Revision ID: 0055
Revises: 0054
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.migrations import online

revision: str = "0055"
down_revision: str | None = "0054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.add_column("users", sa.Column("week_start", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "week_start")
