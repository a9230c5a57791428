"""task counts: a list's (or an inbox's) open and done tasks, kept by the writes

A page's `X-Total-Count` counted up to 1 001 matching rows, and every list's `open_count` its
open tasks: the largest part of an unfiltered page's database work. `task_counts` holds one row
per list and one per user's inbox (`scope_id`: the list's id, or the user's), made with the
list or the user; triggers on `tasks` keep its two numbers in the transaction of every insert,
delete, completion, reopening and move. On PostgreSQL the task trigger is deferred to the
commit: a write takes its counter row's lock last and holds it only while it commits, so two
writes that touch the same tasks in different orders (a bulk and a PATCH, a parent's
completion and its subtask's) cannot deadlock on it.

`ix_tasks_list_id_is_completed` served the `open_count` count alone: it goes (the list-led
indexes of 0012 serve the cascade when a list is deleted).

Creating the triggers makes writes to `tasks` wait until this migration commits, so the
backfill counts a table that no write changes meanwhile.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_COUNT_INDEX = "ix_tasks_list_id_is_completed"

# One row per user (the inbox) and per list, with what each holds today.
BACKFILL = [
    """
    INSERT INTO task_counts (scope_id, user_id, list_id, open_count, done_count)
    SELECT users.id, users.id, NULL,
        (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id AND tasks.list_id IS NULL
            AND NOT tasks.is_completed),
        (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id AND tasks.list_id IS NULL
            AND tasks.is_completed)
    FROM users
    """,
    """
    INSERT INTO task_counts (scope_id, user_id, list_id, open_count, done_count)
    SELECT lists.id, lists.user_id, lists.id,
        (SELECT count(*) FROM tasks WHERE tasks.list_id = lists.id AND NOT tasks.is_completed),
        (SELECT count(*) FROM tasks WHERE tasks.list_id = lists.id AND tasks.is_completed)
    FROM lists
    """,
]
POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION users_open_task_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_counts (scope_id, user_id) VALUES (NEW.id, NEW.id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER users_open_task_count AFTER INSERT ON users
        FOR EACH ROW EXECUTE FUNCTION users_open_task_count()
    """,
    """
    CREATE FUNCTION lists_open_task_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_counts (scope_id, user_id, list_id) VALUES (NEW.id, NEW.user_id, NEW.id);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER lists_open_task_count AFTER INSERT ON lists
        FOR EACH ROW EXECUTE FUNCTION lists_open_task_count()
    """,
    # A completion or a reopening within one scope is one UPDATE; a move is two.
    """
    CREATE FUNCTION tasks_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
            AND coalesce(OLD.list_id, OLD.user_id) = coalesce(NEW.list_id, NEW.user_id) THEN
            UPDATE task_counts
            SET open_count = open_count + OLD.is_completed::int - NEW.is_completed::int,
                done_count = done_count + NEW.is_completed::int - OLD.is_completed::int
            WHERE scope_id = coalesce(NEW.list_id, NEW.user_id);
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            UPDATE task_counts
            SET open_count = open_count - (NOT OLD.is_completed)::int,
                done_count = done_count - OLD.is_completed::int
            WHERE scope_id = coalesce(OLD.list_id, OLD.user_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            UPDATE task_counts
            SET open_count = open_count + (NOT NEW.is_completed)::int,
                done_count = done_count + NEW.is_completed::int
            WHERE scope_id = coalesce(NEW.list_id, NEW.user_id);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE CONSTRAINT TRIGGER tasks_count AFTER INSERT OR DELETE ON tasks
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tasks_count()
    """,
    """
    CREATE CONSTRAINT TRIGGER tasks_count_change AFTER UPDATE OF user_id, list_id, is_completed
        ON tasks DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.user_id <> NEW.user_id OR OLD.list_id IS DISTINCT FROM NEW.list_id
            OR OLD.is_completed <> NEW.is_completed)
        EXECUTE FUNCTION tasks_count()
    """,
]
# SQLite has one writer at a time: the counts follow each row at once.
_SQLITE_TAKE = """
        UPDATE task_counts
        SET open_count = open_count - (NOT OLD.is_completed),
            done_count = done_count - OLD.is_completed
        WHERE scope_id = coalesce(OLD.list_id, OLD.user_id);"""
_SQLITE_ADD = """
        UPDATE task_counts
        SET open_count = open_count + (NOT NEW.is_completed),
            done_count = done_count + NEW.is_completed
        WHERE scope_id = coalesce(NEW.list_id, NEW.user_id);"""
SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER users_open_task_count AFTER INSERT ON users BEGIN
        INSERT INTO task_counts (scope_id, user_id) VALUES (NEW.id, NEW.id);
    END
    """,
    """
    CREATE TRIGGER lists_open_task_count AFTER INSERT ON lists BEGIN
        INSERT INTO task_counts (scope_id, user_id, list_id) VALUES (NEW.id, NEW.user_id, NEW.id);
    END
    """,
    f"CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN {_SQLITE_ADD}\n    END",
    f"CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN {_SQLITE_TAKE}\n    END",
    f"""
    CREATE TRIGGER tasks_count_change AFTER UPDATE OF user_id, list_id, is_completed ON tasks
    WHEN NEW.user_id IS NOT OLD.user_id OR NEW.list_id IS NOT OLD.list_id
        OR NEW.is_completed IS NOT OLD.is_completed BEGIN {_SQLITE_TAKE}{_SQLITE_ADD}
    END
    """,
]
DROPPED = {
    "postgresql": [
        "DROP TRIGGER tasks_count_change ON tasks",
        "DROP TRIGGER tasks_count ON tasks",
        "DROP FUNCTION tasks_count()",
        "DROP TRIGGER lists_open_task_count ON lists",
        "DROP FUNCTION lists_open_task_count()",
        "DROP TRIGGER users_open_task_count ON users",
        "DROP FUNCTION users_open_task_count()",
    ],
    "sqlite": [
        "DROP TRIGGER tasks_count_change",
        "DROP TRIGGER tasks_count_delete",
        "DROP TRIGGER tasks_count_insert",
        "DROP TRIGGER lists_open_task_count",
        "DROP TRIGGER users_open_task_count",
    ],
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "task_counts",
        sa.Column("scope_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("open_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_task_counts_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_task_counts_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("scope_id", name=op.f("pk_task_counts")),
    )
    op.create_index(op.f("ix_task_counts_user_id"), "task_counts", ["user_id"])
    op.create_index(op.f("ix_task_counts_list_id"), "task_counts", ["list_id"], unique=True)
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    for statement in BACKFILL:
        op.execute(statement)
    op.drop_index(OPEN_COUNT_INDEX, table_name="tasks")


def downgrade() -> None:
    where = sa.text("list_id IS NOT NULL")
    op.create_index(
        OPEN_COUNT_INDEX,
        "tasks",
        ["list_id", "is_completed"],
        postgresql_where=where,
        sqlite_where=where,
    )
    for statement in DROPPED[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("task_counts")
