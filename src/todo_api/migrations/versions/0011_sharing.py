"""shared lists: members and roles, invitation links, who made, completed and is assigned a task

- `list_members`: everyone with access to a list, its owner included (role `owner`), each
  with the list's place among their own lists. Each existing list gets its owner's row, at the
  list's position; `lists.position` goes (a list's place is each member's own).
- `member_tombstones`: memberships that ended, for the member's change feed.
- `list_invitations`: invitation links, their tokens kept as hashes.
- `tasks` gains `created_by` (existing tasks: their user), `completed_by` and `assignee_id`.
- `task_tombstones` gains `list_id`; `task_departures` remembers tasks that moved out of a
  list, so that the list's members' feeds can drop them.
- Triggers: memberships are stamped for the change feed (and keep the stamp they started
  with, `joined_txid`/`joined_seq`), and leave a tombstone when they end;
  a task's tags follow it to another owner; completing a parent records who completed its
  subtasks.

Existing rows are filled in with the stamping triggers paused (nothing a client sees changes,
so no client fetches anything again). It writes every task once, in one transaction.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations.stamps import pause_stamps, resume_stamps

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Who had each list until now: its owner, at the list's place.
OWNERS = """
    INSERT INTO list_members (list_id, user_id, role, position, joined_at)
    SELECT id, user_id, 'owner', position, created_at FROM lists
"""

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION list_members_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_txid := pg_current_xact_id()::text::bigint;
        NEW.change_seq := nextval('task_change_seq');
        IF TG_OP = 'INSERT' THEN
            NEW.joined_txid := NEW.change_txid;
            NEW.joined_seq := NEW.change_seq;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER list_members_stamp_change BEFORE INSERT OR UPDATE ON list_members
        FOR EACH ROW EXECUTE FUNCTION list_members_stamp_change()
    """,
    """
    CREATE FUNCTION list_members_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO member_tombstones (list_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.list_id, OLD.user_id, now(), pg_current_xact_id()::text::bigint,
                nextval('task_change_seq'))
        ON CONFLICT (list_id, user_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN OLD;
    END $$
    """,
    """
    CREATE TRIGGER list_members_record_deletion AFTER DELETE ON list_members
        FOR EACH ROW EXECUTE FUNCTION list_members_record_deletion()
    """,
    # Joining again: the old ending no longer applies.
    """
    CREATE FUNCTION list_members_forget_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM member_tombstones WHERE list_id = NEW.list_id AND user_id = NEW.user_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER list_members_forget_deletion AFTER INSERT ON list_members
        FOR EACH ROW EXECUTE FUNCTION list_members_forget_deletion()
    """,
    """
    CREATE OR REPLACE FUNCTION tasks_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_tombstones
            (task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, OLD.list_id, now(), pg_current_xact_id()::text::bigint,
                nextval('task_change_seq'))
        ON CONFLICT (task_id) DO UPDATE SET user_id = EXCLUDED.user_id,
            list_id = EXCLUDED.list_id, deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN OLD;
    END $$
    """,
    """
    CREATE FUNCTION tasks_record_departure() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO task_departures (task_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.list_id, now(), pg_current_xact_id()::text::bigint,
                nextval('task_change_seq'))
        ON CONFLICT (task_id, list_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER tasks_record_departure AFTER UPDATE OF list_id ON tasks
        FOR EACH ROW
        WHEN (OLD.list_id IS NOT NULL AND OLD.list_id IS DISTINCT FROM NEW.list_id)
        EXECUTE FUNCTION tasks_record_departure()
    """,
    """
    CREATE OR REPLACE FUNCTION tasks_index_tags() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF NEW.tags = OLD.tags AND NEW.user_id = OLD.user_id THEN
                RETURN NULL;
            END IF;
            DELETE FROM task_tags WHERE task_id = NEW.id;
        END IF;
        INSERT INTO task_tags (user_id, tag, task_id)
        SELECT DISTINCT NEW.user_id, tag, NEW.id FROM jsonb_array_elements_text(NEW.tags) AS tag;
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER tasks_index_tags ON tasks",
    """
    CREATE TRIGGER tasks_index_tags AFTER INSERT OR UPDATE OF tags, user_id ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_index_tags()
    """,
    """
    CREATE OR REPLACE FUNCTION tasks_complete_subtasks() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE tasks SET is_completed = true,
            completed_at = COALESCE(NEW.completed_at, NEW.updated_at),
            completed_by = NEW.completed_by,
            updated_at = NEW.updated_at, version = version + 1
        WHERE parent_id = NEW.id AND user_id = NEW.user_id AND NOT is_completed
            AND recurrence IS NULL;
        RETURN NULL;
    END $$
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER list_members_stamp_insert AFTER INSERT ON list_members BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE list_members SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                                change_seq = (SELECT value FROM sync_counter WHERE id = 1),
                                joined_txid = (SELECT value FROM sync_counter WHERE id = 1),
                                joined_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE list_id = NEW.list_id AND user_id = NEW.user_id;
        DELETE FROM member_tombstones WHERE list_id = NEW.list_id AND user_id = NEW.user_id;
    END
    """,
    """
    CREATE TRIGGER list_members_stamp_update AFTER UPDATE ON list_members
    WHEN NEW.change_seq = OLD.change_seq BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE list_members SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                                change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE list_id = NEW.list_id AND user_id = NEW.user_id;
    END
    """,
    """
    CREATE TRIGGER list_members_record_deletion AFTER DELETE ON list_members BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO member_tombstones
            (list_id, user_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.list_id, OLD.user_id, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
    "DROP TRIGGER tasks_record_deletion",
    """
    CREATE TRIGGER tasks_record_deletion AFTER DELETE ON tasks BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO task_tombstones
            (task_id, user_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.user_id, OLD.list_id,
                strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
    """
    CREATE TRIGGER tasks_record_departure AFTER UPDATE OF list_id ON tasks
    WHEN OLD.list_id IS NOT NULL AND OLD.list_id IS NOT NEW.list_id BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO task_departures
            (task_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.list_id, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
    "DROP TRIGGER tasks_index_tags_update",
    """
    CREATE TRIGGER tasks_index_tags_update AFTER UPDATE OF tags, user_id ON tasks
    WHEN NEW.tags IS NOT OLD.tags OR NEW.user_id IS NOT OLD.user_id BEGIN
        DELETE FROM task_tags WHERE task_id = NEW.id;
        INSERT INTO task_tags (user_id, tag, task_id)
        SELECT DISTINCT NEW.user_id, value, NEW.id FROM json_each(NEW.tags);
    END
    """,
    "DROP TRIGGER tasks_complete_subtasks",
    """
    CREATE TRIGGER tasks_complete_subtasks AFTER UPDATE OF is_completed ON tasks
    WHEN NEW.is_completed AND NOT OLD.is_completed AND NEW.parent_id IS NULL BEGIN
        UPDATE tasks SET is_completed = 1,
            completed_at = COALESCE(NEW.completed_at, NEW.updated_at),
            completed_by = NEW.completed_by,
            updated_at = NEW.updated_at, version = version + 1
        WHERE parent_id = NEW.id AND user_id = NEW.user_id AND NOT is_completed
            AND recurrence IS NULL;
    END
    """,
]


def _stamps(kind: str = "change") -> list[sa.Column[int]]:
    return [
        sa.Column(f"{kind}_txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(f"{kind}_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    ]


def _tombstone_stamps() -> list[sa.Column[int]]:
    return [
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    conn = op.get_bind()
    postgresql = conn.dialect.name == "postgresql"
    op.create_table(
        "list_members",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        *_stamps(),
        *_stamps("joined"),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_members_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_list_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "user_id", name=op.f("pk_list_members")),
    )
    op.create_index(
        "ix_list_members_user_id_position_list_id",
        "list_members",
        ["user_id", "position", "list_id"],
    )
    op.create_index(
        "ix_list_members_user_id_change", "list_members", ["user_id", "change_txid", "change_seq"]
    )
    op.create_table(
        "member_tombstones",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        *_tombstone_stamps(),
        sa.PrimaryKeyConstraint("list_id", "user_id", name=op.f("pk_member_tombstones")),
    )
    op.create_index(
        "ix_member_tombstones_user_id_change",
        "member_tombstones",
        ["user_id", "change_txid", "change_seq"],
    )
    op.create_index(op.f("ix_member_tombstones_deleted_at"), "member_tombstones", ["deleted_at"])
    op.create_table(
        "list_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_list_invitations_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_list_invitations_token_hash")),
    )
    op.create_index(
        "ix_list_invitations_list_id_created_at", "list_invitations", ["list_id", "created_at"]
    )
    op.create_table(
        "task_departures",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        *_tombstone_stamps(),
        sa.PrimaryKeyConstraint("task_id", "list_id", name=op.f("pk_task_departures")),
    )
    op.create_index(
        "ix_task_departures_list_id_change",
        "task_departures",
        ["list_id", "change_txid", "change_seq"],
    )
    op.create_index(op.f("ix_task_departures_deleted_at"), "task_departures", ["deleted_at"])

    op.execute(OWNERS)
    op.drop_index("ix_lists_user_id_position_id", table_name="lists")
    op.drop_column("lists", "position")

    for column in ("created_by", "completed_by", "assignee_id"):
        op.add_column("tasks", sa.Column(column, sa.Uuid(), nullable=True))
    op.add_column("task_tombstones", sa.Column("list_id", sa.Uuid(), nullable=True))
    paused = pause_stamps(conn, ("tasks",))
    op.execute("UPDATE tasks SET created_by = user_id")
    resume_stamps(conn, paused)
    op.create_index("ix_tasks_list_id_change", "tasks", ["list_id", "change_txid", "change_seq"])
    op.create_index(
        "ix_task_tombstones_list_id_change",
        "task_tombstones",
        ["list_id", "change_txid", "change_seq"],
    )
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("shared lists cannot be folded back into private ones")
