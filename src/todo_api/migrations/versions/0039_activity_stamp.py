"""activity: a task's item is written by the trigger that stamps the write, with its stamp

Each write of a task fired two row triggers on PostgreSQL: the BEFORE trigger that gives the
row its change-feed stamp (`change_txid`, `change_seq`, migrations 0004 and 0020), and the AFTER
trigger that wrote its activity item (migration 0034). The AFTER trigger cost a write a
quarter of what its item cost (bench/README.md, issue 53): its event is queued with the
row's old and new versions, which are fetched again when the statement ends, and its
function is a second PL/pgSQL call. The item also drew a number of its own (the table's
identity) and read the transaction's id again.

Now the stamping trigger writes the item of an INSERT or UPDATE itself, and the item's
position is the write's stamp: `activity.seq` is the `change_seq` of the write (its `txid`
already was that write's transaction), so an item and the change it records sit at the same
place in the feed's order. Items that services write (comments, memberships), a list's
changes and a task's deletion draw from the same sequence, `task_change_seq`, by the column's
default. A deletion keeps its AFTER trigger (it checks whether the list or the user went
too, which a BEFORE trigger could not see).

The stamping trigger is the last BEFORE trigger on `tasks` (the only one), so the values it
records are those written. SQLite's triggers are unchanged.

Online: replacing the functions and triggers takes `tasks`' and `activity`'s locks for that
moment (bounded by the runner's `lock_timeout`); the identity becomes a default without a
rewrite. Items already written keep their numbers: every item so far came with at least one
draw from `task_change_seq` (the write it records took a stamp), so the sequence is past
them; the migration moves it past the largest if not. The previous release works on the
result (it writes items without `seq`).

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-26
"""

# The statements are written from this module's own and earlier migrations' constants:
# nothing from outside reaches their SQL.
# ruff: noqa: S608

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0020 = importlib.import_module("todo_api.migrations.versions.0020_task_arrivals")
_0034 = importlib.import_module("todo_api.migrations.versions.0034_activity")
_0038 = importlib.import_module("todo_api.migrations.versions.0038_activity_cost")

_STAMP = "tasks_stamp_and_record"
_INSERT = (
    "INSERT INTO activity (seq, txid, id, at, list_id, owner_id, task_id, actor_id, action, "
    "changes)"
)
_OLD = ", ".join(f"OLD.{name}" for name in _0034.TASK_FIELDS)
_NEW = ", ".join(f"NEW.{name}" for name in _0034.TASK_FIELDS)

STAMP_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION {_STAMP}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_txid := pg_current_xact_id()::text::bigint;
        NEW.change_seq := nextval('task_change_seq');
        IF TG_OP = 'INSERT' THEN
            NEW.arrived_txid := NEW.change_txid;
            NEW.arrived_seq := NEW.change_seq;
            {_INSERT}
            VALUES (NEW.change_seq, NEW.change_txid, gen_random_uuid(), clock_timestamp(),
                    NEW.list_id, CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id,
                    NEW.created_by, 'task.created',
                    CASE WHEN NEW.assignee_id IS NOT NULL THEN json_build_object(
                        'assignee_id', json_build_array(NULL, NEW.assignee_id)) END);
            RETURN NEW;
        END IF;
        IF NEW.list_id IS DISTINCT FROM OLD.list_id THEN
            NEW.arrived_txid := NEW.change_txid;
            NEW.arrived_seq := NEW.change_seq;
        END IF;
        -- An item only for a write that changed a field the activity shows.
        IF ({_OLD}) IS DISTINCT FROM ({_NEW}) THEN
            {_INSERT}
            VALUES (NEW.change_seq, NEW.change_txid, gen_random_uuid(), clock_timestamp(),
                    NEW.list_id, CASE WHEN NEW.list_id IS NULL THEN NEW.user_id END, NEW.id,
                    CASE WHEN NEW.is_completed AND NOT OLD.is_completed
                        THEN coalesce(NEW.completed_by, NEW.changed_by) ELSE NEW.changed_by END,
                    CASE WHEN OLD.is_completed <> NEW.is_completed
                            THEN CASE WHEN NEW.is_completed THEN 'task.completed'
                                      ELSE 'task.reopened' END
                         WHEN OLD.list_id IS DISTINCT FROM NEW.list_id THEN 'task.moved'
                         ELSE 'task.updated' END,
                    {_0038._changes()});
        END IF;
        RETURN NEW;
    END $$
    """

DELETION_FUNCTION = f"""
    CREATE OR REPLACE FUNCTION tasks_record_activity() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Deleted with its list or its user's account: their activity goes with them.
        IF (OLD.list_id IS NOT NULL AND NOT EXISTS (SELECT FROM lists WHERE id = OLD.list_id))
           OR (OLD.list_id IS NULL AND NOT EXISTS (SELECT FROM users WHERE id = OLD.user_id))
        THEN
            RETURN NULL;
        END IF;
        {_0034._INSERT}
        VALUES (gen_random_uuid(), clock_timestamp(), OLD.list_id,
                CASE WHEN OLD.list_id IS NULL THEN OLD.user_id END, OLD.id, OLD.changed_by,
                'task.deleted', json_build_object('title', json_build_array(OLD.title, NULL)));
        RETURN NULL;
    END $$
    """


def _stamp_trigger(function: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS tasks_stamp_change ON tasks",
        f"""
        CREATE TRIGGER tasks_stamp_change BEFORE INSERT OR UPDATE ON tasks
            FOR EACH ROW EXECUTE FUNCTION {function}()
        """,
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # `activity` first: no item is written meanwhile, by either release.
    op.execute("LOCK TABLE activity IN SHARE ROW EXCLUSIVE MODE")
    op.execute("ALTER TABLE activity ALTER COLUMN seq DROP IDENTITY IF EXISTS")
    op.execute("ALTER TABLE activity ALTER COLUMN seq SET DEFAULT nextval('task_change_seq')")
    op.execute(
        "SELECT setval('task_change_seq', (SELECT max(seq) FROM activity)) "
        "WHERE (SELECT max(seq) FROM activity) > (SELECT last_value FROM task_change_seq)"
    )
    op.execute(STAMP_FUNCTION)
    for statement in _stamp_trigger(_STAMP):
        op.execute(statement)
    op.execute("DROP TRIGGER IF EXISTS tasks_record_changes ON tasks")
    op.execute("DROP TRIGGER IF EXISTS tasks_record_activity ON tasks")
    op.execute(DELETION_FUNCTION)
    op.execute(
        "CREATE TRIGGER tasks_record_activity AFTER DELETE ON tasks "
        "FOR EACH ROW EXECUTE FUNCTION tasks_record_activity()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE activity IN SHARE ROW EXCLUSIVE MODE")
    for statement in _stamp_trigger(_0020._BEFORE):
        op.execute(statement)
    op.execute(f"DROP FUNCTION IF EXISTS {_STAMP}()")
    op.execute(_0038.TASKS_FUNCTION)
    for statement in _0034.POSTGRESQL_TRIGGERS[1:3]:
        op.execute(f"DROP TRIGGER IF EXISTS {statement.split()[2]} ON tasks")
        op.execute(statement)
    op.execute("ALTER TABLE activity ALTER COLUMN seq DROP DEFAULT")
    op.execute("ALTER TABLE activity ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY")
    op.execute(
        "SELECT setval(pg_get_serial_sequence('activity', 'seq'), "
        "coalesce((SELECT max(seq) FROM activity), 0) + 1, false)"
    )
