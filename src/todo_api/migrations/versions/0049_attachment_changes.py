"""attachments in the change feed: their task's owner and list, their stamps, and the
tombstones of those deleted

- `attachments.user_id`, `list_id`: the task's owner and list, as comments carry them (0033),
  so that the feed finds a user's files, and a shared list's, by the same indexed look-ups as
  their tasks. Set by a trigger from the task on insert (the previous release writes neither)
  and carried by a trigger on `tasks` when the task moves; existing rows are backfilled here.
  Nullable: NOT NULL waits for a later release (migrations/online.py, rule 7).
- `attachments.change_txid`, `change_seq`: stamped from the tasks' sequence by the tasks' own
  stamping function (as comments and sections are), so that files are one stream with them;
  the move's update restamps a task's files, which then come to whoever sees it where it went.
- `attachment_tombstones`: deleted files (by the service, with their task, by the sweep), with
  the task's owner and list at the time, written by a trigger.
- The feed's indexes: a user's files and a list's in change order, built concurrently.

Creating the triggers on `attachments` and `tasks` takes a SHARE ROW EXCLUSIVE lock on each
for that moment, bounded by the runner's `lock_timeout` (migrations/online.py). The previous
release neither reads nor writes the new columns or table.

Revision ID: 0049
Revises: 0048
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0049"
down_revision: str | None = "0048"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USER_INDEX = "ix_attachments_user_id_change"
_LIST_INDEX = "ix_attachments_list_id_change"

# OR REPLACE: every step may run twice (migrations/online.py).
POSTGRESQL_TRIGGERS = [
    # tasks_stamp_change (0004) only sets NEW's stamp columns, which attachments have now.
    """
    CREATE OR REPLACE TRIGGER attachments_stamp_change BEFORE INSERT OR UPDATE ON attachments
        FOR EACH ROW EXECUTE FUNCTION tasks_stamp_change()
    """,
    """
    CREATE OR REPLACE FUNCTION attachments_take_task() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT user_id, list_id INTO NEW.user_id, NEW.list_id FROM tasks WHERE id = NEW.task_id;
        RETURN NEW;
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER attachments_take_task BEFORE INSERT ON attachments
        FOR EACH ROW EXECUTE FUNCTION attachments_take_task()
    """,
    # A row the backfill has not reached yet was in nobody's feed: it leaves no tombstone.
    """
    CREATE OR REPLACE FUNCTION attachments_record_deletion() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO attachment_tombstones
            (attachment_id, task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.task_id, OLD.user_id, OLD.list_id, now(),
                pg_current_xact_id()::text::bigint, nextval('task_change_seq'))
        ON CONFLICT (attachment_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER attachments_record_deletion AFTER DELETE ON attachments
        FOR EACH ROW WHEN (OLD.user_id IS NOT NULL)
        EXECUTE FUNCTION attachments_record_deletion()
    """,
    """
    CREATE OR REPLACE FUNCTION tasks_carry_attachments() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE attachments SET user_id = NEW.user_id, list_id = NEW.list_id
        WHERE task_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER tasks_carry_attachments AFTER UPDATE OF user_id, list_id ON tasks
        FOR EACH ROW
        WHEN (NEW.user_id <> OLD.user_id OR NEW.list_id IS DISTINCT FROM OLD.list_id)
        EXECUTE FUNCTION tasks_carry_attachments()
    """,
]

_SQLITE_STAMP = """
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE attachments SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                               change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;"""

SQLITE_TRIGGERS = [
    # One update, the task's owner and list with the stamp: a second would stamp it again.
    """
    CREATE TRIGGER IF NOT EXISTS attachments_stamp_insert AFTER INSERT ON attachments BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE attachments SET user_id = (SELECT user_id FROM tasks WHERE id = NEW.task_id),
                               list_id = (SELECT list_id FROM tasks WHERE id = NEW.task_id),
                               change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                               change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS attachments_stamp_update AFTER UPDATE ON attachments
    WHEN NEW.change_seq = OLD.change_seq BEGIN{_SQLITE_STAMP}
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS attachments_record_deletion AFTER DELETE ON attachments
    WHEN OLD.user_id IS NOT NULL BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO attachment_tombstones
            (attachment_id, task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.task_id, OLD.user_id, OLD.list_id,
                strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS tasks_carry_attachments AFTER UPDATE OF user_id, list_id ON tasks
    WHEN NEW.user_id <> OLD.user_id OR NEW.list_id IS NOT OLD.list_id BEGIN
        UPDATE attachments SET user_id = NEW.user_id, list_id = NEW.list_id
        WHERE task_id = NEW.id;
    END
    """,
]

SQLITE_TRIGGER_NAMES = (
    "tasks_carry_attachments",
    "attachments_record_deletion",
    "attachments_stamp_update",
    "attachments_stamp_insert",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("user_id", "list_id"):
        online.add_column("attachments", sa.Column(name, sa.Uuid(), nullable=True))
    for name in ("change_txid", "change_seq"):
        online.add_column(
            "attachments",
            sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        )
    op.create_table(
        "attachment_tombstones",
        sa.Column("attachment_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachment_tombstones")),
        if_not_exists=True,
    )
    # A new, empty table: its indexes are built at once, blocking nobody.
    for column in ("user_id", "list_id"):
        op.create_index(
            f"ix_attachment_tombstones_{column}_change",
            "attachment_tombstones",
            [column, "change_txid", "change_seq"],
            if_not_exists=True,
        )
    op.create_index(
        op.f("ix_attachment_tombstones_deleted_at"),
        "attachment_tombstones",
        ["deleted_at"],
        if_not_exists=True,
    )
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    # After the triggers (which fill the rows written from now on), outside the schema
    # change's transaction on PostgreSQL; each row's update stamps it.
    online.backfill(
        "attachments",
        "user_id = (SELECT user_id FROM tasks WHERE tasks.id = attachments.task_id), "
        "list_id = (SELECT list_id FROM tasks WHERE tasks.id = attachments.task_id)",
        "user_id IS NULL",
    )
    # Last: built outside the migration's transaction on PostgreSQL.
    online.create_index(_USER_INDEX, "attachments", "user_id, change_txid, change_seq")
    online.create_index(
        _LIST_INDEX,
        "attachments",
        "list_id, change_txid, change_seq",
        where="list_id IS NOT NULL",
    )


def downgrade() -> None:
    online.drop_index(_LIST_INDEX)
    online.drop_index(_USER_INDEX)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tasks_carry_attachments ON tasks")
        op.execute("DROP FUNCTION IF EXISTS tasks_carry_attachments()")
        op.execute("DROP TRIGGER IF EXISTS attachments_record_deletion ON attachments")
        op.execute("DROP FUNCTION IF EXISTS attachments_record_deletion()")
        op.execute("DROP TRIGGER IF EXISTS attachments_take_task ON attachments")
        op.execute("DROP FUNCTION IF EXISTS attachments_take_task()")
        op.execute("DROP TRIGGER IF EXISTS attachments_stamp_change ON attachments")
    else:
        for trigger in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("attachment_tombstones")
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    for name in ("change_seq", "change_txid", "list_id", "user_id"):
        op.drop_column("attachments", name)
