"""activity: who changed what in a list or a task, with the values the change replaced

- `activity`: one item per change, newest last by its key (`seq`). A task's own changes
  (created, changed, completed, reopened, moved, deleted) and a list's (renamed, recoloured,
  passed to another owner) are written by triggers on `tasks` and `lists`, beside the change
  feed's stamps, whichever way the change came (REST, bulk, MCP, CalDAV, an import): the feed
  keeps each row as it is now, and only the write itself sees the values it replaces. An
  update that touches none of the fields people change (a comment counted, a place in the
  manual order, the feed's own stamps) writes none. Comments and memberships are written by
  their services (todo_api.kit.activity).
- `tasks.changed_by`: who changed a task last, set by every write of the service, which the
  trigger names as the change's actor. Nullable, no default: the catalogue alone changes.

The items of a list go with the list, those of an inbox with its user (foreign keys); a task
deleted with its list or its user's account leaves no item. Creating the triggers on `tasks`
and `lists` takes a SHARE ROW EXCLUSIVE lock for that moment, bounded by the runner's
`lock_timeout` (migrations/online.py); the new table's indexes are built at once (it is
empty).

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-26
"""

# The triggers are written from this module's own constant field names: nothing from outside
# reaches their SQL.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The fields of a task whose changes are its activity (each [old, new]).
TASK_FIELDS = (
    "title",
    "description",
    "is_completed",
    "priority",
    "due_at",
    "due_date",
    "start_at",
    "start_date",
    "timezone",
    "tags",
    "recurrence",
    "assignee_id",
    "list_id",
    "parent_id",
)
# A list's, and the name its change carries.
LIST_FIELDS = {"name": "name", "color": "color", "user_id": "owner_id"}

_INSERT = "INSERT INTO activity (id, at, list_id, owner_id, task_id, actor_id, action, changes)"


def _pg_changes(fields: dict[str, str]) -> str:
    return "\n".join(
        f"""        IF OLD.{column} IS DISTINCT FROM NEW.{column} THEN
            changed := changed || jsonb_build_object('{name}',
                jsonb_build_array(to_jsonb(OLD.{column}), to_jsonb(NEW.{column})));
        END IF;"""
        for column, name in fields.items()
    )


def _pg_differs(fields: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in fields)


_TASK_FIELDS = {name: name for name in TASK_FIELDS}
POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION tasks_record_activity() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed jsonb := '{{}}'::jsonb;
        kind text;
        actor uuid;
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
{_pg_changes(_TASK_FIELDS)}
        IF changed = '{{}}'::jsonb THEN
            RETURN NULL;
        END IF;
        kind := CASE
            WHEN changed ? 'is_completed' AND NEW.is_completed THEN 'task.completed'
            WHEN changed ? 'is_completed' THEN 'task.reopened'
            WHEN changed ? 'list_id' THEN 'task.moved'
            ELSE 'task.updated' END;
        actor := CASE WHEN kind = 'task.completed'
            THEN coalesce(NEW.completed_by, NEW.changed_by) ELSE NEW.changed_by END;
        {_INSERT}
        VALUES (gen_random_uuid(), clock_timestamp(), NEW.list_id,
                CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id, actor, kind,
                changed::json);
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_record_activity AFTER INSERT OR DELETE ON tasks
        FOR EACH ROW EXECUTE FUNCTION tasks_record_activity()
    """,
    f"""
    CREATE TRIGGER tasks_record_changes AFTER UPDATE ON tasks
        FOR EACH ROW WHEN ({_pg_differs(TASK_FIELDS)})
        EXECUTE FUNCTION tasks_record_activity()
    """,
    f"""
    CREATE FUNCTION lists_record_activity() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed jsonb := '{{}}'::jsonb;
    BEGIN
{_pg_changes(LIST_FIELDS)}
        {_INSERT}
        VALUES (gen_random_uuid(), clock_timestamp(), NEW.id, NULL, NULL, NEW.user_id,
                'list.updated', changed::json);
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER lists_record_activity AFTER UPDATE ON lists
        FOR EACH ROW WHEN ({_pg_differs(tuple(LIST_FIELDS))})
        EXECUTE FUNCTION lists_record_activity()
    """,
]

_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"
_SQLITE_ID = "lower(hex(randomblob(16)))"


def _sqlite_differs(fields: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in fields)


def _sqlite_changes(fields: dict[str, str]) -> str:
    pairs = " UNION ALL ".join(
        f"SELECT '{name}' AS f, OLD.{column} AS o, NEW.{column} AS n"
        for column, name in fields.items()
    )
    return f"(SELECT json_group_object(f, json_array(o, n)) FROM ({pairs}) WHERE o IS NOT n)"


SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER tasks_activity_insert AFTER INSERT ON tasks BEGIN
        {_INSERT}
        VALUES ({_SQLITE_ID}, {_SQLITE_NOW}, NEW.list_id,
                CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id, NEW.created_by,
                'task.created',
                CASE WHEN NEW.assignee_id IS NOT NULL
                    THEN json_object('assignee_id', json_array(NULL, NEW.assignee_id)) END);
    END
    """,
    f"""
    CREATE TRIGGER tasks_activity_delete AFTER DELETE ON tasks
    WHEN (OLD.list_id IS NOT NULL AND EXISTS (SELECT 1 FROM lists WHERE id = OLD.list_id))
      OR (OLD.list_id IS NULL AND EXISTS (SELECT 1 FROM users WHERE id = OLD.user_id)) BEGIN
        {_INSERT}
        VALUES ({_SQLITE_ID}, {_SQLITE_NOW}, OLD.list_id,
                CASE WHEN OLD.list_id IS NULL THEN OLD.user_id END, OLD.id, OLD.changed_by,
                'task.deleted', json_object('title', json_array(OLD.title, NULL)));
    END
    """,
    f"""
    CREATE TRIGGER tasks_activity_update AFTER UPDATE ON tasks
    WHEN {_sqlite_differs(TASK_FIELDS)} BEGIN
        {_INSERT}
        SELECT {_SQLITE_ID}, {_SQLITE_NOW}, NEW.list_id,
            CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id,
            CASE WHEN NEW.is_completed AND NOT OLD.is_completed
                THEN coalesce(NEW.completed_by, NEW.changed_by) ELSE NEW.changed_by END,
            CASE WHEN OLD.is_completed IS NOT NEW.is_completed
                    THEN CASE WHEN NEW.is_completed THEN 'task.completed'
                              ELSE 'task.reopened' END
                 WHEN OLD.list_id IS NOT NEW.list_id THEN 'task.moved'
                 ELSE 'task.updated' END,
            {_sqlite_changes(_TASK_FIELDS)};
    END
    """,
    f"""
    CREATE TRIGGER lists_activity_update AFTER UPDATE ON lists
    WHEN {_sqlite_differs(tuple(LIST_FIELDS))} BEGIN
        {_INSERT}
        SELECT {_SQLITE_ID}, {_SQLITE_NOW}, NEW.id, NULL, NULL, NEW.user_id, 'list.updated',
            {_sqlite_changes(LIST_FIELDS)};
    END
    """,
]
SQLITE_TRIGGER_NAMES = (
    "lists_activity_update",
    "tasks_activity_update",
    "tasks_activity_delete",
    "tasks_activity_insert",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "activity",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        # The writing transaction (PostgreSQL; 0 on SQLite, whose writers take turns): items
        # are read on in (txid, seq) order below the change feed's bound, so that one committed
        # late is never passed over (todo_api.notifications).
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("pg_current_xact_id()::text::bigint" if postgresql else "0"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_activity_list_id_lists"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_activity_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_activity")),
    )
    # A new, empty table: its indexes are built at once, blocking nobody.
    op.create_index("ix_activity_list_id_seq", "activity", ["list_id", "seq"])
    op.create_index("ix_activity_owner_id_seq", "activity", ["owner_id", "seq"])
    op.create_index("ix_activity_task_id_seq", "activity", ["task_id", "seq"])
    op.create_index("ix_activity_at", "activity", ["at"])
    op.create_index("ix_activity_txid_seq", "activity", ["txid", "seq"])
    online.add_column("tasks", sa.Column("changed_by", sa.Uuid(), nullable=True))
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER lists_record_activity ON lists")
        op.execute("DROP FUNCTION lists_record_activity()")
        op.execute("DROP TRIGGER tasks_record_changes ON tasks")
        op.execute("DROP TRIGGER tasks_record_activity ON tasks")
        op.execute("DROP FUNCTION tasks_record_activity()")
    else:
        for trigger in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("activity")
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("tasks", "changed_by")
