"""lists, subtasks and manual order

- `lists`: a user's lists, names unique per user whatever their case (`name_key`, the name in
  lower case), in the user's order (`position`); stamped for the change feed like tasks, and a
  deleted list leaves a tombstone in `list_tombstones`.
- `tasks` gains `list_id` (null: the inbox; deleting a list deletes its tasks), `parent_id`
  (a subtask; deleting the parent deletes it) and `position` among the tasks of the same list
  and parent. Existing tasks are numbered in the order they were created.
- A trigger completes a parent's open subtasks when it becomes completed, in the same
  statement, whatever the write (complete, PUT/PATCH, bulk, the toggle); recurring ones are
  left to the service, which makes their next occurrences in the same transaction.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_TRIGGERS = [
    # tasks_stamp_change (0004) only sets NEW's stamp columns, which lists have too.
    """
    CREATE TRIGGER lists_stamp_change BEFORE INSERT OR UPDATE ON lists
        FOR EACH ROW EXECUTE FUNCTION tasks_stamp_change()
    """,
    """
    CREATE FUNCTION lists_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO list_tombstones (list_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, now(), pg_current_xact_id()::text::bigint,
                nextval('task_change_seq'))
        ON CONFLICT (list_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER lists_record_deletion AFTER DELETE ON lists
        FOR EACH ROW EXECUTE FUNCTION lists_record_deletion()
    """,
    """
    CREATE FUNCTION tasks_complete_subtasks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE tasks SET is_completed = true,
            completed_at = COALESCE(NEW.completed_at, NEW.updated_at),
            updated_at = NEW.updated_at, version = version + 1
        WHERE parent_id = NEW.id AND user_id = NEW.user_id AND NOT is_completed
            AND recurrence IS NULL;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_complete_subtasks AFTER UPDATE OF is_completed ON tasks
        FOR EACH ROW
        WHEN (NEW.is_completed AND NOT OLD.is_completed AND NEW.parent_id IS NULL)
        EXECUTE FUNCTION tasks_complete_subtasks()
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER lists_stamp_insert AFTER INSERT ON lists BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE lists SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                         change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER lists_stamp_update AFTER UPDATE ON lists
    WHEN NEW.change_seq = OLD.change_seq BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE lists SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                         change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER lists_record_deletion AFTER DELETE ON lists BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO list_tombstones
            (list_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
    """
    CREATE TRIGGER tasks_complete_subtasks AFTER UPDATE OF is_completed ON tasks
    WHEN NEW.is_completed AND NOT OLD.is_completed AND NEW.parent_id IS NULL BEGIN
        UPDATE tasks SET is_completed = 1,
            completed_at = COALESCE(NEW.completed_at, NEW.updated_at),
            updated_at = NEW.updated_at, version = version + 1
        WHERE parent_id = NEW.id AND user_id = NEW.user_id AND NOT is_completed
            AND recurrence IS NULL;
    END
    """,
]

# SQLite adds the columns, then their references as table constraints in the table's stored
# definition: SQLite's documented procedure for a change that leaves the stored rows as they
# are (every new value is null, so every reference holds). Batch mode would copy the table
# instead, dropping its triggers and, with foreign keys on, cascading the old table's drop.
SQLITE_COLUMNS = [
    "ALTER TABLE tasks ADD COLUMN list_id CHAR(32)",
    "ALTER TABLE tasks ADD COLUMN parent_id CHAR(32)",
]
SQLITE_REFERENCES = (
    ",\n\tCONSTRAINT fk_tasks_list_id_lists FOREIGN KEY(list_id) "
    "REFERENCES lists (id) ON DELETE CASCADE"
    ",\n\tCONSTRAINT fk_tasks_parent_id_tasks FOREIGN KEY(parent_id) "
    "REFERENCES tasks (id) ON DELETE CASCADE"
)


def _sqlite_add_references() -> None:
    conn = op.get_bind()
    for statement in SQLITE_COLUMNS:
        op.execute(statement)
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    definition = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
    ).scalar_one()
    head, _, _ = definition.rstrip().rpartition(")")
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'tasks'",
        (f"{head.rstrip()}{SQLITE_REFERENCES}\n)",),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


# Existing tasks: in the inbox, at the top level, in the order they were created, with the
# gap todo_api.kit.ordering leaves between neighbours (STEP, 2**20).
NUMBER_EXISTING_TASKS = """
    UPDATE tasks SET position = numbered.n * 1048576
    FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS n
          FROM tasks) AS numbered
    WHERE tasks.id = numbered.id
"""

TASK_INDEXES = {
    "ix_tasks_user_id_list_id_parent_id_position_id": [
        "user_id",
        "list_id",
        "parent_id",
        "position",
        "id",
    ],
    "ix_tasks_user_id_position_id": ["user_id", "position", "id"],
    "ix_tasks_parent_id_position_id": ["parent_id", "position", "id"],
    "ix_tasks_list_id_is_completed": ["list_id", "is_completed"],
}


def _sqlite_drop_references() -> None:
    """The upgrade's table constraints out of the stored definition again (same procedure)."""
    conn = op.get_bind()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    definition = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
    ).scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'tasks'",
        (definition.replace(SQLITE_REFERENCES, ""),),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "lists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("color", sa.String(7), nullable=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_lists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lists")),
    )
    op.create_index("uq_lists_user_id_name_key", "lists", ["user_id", "name_key"], unique=True)
    op.create_index("ix_lists_user_id_position_id", "lists", ["user_id", "position", "id"])
    op.create_index("ix_lists_user_id_change", "lists", ["user_id", "change_txid", "change_seq"])
    op.create_table(
        "list_tombstones",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_list_tombstones")),
    )
    op.create_index(
        "ix_list_tombstones_user_id_change",
        "list_tombstones",
        ["user_id", "change_txid", "change_seq"],
    )
    op.create_index(op.f("ix_list_tombstones_deleted_at"), "list_tombstones", ["deleted_at"])

    if postgresql:
        list_fk = sa.ForeignKey("lists.id", name=op.f("fk_tasks_list_id_lists"), ondelete="CASCADE")
        parent_fk = sa.ForeignKey(
            "tasks.id", name=op.f("fk_tasks_parent_id_tasks"), ondelete="CASCADE"
        )
        op.add_column("tasks", sa.Column("list_id", sa.Uuid(), list_fk, nullable=True))
        op.add_column("tasks", sa.Column("parent_id", sa.Uuid(), parent_fk, nullable=True))
    else:
        _sqlite_add_references()
    op.add_column(
        "tasks",
        sa.Column("position", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(NUMBER_EXISTING_TASKS)
    for name, columns in TASK_INDEXES.items():
        op.create_index(name, "tasks", columns)
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tasks_complete_subtasks ON tasks")
        op.execute("DROP FUNCTION tasks_complete_subtasks()")
        op.execute("DROP TRIGGER lists_record_deletion ON lists")
        op.execute("DROP FUNCTION lists_record_deletion()")
        op.execute("DROP TRIGGER lists_stamp_change ON lists")
    else:
        for trigger in (
            "tasks_complete_subtasks",
            "lists_record_deletion",
            "lists_stamp_update",
            "lists_stamp_insert",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    for name in TASK_INDEXES:
        op.drop_index(name, table_name="tasks")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_drop_references()  # SQLite drops no column a reference names
    for column in ("position", "parent_id", "list_id"):
        op.drop_column("tasks", column)
    op.drop_table("list_tombstones")
    op.drop_table("lists")
