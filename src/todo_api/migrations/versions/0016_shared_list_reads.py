"""a shared list's tasks by tag, and by title, from an index alone

A member's listing reads the lists shared with them list by list (0012). Two of its reads
still read each task's row:
- Filtered by a tag, each list's newest tasks with the tag were found by reading its tasks
  newest first and checking their tags, and the matches were counted the same way: a common
  tag in 20 lists of 5 000 tasks read about 20 000 rows a page. `task_tags` gains the task's
  `list_id` and `created_at`, kept by the same triggers as its tags, and an index led by
  (list_id, tag) in creation order (only for tasks in a list, as the list-led indexes of
  0012): the page and its count read index entries alone.
- Sorted by title, each list's first rows were read from the heap: PostgreSQL reads an
  expression (`lower(title)`) from an index alone only if the index holds its column too. The
  list-led title index includes `title`.

The columns are added to the catalogue alone; the backfill rewrites every `task_tags` row.
Each index build makes writes to its table (and so to `tasks`) wait for a few seconds on a
table of millions.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23
"""

import collections
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TAGS_INDEX = "ix_task_tags_list_id_tag_created_at_task_id"
TITLE_INDEX = "ix_tasks_list_id_title_id"
TITLE_KEY = '(list_id, lower(title) COLLATE "C", id)'
BACKFILL = {
    "postgresql": """
        UPDATE task_tags SET list_id = tasks.list_id, created_at = tasks.created_at
        FROM tasks WHERE tasks.id = task_tags.task_id
    """,
    "sqlite": """
        UPDATE task_tags SET
            list_id = (SELECT list_id FROM tasks WHERE tasks.id = task_id),
            created_at = (SELECT created_at FROM tasks WHERE tasks.id = task_id)
    """,
}
# The tag triggers as 0011 left them, with the task's list and creation written and followed
# (a task's creation never changes): `{columns}` and `{values}` are this migration's, or
# nothing (its downgrade).
POSTGRESQL_TRIGGERS = [
    """
    CREATE OR REPLACE FUNCTION tasks_index_tags() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.tags = OLD.tags AND NEW.user_id = OLD.user_id
                AND NEW.list_id IS NOT DISTINCT FROM OLD.list_id THEN
                RETURN NULL;
            END IF;
            DELETE FROM task_tags WHERE task_id = NEW.id;
        END IF;
        INSERT INTO task_tags (user_id, tag, task_id{columns})
        SELECT DISTINCT NEW.user_id, tag, NEW.id{values}
        FROM jsonb_array_elements_text(NEW.tags) AS tag;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER tasks_index_tags ON tasks",
    """
    CREATE TRIGGER tasks_index_tags AFTER INSERT OR UPDATE OF tags, user_id{followed} ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_index_tags()
    """,
]
SQLITE_TRIGGERS = [
    "DROP TRIGGER tasks_index_tags_insert",
    """
    CREATE TRIGGER tasks_index_tags_insert AFTER INSERT ON tasks BEGIN
        INSERT INTO task_tags (user_id, tag, task_id{columns})
        SELECT DISTINCT NEW.user_id, value, NEW.id{values} FROM json_each(NEW.tags);
    END
    """,
    "DROP TRIGGER tasks_index_tags_update",
    """
    CREATE TRIGGER tasks_index_tags_update AFTER UPDATE OF tags, user_id{followed} ON tasks
    WHEN NEW.tags IS NOT OLD.tags OR NEW.user_id IS NOT OLD.user_id
        OR NEW.list_id IS NOT OLD.list_id BEGIN
        DELETE FROM task_tags WHERE task_id = NEW.id;
        INSERT INTO task_tags (user_id, tag, task_id{columns})
        SELECT DISTINCT NEW.user_id, value, NEW.id{values} FROM json_each(NEW.tags);
    END
    """,
]
WITH_LIST_AND_CREATION = {
    "columns": ", list_id, created_at",
    "values": ", NEW.list_id, NEW.created_at",
    "followed": ", list_id",
}


def _triggers(names: dict[str, str]) -> list[str]:
    written = POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    return [statement.format_map(collections.defaultdict(str, names)) for statement in written]


def _title_index(including: str) -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite has no such index (0012)
        op.execute(f"DROP INDEX {TITLE_INDEX}")
        op.execute(
            f"CREATE INDEX {TITLE_INDEX} ON tasks {TITLE_KEY} {including} WHERE list_id IS NOT NULL"
        )


def upgrade() -> None:
    op.add_column("task_tags", sa.Column("list_id", sa.Uuid(), nullable=True))
    op.add_column("task_tags", sa.Column("created_at", UTCDateTime(), nullable=True))
    op.execute(BACKFILL[op.get_bind().dialect.name])
    for statement in _triggers(WITH_LIST_AND_CREATION):
        op.execute(statement)
    op.execute(
        f"CREATE INDEX {TAGS_INDEX} ON task_tags (list_id, tag, created_at, task_id) "
        "WHERE list_id IS NOT NULL"
    )
    _title_index("INCLUDE (title)")


def downgrade() -> None:
    _title_index("")
    op.execute(f"DROP INDEX {TAGS_INDEX}")
    for statement in _triggers({}):
        op.execute(statement)
    op.drop_column("task_tags", "created_at")
    op.drop_column("task_tags", "list_id")
