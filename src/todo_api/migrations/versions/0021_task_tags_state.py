"""a tag's open (or done) tasks counted from its entries alone

The total of `tag=X&completed=false` must find up to 1 001 open tasks with the tag: it read
the tag's entries and then each task by its key to see whether it was open (1 545 lookups,
3 ms, for a user with 100 000 tasks). `task_tags` gains the task's state, kept by the tag
triggers (a completion or a reopening of a tagged task updates its entries), an index of the
caller's entries by tag and state, and the list-led index includes the state: a tag and a
state are counted, and a shared list's tagged page walked, from index entries alone.

The column is added to the catalogue alone; the backfill rewrites the entries of completed
tasks. Writes to `tasks` wait from the trigger's replacement to the commit (15 s for 2.1
million tasks with 1.6 million tag entries).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-25
"""

# The triggers are written twice (with the state, and as before it) from this module's own
# constants: nothing from outside reaches their SQL.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATE_INDEX = "ix_task_tags_user_id_tag_is_completed"
LIST_INDEX = "ix_task_tags_list_id_tag_created_at_task_id"
BACKFILL = """
    UPDATE task_tags SET is_completed = true
    WHERE task_id IN (SELECT id FROM tasks WHERE is_completed AND tags <> '[]')
"""


def _postgresql(state: bool) -> list[str]:
    """The tag trigger with the task's state written and followed (or as 0016 left it)."""
    column, value = (", is_completed", ", NEW.is_completed") if state else ("", "")
    # The state alone changed: the entries are updated in place, not written again.
    state_alone = (
        """
            IF NEW.is_completed <> OLD.is_completed AND NEW.tags <> '[]' THEN
                UPDATE task_tags SET is_completed = NEW.is_completed WHERE task_id = NEW.id;
            END IF;"""
        if state
        else ""
    )
    return [
        f"""
        CREATE OR REPLACE FUNCTION tasks_index_tags() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                IF NEW.tags = OLD.tags AND NEW.user_id = OLD.user_id
                    AND NEW.list_id IS NOT DISTINCT FROM OLD.list_id THEN{state_alone}
                    RETURN NULL;
                END IF;
                DELETE FROM task_tags WHERE task_id = NEW.id;
            END IF;
            INSERT INTO task_tags (user_id, tag, task_id, list_id, created_at{column})
            SELECT DISTINCT NEW.user_id, tag, NEW.id, NEW.list_id, NEW.created_at{value}
            FROM jsonb_array_elements_text(NEW.tags) AS tag;
            RETURN NULL;
        END
        $$
        """,
        "DROP TRIGGER tasks_index_tags ON tasks",
        f"""
        CREATE TRIGGER tasks_index_tags
        AFTER INSERT OR UPDATE OF tags, user_id, list_id{column} ON tasks
        FOR EACH ROW EXECUTE FUNCTION tasks_index_tags()
        """,
    ]


def _sqlite(state: bool) -> list[str]:
    """The tag triggers with the task's state written, and one that follows it (or as 0016
    left them)."""
    column, value = (", is_completed", ", NEW.is_completed") if state else ("", "")
    entries = (
        f"INSERT INTO task_tags (user_id, tag, task_id, list_id, created_at{column}) "
        f"SELECT DISTINCT NEW.user_id, value, NEW.id, NEW.list_id, NEW.created_at{value} "
        "FROM json_each(NEW.tags);"
    )
    statements = [
        "DROP TRIGGER tasks_index_tags_insert",
        f"CREATE TRIGGER tasks_index_tags_insert AFTER INSERT ON tasks BEGIN {entries} END",
        "DROP TRIGGER tasks_index_tags_update",
        f"""
        CREATE TRIGGER tasks_index_tags_update AFTER UPDATE OF tags, user_id, list_id ON tasks
        WHEN NEW.tags IS NOT OLD.tags OR NEW.user_id IS NOT OLD.user_id
            OR NEW.list_id IS NOT OLD.list_id BEGIN
            DELETE FROM task_tags WHERE task_id = NEW.id;
            {entries}
        END
        """,
    ]
    if not state:
        return [*statements, "DROP TRIGGER tasks_index_tags_state"]
    return [
        *statements,
        """
        CREATE TRIGGER tasks_index_tags_state AFTER UPDATE OF is_completed ON tasks
        WHEN NEW.is_completed IS NOT OLD.is_completed AND NEW.tags IS OLD.tags
            AND NEW.user_id IS OLD.user_id AND NEW.list_id IS OLD.list_id BEGIN
            UPDATE task_tags SET is_completed = NEW.is_completed WHERE task_id = NEW.id;
        END
        """,
    ]


def _list_index(including: str) -> None:
    op.execute(f"DROP INDEX {LIST_INDEX}")
    op.execute(
        f"CREATE INDEX {LIST_INDEX} ON task_tags (list_id, tag, created_at, task_id) "
        f"{including} WHERE list_id IS NOT NULL"
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # `tasks` first, as a write does (a task, then its tag entries by the trigger): taking
        # `task_tags` first could deadlock with a write under way.
        op.execute("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE")
    op.add_column(
        "task_tags",
        sa.Column("is_completed", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # The triggers before the backfill: with `tasks` locked against writes until the migration
    # commits (replacing a trigger locks it too), no completion can fall between the
    # backfill's snapshot and the trigger that follows the state.
    for statement in _postgresql(state=True) if postgresql else _sqlite(state=True):
        op.execute(statement)
    op.execute(BACKFILL)
    op.create_index(STATE_INDEX, "task_tags", ["user_id", "tag", "is_completed"])
    if postgresql:  # SQLite has no INCLUDE, and reads no shared list's tags by state
        _list_index("INCLUDE (is_completed)")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        _list_index("")
    op.drop_index(STATE_INDEX, "task_tags")
    for statement in _postgresql(state=False) if postgresql else _sqlite(state=False):
        op.execute(statement)
    op.drop_column("task_tags", "is_completed")
