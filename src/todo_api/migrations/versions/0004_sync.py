"""sync: task versions, recurrence, the change feed (stamps, tombstones), idempotency keys

Every write to a task is stamped by a trigger with its place in the change feed, and every
delete leaves a tombstone, so no code path can forget either.

- PostgreSQL: the stamp is (id of the writing transaction, next value of a sequence). The feed
  only returns changes of transactions older than every transaction still running, so a slow
  transaction that commits late is never skipped.
- SQLite: writers take turns, so a counter bumped inside each write is already in commit order.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRESQL_TRIGGERS = [
    "CREATE SEQUENCE task_change_seq",
    """
    CREATE FUNCTION tasks_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_txid := pg_current_xact_id()::text::bigint;
        NEW.change_seq := nextval('task_change_seq');
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER tasks_stamp_change BEFORE INSERT OR UPDATE ON tasks
        FOR EACH ROW EXECUTE FUNCTION tasks_stamp_change()
    """,
    """
    CREATE FUNCTION tasks_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_tombstones (task_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, now(), pg_current_xact_id()::text::bigint,
                nextval('task_change_seq'))
        ON CONFLICT (task_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER tasks_record_deletion AFTER DELETE ON tasks
        FOR EACH ROW EXECUTE FUNCTION tasks_record_deletion()
    """,
]

SQLITE_TRIGGERS = [
    "CREATE TABLE sync_counter (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO sync_counter (id, value) VALUES (1, 0)",
    """
    CREATE TRIGGER tasks_stamp_insert AFTER INSERT ON tasks BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE tasks SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                         change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;
    END
    """,
    # Fires for the application's updates only: the stamp itself changes change_seq.
    """
    CREATE TRIGGER tasks_stamp_update AFTER UPDATE ON tasks
    WHEN NEW.change_seq = OLD.change_seq BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE tasks SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                         change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;
    END
    """,
    # deleted_at in the text form the application writes (microseconds, no offset).
    """
    CREATE TRIGGER tasks_record_deletion AFTER DELETE ON tasks BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO task_tombstones
            (task_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
]


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("recurrence", sa.String(500), nullable=True))
        batch.add_column(sa.Column("next_occurrence_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch.add_column(
            sa.Column("change_txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
    op.create_index("ix_tasks_user_id_change", "tasks", ["user_id", "change_txid", "change_seq"])
    op.create_table(
        "task_tombstones",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_tombstones")),
    )
    op.create_index(
        "ix_task_tombstones_user_id_change",
        "task_tombstones",
        ["user_id", "change_txid", "change_seq"],
    )
    op.create_index("ix_task_tombstones_deleted_at", "task_tombstones", ["deleted_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    # Tasks that exist already get their place in the feed.
    op.execute("UPDATE tasks SET title = title")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tasks_record_deletion ON tasks")
        op.execute("DROP TRIGGER tasks_stamp_change ON tasks")
        op.execute("DROP FUNCTION tasks_record_deletion()")
        op.execute("DROP FUNCTION tasks_stamp_change()")
        op.execute("DROP SEQUENCE task_change_seq")
    else:
        for trigger in ("tasks_record_deletion", "tasks_stamp_update", "tasks_stamp_insert"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE sync_counter")
    op.drop_table("idempotency_keys")
    op.drop_table("task_tombstones")
    op.drop_index("ix_tasks_user_id_change", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("change_seq")
        batch.drop_column("change_txid")
        batch.drop_column("version")
        batch.drop_column("next_occurrence_id")
        batch.drop_column("recurrence")
