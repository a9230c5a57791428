"""task counts in slots: a write that finds its count's row taken adds to another

With one row per list and inbox (0018), every write to one user's inbox, or to one list, updated
the same row at its commit: the writes of one scope committed one after the other, each waiting
for the last one's commit to reach the disk. A scope may now hold several rows (`slot`): a
write adds its change to the first of them no other transaction holds (`SKIP LOCKED`), and
only when every one is held makes its own (its slot a new number from a sequence, so that
making it never waits either). A scope holds as many rows as writes ever committed to it at
the same moment, and one when they never did; a total is their sum.

SQLite has one writer at a time: it keeps one row per scope, and its key.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIST_INDEX = "ix_task_counts_list_id"
SLOTS = "task_count_slots"

# Adds to a scope's counts: to the first row of the scope no other transaction holds, else to
# a new row made from the scope's first (a scope whose rows went with its list or user is
# gone: nothing to count).
ADD_TO_COUNT = """
    CREATE FUNCTION task_count_add(scope uuid, opened integer, done integer)
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_counts
        SET open_count = open_count + opened, done_count = done_count + done
        WHERE scope_id = scope AND slot = (
            SELECT slot FROM task_counts WHERE scope_id = scope
            ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED
        );
        IF NOT FOUND THEN
            INSERT INTO task_counts (scope_id, slot, user_id, list_id, open_count, done_count)
            SELECT scope_id, nextval('task_count_slots'), user_id, list_id, opened, done
            FROM task_counts WHERE scope_id = scope ORDER BY slot LIMIT 1;
        END IF;
    END $$
    """
TASKS_COUNT = """
    CREATE OR REPLACE FUNCTION tasks_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
            AND coalesce(OLD.list_id, OLD.user_id) = coalesce(NEW.list_id, NEW.user_id) THEN
            PERFORM task_count_add(coalesce(NEW.list_id, NEW.user_id),
                OLD.is_completed::int - NEW.is_completed::int,
                NEW.is_completed::int - OLD.is_completed::int);
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            PERFORM task_count_add(coalesce(OLD.list_id, OLD.user_id),
                -(NOT OLD.is_completed)::int, -OLD.is_completed::int);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM task_count_add(coalesce(NEW.list_id, NEW.user_id),
                (NOT NEW.is_completed)::int, NEW.is_completed::int);
        END IF;
        RETURN NULL;
    END $$
    """
# 0018's, for the downgrade.
TASKS_COUNT_IN_ONE_ROW = """
    CREATE OR REPLACE FUNCTION tasks_count() RETURNS trigger LANGUAGE plpgsql AS $$
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
    """
# A scope's rows back into one: the sums, in its first.
FOLD_SLOTS = [
    """
    UPDATE task_counts SET open_count = folded.open_count, done_count = folded.done_count
    FROM (
        SELECT scope_id, min(slot) AS slot, sum(open_count) AS open_count,
            sum(done_count) AS done_count
        FROM task_counts GROUP BY scope_id HAVING count(*) > 1
    ) AS folded
    WHERE task_counts.scope_id = folded.scope_id AND task_counts.slot = folded.slot
    """,
    """
    DELETE FROM task_counts WHERE slot > (
        SELECT min(slot) FROM task_counts AS first WHERE first.scope_id = task_counts.scope_id
    )
    """,
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column(
        "task_counts",
        sa.Column("slot", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.drop_index(LIST_INDEX, table_name="task_counts")
    op.create_index(op.f(LIST_INDEX), "task_counts", ["list_id"])
    if not postgresql:
        return
    op.drop_constraint("pk_task_counts", "task_counts", type_="primary")
    op.create_primary_key("pk_task_counts", "task_counts", ["scope_id", "slot"])
    op.execute(f"CREATE SEQUENCE {SLOTS} AS integer")
    op.execute(ADD_TO_COUNT)
    op.execute(TASKS_COUNT)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(TASKS_COUNT_IN_ONE_ROW)
        op.execute("DROP FUNCTION task_count_add(uuid, integer, integer)")
        op.execute(f"DROP SEQUENCE {SLOTS}")
        for statement in FOLD_SLOTS:
            op.execute(statement)
        op.drop_constraint("pk_task_counts", "task_counts", type_="primary")
        op.create_primary_key("pk_task_counts", "task_counts", ["scope_id"])
    op.drop_index(LIST_INDEX, table_name="task_counts")
    op.create_index(op.f(LIST_INDEX), "task_counts", ["list_id"], unique=True)
    op.drop_column("task_counts", "slot")
