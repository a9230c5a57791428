"""activity: the same items for less work per write of a task

Writing an activity item (migration 0034) made each write of a task cost a fifth to a third
more PostgreSQL CPU (bench/README.md, issue 53). The items stay as they are; what each
insert does shrinks:

- No foreign keys on `activity`: each insert checked its list or its owner, taking a lock on
  that row of `lists` or `users` (a write of that row, and WAL). Triggers on `lists` and
  `users` delete the items of a list or an inbox that goes instead, as ON DELETE CASCADE did.
  Nothing writes an item for a list or user that is gone: the triggers on `tasks` skip a
  task deleted with its list or user, and every write that makes an item holds, until it
  commits, a row that deleting the list or user must lock first (the task it writes, or
  the list or user that the foreign keys of `tasks`, `task_comments` and `list_members`
  lock); the deletion's trigger runs after it and deletes that item too.
- An item enters one of the list's and the inbox's indexes, not both (partial indexes: an
  item has a list or an owner).
- The tasks' trigger builds an update's changes in one expression, and its kind and actor in
  the INSERT itself, rather than statement by statement.

Online: the new indexes are built concurrently before the old ones are dropped (pages of a
list's or an inbox's activity read one or the other throughout); dropping a foreign key and
creating the triggers lock `activity`, `lists` and `users` for that moment, bounded by the
runner's `lock_timeout` (migrations/online.py). The previous release works on the result (it
reads and writes the same columns). SQLite gets the same: the table is copied without its
foreign keys (SQLite cannot drop one in place), with the same triggers.

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-26
"""

# The statements are written from this module's own constant names: nothing from outside
# reaches their SQL.
# ruff: noqa: S608

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0034 = importlib.import_module("todo_api.migrations.versions.0034_activity")

# The list's and the inbox's indexes, (columns, predicate), and those they replace.
_INDEXES = {
    "ix_activity_list_seq": ("list_id, seq", "list_id IS NOT NULL"),
    "ix_activity_owner_seq": ("owner_id, seq", "owner_id IS NOT NULL"),
}
_OLD_INDEXES = {
    "ix_activity_list_id_seq": "list_id, seq",
    "ix_activity_owner_id_seq": "owner_id, seq",
}
_FOREIGN_KEYS = {
    "fk_activity_list_id_lists": ("list_id", "lists"),
    "fk_activity_owner_id_users": ("owner_id", "users"),
}
_INSERT = _0034._INSERT
_COLUMNS = "seq, id, at, list_id, owner_id, task_id, actor_id, action, changes, txid"


def _changes() -> str:
    """An update's changes, {"<field>": [old, new]} of the fields that differ, in one
    expression (the nulls of those that do not are stripped; no field's value holds an object
    of its own, so nothing inside a value is)."""
    pairs = ",\n".join(
        f"                '{name}', CASE WHEN OLD.{name} IS DISTINCT FROM NEW.{name}\n"
        f"                    THEN jsonb_build_array(OLD.{name}, NEW.{name}) END"
        for name in _0034.TASK_FIELDS
    )
    return f"jsonb_strip_nulls(jsonb_build_object(\n{pairs}))::json"


TASKS_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION tasks_record_activity() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_INSERT}
            VALUES (gen_random_uuid(), clock_timestamp(), NEW.list_id,
                    CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id, NEW.created_by,
                    'task.created',
                    CASE WHEN NEW.assignee_id IS NOT NULL THEN json_build_object(
                        'assignee_id', json_build_array(NULL, NEW.assignee_id)) END);
            RETURN NULL;
        END IF;
        IF TG_OP = 'DELETE' THEN
            -- Deleted with its list or its user's account: their activity goes with them.
            IF (OLD.list_id IS NOT NULL AND NOT EXISTS (SELECT FROM lists WHERE id = OLD.list_id))
               OR (OLD.list_id IS NULL AND NOT EXISTS (SELECT FROM users WHERE id = OLD.user_id))
            THEN
                RETURN NULL;
            END IF;
            {_INSERT}
            VALUES (gen_random_uuid(), clock_timestamp(), OLD.list_id,
                    CASE WHEN OLD.list_id IS NULL THEN OLD.user_id END, OLD.id, OLD.changed_by,
                    'task.deleted',
                    json_build_object('title', json_build_array(OLD.title, NULL)));
            RETURN NULL;
        END IF;
        -- An update: its trigger's WHEN let through only one that changed a field named here.
        {_INSERT}
        VALUES (gen_random_uuid(), clock_timestamp(), NEW.list_id,
                CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id,
                CASE WHEN NEW.is_completed AND NOT OLD.is_completed
                    THEN coalesce(NEW.completed_by, NEW.changed_by) ELSE NEW.changed_by END,
                CASE WHEN OLD.is_completed <> NEW.is_completed
                        THEN CASE WHEN NEW.is_completed THEN 'task.completed'
                                  ELSE 'task.reopened' END
                     WHEN OLD.list_id IS DISTINCT FROM NEW.list_id THEN 'task.moved'
                     ELSE 'task.updated' END,
                {_changes()});
        RETURN NULL;
    END $$
    """

# The items of a list or an inbox that goes go with it (what the foreign keys did).
_FORGETTING = {
    "lists": ("activity_forget_list", "list_id"),
    "users": ("activity_forget_owner", "owner_id"),
}


def _postgresql_forgetting() -> list[str]:
    statements = []
    for table, (name, column) in _FORGETTING.items():
        statements += [
            f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM activity WHERE {column} = OLD.id;
                RETURN NULL;
            END $$
            """,
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
    return statements


def _sqlite_forgetting() -> list[str]:
    return [
        f"CREATE TRIGGER {name} AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM activity WHERE {column} = OLD.id; END"
        for table, (name, column) in _FORGETTING.items()
    ]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if not postgresql:
        _sqlite_copy(foreign_keys=False)
    for name, (columns, where) in _INDEXES.items():
        online.create_index(name, "activity", columns, where=where)
    for name in _OLD_INDEXES:
        online.drop_index(name)
    if postgresql:
        for statement in _postgresql_forgetting():
            op.execute(statement)
        for name in _FOREIGN_KEYS:
            op.execute(f"ALTER TABLE activity DROP CONSTRAINT IF EXISTS {name}")
        op.execute(TASKS_FUNCTION)
    else:
        for statement in _sqlite_forgetting():
            op.execute(statement)


def _sqlite_copy(*, foreign_keys: bool) -> None:
    """SQLite adds or drops a foreign key by copying the table: copied out and back, rather
    than renamed (the triggers on `tasks` and `lists` name `activity`, and SQLite checks every
    trigger on a rename, while the table is gone). Its indexes but the list's and the inbox's
    are made again."""
    keys = [
        sa.ForeignKeyConstraint([column], [f"{referent}.id"], name=op.f(name), ondelete="CASCADE")
        for name, (column, referent) in _FOREIGN_KEYS.items()
        if foreign_keys
    ]
    op.execute("CREATE TABLE activity_copy AS SELECT * FROM activity")
    op.drop_table("activity")
    op.create_table(
        "activity",
        sa.Column("seq", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        *keys,
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_activity")),
    )
    op.execute(f"INSERT INTO activity ({_COLUMNS}) SELECT {_COLUMNS} FROM activity_copy")
    op.execute("DROP TABLE activity_copy")
    op.create_index("ix_activity_task_id_seq", "activity", ["task_id", "seq"])
    op.create_index("ix_activity_at", "activity", ["at"])
    op.create_index("ix_activity_txid_seq", "activity", ["txid", "seq"])


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            _0034.POSTGRESQL_TRIGGERS[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        )
        for table, (name, _column) in _FORGETTING.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        for name, (column, referent) in _FOREIGN_KEYS.items():
            online.add_foreign_key(name, "activity", column, referent, "id", "CASCADE")
            online.validate(name, "activity")
    else:
        for name, _column in _FORGETTING.values():
            op.execute(f"DROP TRIGGER {name}")
        _sqlite_copy(foreign_keys=True)
    for name, columns in _OLD_INDEXES.items():
        online.create_index(name, "activity", columns)
    for name in _INDEXES:
        online.drop_index(name)
