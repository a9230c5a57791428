"""when each task came into its list, and when each ended membership began, so that a member's
feed names only tasks they could see

A member who loses a list is sent, as deleted, the tasks the list had while they were in it.
Until now that was every task the list holds (or held, deleted or moved out) whenever they
next sync, so an old token could name tasks made after they left. `tasks` gains
`arrived_txid`/`arrived_seq`: the change stamp of the write that created the task or moved it
into its list, from the same sequence as every other stamp; tombstones keep the arrival of the
task's last stay in the list, departures of its first. `member_tombstones` gains when the
membership began (`joined_txid`/`joined_seq`). The feed then names only the tasks that arrived
before the membership ended, and the deletions and departures after it began.

A membership that begins again no longer deletes the record of its end: the feed of a member
back with a token from before they left names what went meanwhile by that end, and a member's
feed names only the deletions and departures of a list since they joined it.

Existing rows arrive at (0, 0), and existing ends began at (0, 0): they are named as before. A
member who left and came back before this migration has no record of that end: a device of
theirs still holding a token from before they left (within the feed's retention) keeps the
tasks deleted or moved out while they were away.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25
"""

# The triggers are written twice (with the arrival, and as before it) from this module's own
# constants: nothing from outside reaches their SQL.
# ruff: noqa: S608

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("tasks", "task_tombstones", "task_departures")

_BEFORE = "tasks_stamp_change_and_arrival"


def _postgresql(arrivals: bool) -> list[str]:
    """The task triggers on PostgreSQL, with the arrival (or as migration 0011 left them)."""
    kept = ", arrived_txid, arrived_seq" if arrivals else ""
    old = ", OLD.arrived_txid, OLD.arrived_seq" if arrivals else ""
    replaced = ", arrived_txid = EXCLUDED.arrived_txid, arrived_seq = EXCLUDED.arrived_seq"
    # tasks_stamp_change (0004) stays as it is for lists, which share it.
    stamp = _BEFORE if arrivals else "tasks_stamp_change"
    return [
        "DROP TRIGGER tasks_stamp_change ON tasks",
        f"""
        CREATE TRIGGER tasks_stamp_change BEFORE INSERT OR UPDATE ON tasks
            FOR EACH ROW EXECUTE FUNCTION {stamp}()
        """,
        f"""
        CREATE OR REPLACE FUNCTION tasks_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO task_tombstones
                (task_id, user_id, list_id, deleted_at, change_txid, change_seq{kept})
            VALUES (OLD.id, OLD.user_id, OLD.list_id, now(), pg_current_xact_id()::text::bigint,
                    nextval('task_change_seq'){old})
            ON CONFLICT (task_id) DO UPDATE SET user_id = EXCLUDED.user_id,
                list_id = EXCLUDED.list_id, deleted_at = EXCLUDED.deleted_at,
                change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq
                {replaced if arrivals else ""};
            RETURN OLD;
        END $$
        """,
        # A task that leaves a list again keeps its first arrival there: the list's members
        # may have seen it since then.
        f"""
        CREATE OR REPLACE FUNCTION tasks_record_departure() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO task_departures
                (task_id, list_id, deleted_at, change_txid, change_seq{kept})
            VALUES (OLD.id, OLD.list_id, now(), pg_current_xact_id()::text::bigint,
                    nextval('task_change_seq'){old})
            ON CONFLICT (task_id, list_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
                change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
            RETURN NULL;
        END $$
        """,
    ]


ARRIVAL = f"""
    CREATE FUNCTION {_BEFORE}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_txid := pg_current_xact_id()::text::bigint;
        NEW.change_seq := nextval('task_change_seq');
        IF TG_OP = 'INSERT' THEN
            NEW.arrived_txid := NEW.change_txid;
            NEW.arrived_seq := NEW.change_seq;
        ELSIF NEW.list_id IS DISTINCT FROM OLD.list_id THEN
            NEW.arrived_txid := NEW.change_txid;
            NEW.arrived_seq := NEW.change_seq;
        END IF;
        RETURN NEW;
    END $$
    """

_COUNTER = "(SELECT value FROM sync_counter WHERE id = 1)"
# Now, in the text form the application writes (microseconds, no offset).
_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


def _sqlite(arrivals: bool) -> list[str]:
    """The task triggers on SQLite, with the arrival (or as migrations 0004 and 0011 left
    them)."""
    kept = ", arrived_txid, arrived_seq" if arrivals else ""
    old = ", OLD.arrived_txid, OLD.arrived_seq" if arrivals else ""
    on_insert = f", arrived_txid = {_COUNTER}, arrived_seq = {_COUNTER}" if arrivals else ""
    moved = " ".join(
        f", {column} = CASE WHEN NEW.list_id IS NOT OLD.list_id THEN {_COUNTER} ELSE {column} END"
        for column in ("arrived_txid", "arrived_seq")
        if arrivals
    )
    return [
        "DROP TRIGGER tasks_stamp_insert",
        f"""
        CREATE TRIGGER tasks_stamp_insert AFTER INSERT ON tasks BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            UPDATE tasks SET change_txid = {_COUNTER}, change_seq = {_COUNTER}{on_insert}
            WHERE id = NEW.id;
        END
        """,
        "DROP TRIGGER tasks_stamp_update",
        f"""
        CREATE TRIGGER tasks_stamp_update AFTER UPDATE ON tasks
        WHEN NEW.change_seq = OLD.change_seq BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            UPDATE tasks SET change_txid = {_COUNTER}, change_seq = {_COUNTER}{moved}
            WHERE id = NEW.id;
        END
        """,
        "DROP TRIGGER tasks_record_deletion",
        f"""
        CREATE TRIGGER tasks_record_deletion AFTER DELETE ON tasks BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            INSERT OR REPLACE INTO task_tombstones
                (task_id, user_id, list_id, deleted_at, change_txid, change_seq{kept})
            VALUES (OLD.id, OLD.user_id, OLD.list_id, {_NOW}, {_COUNTER}, {_COUNTER}{old});
        END
        """,
        "DROP TRIGGER tasks_record_departure",
        f"""
        CREATE TRIGGER tasks_record_departure AFTER UPDATE OF list_id ON tasks
        WHEN OLD.list_id IS NOT NULL AND OLD.list_id IS NOT NEW.list_id BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            INSERT INTO task_departures
                (task_id, list_id, deleted_at, change_txid, change_seq{kept})
            VALUES (OLD.id, OLD.list_id, {_NOW}, {_COUNTER}, {_COUNTER}{old})
            ON CONFLICT (task_id, list_id) DO UPDATE SET deleted_at = excluded.deleted_at,
                change_txid = excluded.change_txid, change_seq = excluded.change_seq;
        END
        """,
    ]


# A membership that ends keeps when it began (`joined_*`), so that the feed names of the list
# only what went after the member joined. One that begins again keeps the record of its end
# (0011's trigger deleted it), so that a member back with a token from before they left still
# loses there what went while they were away; on PostgreSQL, only if the end comes before the
# new start in the feed (a removal whose transaction began after the joining one's, which
# waited for it, is stamped after it: that end no longer applies, as before).
def _membership_ends_postgresql(kept: bool) -> list[str]:
    joined = ", joined_txid, joined_seq" if kept else ""
    old = ", OLD.joined_txid, OLD.joined_seq" if kept else ""
    renewed = ", joined_txid = EXCLUDED.joined_txid, joined_seq = EXCLUDED.joined_seq"
    after_start = (
        "AND (change_txid, change_seq) > (NEW.joined_txid, NEW.joined_seq)" if kept else ""
    )
    return [
        f"""
        CREATE OR REPLACE FUNCTION list_members_record_deletion() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO member_tombstones
                (list_id, user_id, deleted_at, change_txid, change_seq{joined})
            VALUES (OLD.list_id, OLD.user_id, now(), pg_current_xact_id()::text::bigint,
                    nextval('task_change_seq'){old})
            ON CONFLICT (list_id, user_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
                change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq
                {renewed if kept else ""};
            RETURN OLD;
        END $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION list_members_forget_deletion() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM member_tombstones WHERE list_id = NEW.list_id AND user_id = NEW.user_id
                {after_start};
            RETURN NULL;
        END $$
        """,
    ]


def _membership_ends_sqlite(kept: bool) -> list[str]:
    """SQLite stamps in commit order: an end always comes before the start that follows it."""
    joined = ", joined_txid, joined_seq" if kept else ""
    old = ", OLD.joined_txid, OLD.joined_seq" if kept else ""
    forget = (
        ""
        if kept
        else "DELETE FROM member_tombstones WHERE list_id = NEW.list_id AND user_id = NEW.user_id;"
    )
    return [
        "DROP TRIGGER list_members_stamp_insert",
        f"""
        CREATE TRIGGER list_members_stamp_insert AFTER INSERT ON list_members BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            UPDATE list_members SET change_txid = {_COUNTER}, change_seq = {_COUNTER},
                                    joined_txid = {_COUNTER}, joined_seq = {_COUNTER}
            WHERE list_id = NEW.list_id AND user_id = NEW.user_id;
            {forget}
        END
        """,
        "DROP TRIGGER list_members_record_deletion",
        f"""
        CREATE TRIGGER list_members_record_deletion AFTER DELETE ON list_members BEGIN
            UPDATE sync_counter SET value = value + 1 WHERE id = 1;
            INSERT OR REPLACE INTO member_tombstones
                (list_id, user_id, deleted_at, change_txid, change_seq{joined})
            VALUES (OLD.list_id, OLD.user_id, {_NOW}, {_COUNTER}, {_COUNTER}{old});
        END
        """,
    ]


def _stamp_column(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    for table in TABLES:
        for column in ("arrived_txid", "arrived_seq"):
            op.add_column(table, _stamp_column(column))
    for column in ("joined_txid", "joined_seq"):
        op.add_column("member_tombstones", _stamp_column(column))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ARRIVAL)
        for statement in _postgresql(arrivals=True) + _membership_ends_postgresql(kept=True):
            op.execute(statement)
    else:
        for statement in _sqlite(arrivals=True) + _membership_ends_sqlite(kept=True):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _postgresql(arrivals=False) + _membership_ends_postgresql(kept=False):
            op.execute(statement)
        op.execute(f"DROP FUNCTION {_BEFORE}()")
    else:
        for statement in _sqlite(arrivals=False) + _membership_ends_sqlite(kept=False):
            op.execute(statement)
    for table in TABLES:
        for column in ("arrived_txid", "arrived_seq"):
            op.drop_column(table, column)
    for column in ("joined_txid", "joined_seq"):
        op.drop_column("member_tombstones", column)
