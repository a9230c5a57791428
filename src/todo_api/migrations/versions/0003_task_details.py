"""task details: priority, due date, tags, completion time; list indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from todo_api.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("priority", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "tags",
                sa.JSON().with_variant(JSONB(), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch.add_column(sa.Column("completed_at", UTCDateTime(), nullable=True))
    # Tasks completed before this column existed count as completed when they last changed.
    op.execute("UPDATE tasks SET completed_at = updated_at WHERE is_completed")
    op.create_index("ix_tasks_user_id_updated_at_id", "tasks", ["user_id", "updated_at", "id"])
    op.create_index("ix_tasks_user_id_due_at_id", "tasks", ["user_id", "due_at", "id"])
    op.create_index("ix_tasks_user_id_priority_id", "tasks", ["user_id", "priority", "id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_tasks_title_trgm ON tasks USING gin (title gin_trgm_ops)")
        op.execute(
            "CREATE INDEX ix_tasks_description_trgm ON tasks USING gin (description gin_trgm_ops)"
        )
        op.execute("CREATE INDEX ix_tasks_tags_gin ON tasks USING gin (tags jsonb_path_ops)")
        op.execute(
            "CREATE INDEX ix_tasks_user_id_title_id ON tasks "
            '(user_id, lower(title) COLLATE "C", id)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "ix_tasks_user_id_title_id",
            "ix_tasks_tags_gin",
            "ix_tasks_description_trgm",
            "ix_tasks_title_trgm",
        ):
            op.drop_index(name, table_name="tasks")
    op.drop_index("ix_tasks_user_id_priority_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_due_at_id", table_name="tasks")
    op.drop_index("ix_tasks_user_id_updated_at_id", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("completed_at")
        batch.drop_column("tags")
        batch.drop_column("due_at")
        batch.drop_column("priority")
