"""task tags in a table of their own; open tasks by priority counted from the index

- Filtering by tag read a GIN index whose first key, the user, lists every one of the user's
  tasks: the cost grew with the user. `task_tags`, led by (user_id, tag), holds one row per tag
  of a task, so the filter and its count read only the user's tasks with that tag. Triggers
  keep it from `tasks.tags` on both databases.
- The priority index carries `is_completed`, so "open tasks by priority" counts from the
  index alone.
- PostgreSQL: the trigram indexes go. Their first key, the user, also lists every one of the
  user's tasks, and the planner took their bitmap of every match (then sorted it) over walking
  the sort's index until the page is full. A search is now that walk with a filter.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_INDEXES = {
    "ix_tasks_user_id_title_trgm": "gin (user_id, title gin_trgm_ops)",
    "ix_tasks_user_id_description_trgm": "gin (user_id, description gin_trgm_ops)",
}
# The tags of the tasks that exist when the table is made.
POSTGRESQL_BACKFILL = """
    INSERT INTO task_tags (user_id, tag, task_id)
    SELECT DISTINCT tasks.user_id, tag, tasks.id
    FROM tasks, jsonb_array_elements_text(tasks.tags) AS tag
"""
SQLITE_BACKFILL = """
    INSERT INTO task_tags (user_id, tag, task_id)
    SELECT DISTINCT tasks.user_id, value, tasks.id FROM tasks, json_each(tasks.tags)
"""
POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION tasks_index_tags() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.tags = OLD.tags THEN
                RETURN NULL;
            END IF;
            DELETE FROM task_tags WHERE task_id = NEW.id;
        END IF;
        INSERT INTO task_tags (user_id, tag, task_id)
        SELECT DISTINCT NEW.user_id, tag, NEW.id FROM jsonb_array_elements_text(NEW.tags) AS tag;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER tasks_index_tags AFTER INSERT OR UPDATE OF tags ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_index_tags()
    """,
]
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER tasks_index_tags_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO task_tags (user_id, tag, task_id)
        SELECT DISTINCT NEW.user_id, value, NEW.id FROM json_each(NEW.tags);
    END
    """,
    """
    CREATE TRIGGER tasks_index_tags_update AFTER UPDATE OF tags ON tasks
    WHEN NEW.tags IS NOT OLD.tags BEGIN
        DELETE FROM task_tags WHERE task_id = NEW.id;
        INSERT INTO task_tags (user_id, tag, task_id)
        SELECT DISTINCT NEW.user_id, value, NEW.id FROM json_each(NEW.tags);
    END
    """,
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "task_tags",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_tags_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "tag", "task_id", name=op.f("pk_task_tags")),
    )
    op.create_index(op.f("ix_task_tags_task_id"), "task_tags", ["task_id"])
    op.execute(POSTGRESQL_BACKFILL if postgresql else SQLITE_BACKFILL)
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    if postgresql:
        op.execute("DROP INDEX ix_tasks_user_id_tags_gin")
        for name in SEARCH_INDEXES:
            op.execute(f"DROP INDEX {name}")

    op.create_index(
        "ix_tasks_user_id_priority_id_completed",
        "tasks",
        ["user_id", "priority", "id", "is_completed"],
    )
    op.drop_index("ix_tasks_user_id_priority_id", table_name="tasks")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_index("ix_tasks_user_id_priority_id", "tasks", ["user_id", "priority", "id"])
    op.drop_index("ix_tasks_user_id_priority_id_completed", table_name="tasks")
    if postgresql:
        for name, definition in SEARCH_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON tasks USING {definition}")
        op.execute(
            "CREATE INDEX ix_tasks_user_id_tags_gin ON tasks "
            "USING gin (user_id, tags jsonb_path_ops)"
        )
        op.execute("DROP TRIGGER tasks_index_tags ON tasks")
        op.execute("DROP FUNCTION tasks_index_tags()")
    else:
        op.execute("DROP TRIGGER tasks_index_tags_insert")
        op.execute("DROP TRIGGER tasks_index_tags_update")
    op.drop_index(op.f("ix_task_tags_task_id"), table_name="task_tags")
    op.drop_table("task_tags")
