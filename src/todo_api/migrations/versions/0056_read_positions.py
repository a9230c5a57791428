"""read positions: where each person's reads must start, for read replicas

- `read_positions`: a person's primary WAL position after their last write (or last answer
  from the primary), when Redis does not keep it (todo_api.kit.reads). Unlogged on
  PostgreSQL: it needs no WAL, and a replica never reads it.

Online: a new, empty table.

Revision ID: 0056
Revises: 0055
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db.types import UTCDateTime

revision: str = "0056"
down_revision: str | None = "0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "read_positions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_read_positions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_read_positions")),
        if_not_exists=True,  # (every step may run twice: migrations/online.py)
        prefixes=["UNLOGGED"] if postgresql else [],
    )


def downgrade() -> None:
    op.drop_table("read_positions")
