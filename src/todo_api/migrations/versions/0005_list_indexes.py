"""list indexes: due date descending; search and tags scoped to the user

- `ORDER BY due_at DESC NULLS LAST` (undated tasks last either way) is not the backward order of
  (user_id, due_at, id), which would put them first; without its own index a large list sorted
  that way read every one of the user's rows.
- PostgreSQL: the trigram and tag indexes of 0003 covered every user, so a search cost what the
  whole table matched. With btree_gin, user_id leads them and a search costs what the user has.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GLOBAL_INDEXES = {
    "ix_tasks_title_trgm": "gin (title gin_trgm_ops)",
    "ix_tasks_description_trgm": "gin (description gin_trgm_ops)",
    "ix_tasks_tags_gin": "gin (tags jsonb_path_ops)",
}
USER_SCOPED_INDEXES = {
    "ix_tasks_user_id_title_trgm": "gin (user_id, title gin_trgm_ops)",
    "ix_tasks_user_id_description_trgm": "gin (user_id, description gin_trgm_ops)",
    "ix_tasks_user_id_tags_gin": "gin (user_id, tags jsonb_path_ops)",
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite orders NULL lowest, so its DESC already puts undated tasks last (and it refuses
    # NULLS LAST in an index); PostgreSQL orders NULL highest and must be told.
    nulls_last = " NULLS LAST" if postgresql else ""
    op.execute(
        "CREATE INDEX ix_tasks_user_id_due_at_desc_id "
        f"ON tasks (user_id, due_at DESC{nulls_last}, id DESC)"
    )
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        for name, definition in USER_SCOPED_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON tasks USING {definition}")
        for name in GLOBAL_INDEXES:
            op.execute(f"DROP INDEX {name}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, definition in GLOBAL_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON tasks USING {definition}")
        for name in USER_SCOPED_INDEXES:
            op.execute(f"DROP INDEX {name}")
    op.drop_index("ix_tasks_user_id_due_at_desc_id", table_name="tasks")
