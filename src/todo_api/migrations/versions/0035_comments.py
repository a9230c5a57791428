"""comments on tasks: `task_comments`, their tombstones, and `tasks.comment_count`

- `task_comments`: a task's comments, stamped for the change feed from the tasks' sequence
  (`tasks_stamp_change`, as lists are), each carrying its task's owner and list so that the
  feed finds them as it finds tasks; a trigger on `tasks` carries a task's move to its
  comments (restamping them: the members of the list it came into get them).
- `comment_tombstones`: deleted comments for the feed, written by a trigger.
- `tasks.comment_count`: kept by the comments' insert and delete triggers, in the comment's
  own transaction, so that a page of tasks reads it with the row, at no cost of its own. A
  constant default: the catalogue alone changes, nothing is rewritten.

Creating the triggers on `tasks` takes a SHARE ROW EXCLUSIVE lock for that moment, bounded by
the runner's `lock_timeout` (migrations/online.py); the new tables are empty, so their indexes
are built at once.

Revision ID: 0035
Revises: 0033
Create Date: 2026-11-26
"""

# The SQLite triggers share their stamping step, a constant of this module: nothing from
# outside reaches their SQL.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0035"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_TRIGGERS = [
    # tasks_stamp_change (0004) only sets NEW's stamp columns, which comments have too.
    """
    CREATE TRIGGER task_comments_stamp_change BEFORE INSERT OR UPDATE ON task_comments
        FOR EACH ROW EXECUTE FUNCTION tasks_stamp_change()
    """,
    """
    CREATE FUNCTION task_comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE tasks SET comment_count = comment_count + 1 WHERE id = NEW.task_id;
            RETURN NULL;
        END IF;
        INSERT INTO comment_tombstones
            (comment_id, task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.task_id, OLD.user_id, OLD.list_id, now(),
                pg_current_xact_id()::text::bigint, nextval('task_change_seq'))
        ON CONFLICT (comment_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        UPDATE tasks SET comment_count = comment_count - 1
        WHERE id = OLD.task_id AND comment_count > 0;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER task_comments_count AFTER INSERT OR DELETE ON task_comments
        FOR EACH ROW EXECUTE FUNCTION task_comments_count()
    """,
    """
    CREATE FUNCTION tasks_carry_comments() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_comments SET user_id = NEW.user_id, list_id = NEW.list_id
        WHERE task_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_carry_comments AFTER UPDATE OF user_id, list_id ON tasks
        FOR EACH ROW
        WHEN (NEW.comment_count > 0 AND (NEW.user_id <> OLD.user_id
              OR NEW.list_id IS DISTINCT FROM OLD.list_id))
        EXECUTE FUNCTION tasks_carry_comments()
    """,
]

_SQLITE_STAMP = """
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE task_comments SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                                 change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;"""

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER task_comments_stamp_insert AFTER INSERT ON task_comments BEGIN{_SQLITE_STAMP}
        UPDATE tasks SET comment_count = comment_count + 1 WHERE id = NEW.task_id;
    END
    """,
    f"""
    CREATE TRIGGER task_comments_stamp_update AFTER UPDATE ON task_comments
    WHEN NEW.change_seq = OLD.change_seq BEGIN{_SQLITE_STAMP}
    END
    """,
    """
    CREATE TRIGGER task_comments_record_deletion AFTER DELETE ON task_comments BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO comment_tombstones
            (comment_id, task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.task_id, OLD.user_id, OLD.list_id,
                strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
        UPDATE tasks SET comment_count = comment_count - 1
        WHERE id = OLD.task_id AND comment_count > 0;
    END
    """,
    """
    CREATE TRIGGER tasks_carry_comments AFTER UPDATE OF user_id, list_id ON tasks
    WHEN NEW.comment_count > 0 AND (NEW.user_id <> OLD.user_id
         OR NEW.list_id IS NOT OLD.list_id) BEGIN
        UPDATE task_comments SET user_id = NEW.user_id, list_id = NEW.list_id
        WHERE task_id = NEW.id;
    END
    """,
]

SQLITE_TRIGGER_NAMES = (
    "tasks_carry_comments",
    "task_comments_record_deletion",
    "task_comments_stamp_update",
    "task_comments_stamp_insert",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "task_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_comments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_task_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    in_a_list = sa.text("list_id IS NOT NULL")
    # New, empty tables: their indexes are built at once, blocking nobody.
    op.create_index(
        "ix_task_comments_task_id_created_at_id", "task_comments", ["task_id", "created_at", "id"]
    )
    op.create_index(
        "ix_task_comments_user_id_change", "task_comments", ["user_id", "change_txid", "change_seq"]
    )
    op.create_index(
        "ix_task_comments_list_id_change",
        "task_comments",
        ["list_id", "change_txid", "change_seq"],
        postgresql_where=in_a_list,
        sqlite_where=in_a_list,
    )
    op.create_index("ix_task_comments_author_id", "task_comments", ["author_id"])
    op.create_table(
        "comment_tombstones",
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_comment_tombstones")),
    )
    op.create_index(
        "ix_comment_tombstones_user_id_change",
        "comment_tombstones",
        ["user_id", "change_txid", "change_seq"],
    )
    op.create_index(
        "ix_comment_tombstones_list_id_change",
        "comment_tombstones",
        ["list_id", "change_txid", "change_seq"],
    )
    op.create_index(op.f("ix_comment_tombstones_deleted_at"), "comment_tombstones", ["deleted_at"])
    online.add_column(
        "tasks",
        sa.Column("comment_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tasks_carry_comments ON tasks")
        op.execute("DROP FUNCTION tasks_carry_comments()")
        op.execute("DROP TRIGGER task_comments_count ON task_comments")
        op.execute("DROP FUNCTION task_comments_count()")
    else:
        for trigger in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("comment_tombstones")
    op.drop_table("task_comments")
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("tasks", "comment_count")
