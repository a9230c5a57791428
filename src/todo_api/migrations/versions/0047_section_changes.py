"""sections in the change feed: their stamps, and the tombstones of those deleted

- `sections.change_txid`, `change_seq`: stamped from the tasks' sequence by the tasks' own
  stamping function (as lists and comments are), so that sections are one stream with them.
  A constant default: the catalogue alone changes; sections made before are at (0, 0), below
  every token, and come to a feed read from the start or with a new membership.
- `section_tombstones`: deleted sections (by the service, or with their list), with their list,
  written by a trigger.
- The feed's index: a list's sections in change order, built concurrently.

Creating the triggers on `sections` takes a SHARE ROW EXCLUSIVE lock on it for that moment,
bounded by the runner's `lock_timeout` (migrations/online.py); `tasks` and `lists` are not
touched. The previous release neither reads nor writes the new columns or table.

Revision ID: 0047
Revises: 0046
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0047"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_sections_list_id_change"

# OR REPLACE: every step may run twice (migrations/online.py).
POSTGRESQL_TRIGGERS = [
    # tasks_stamp_change (0004) only sets NEW's stamp columns, which sections have now.
    """
    CREATE OR REPLACE TRIGGER sections_stamp_change BEFORE INSERT OR UPDATE ON sections
        FOR EACH ROW EXECUTE FUNCTION tasks_stamp_change()
    """,
    """
    CREATE OR REPLACE FUNCTION sections_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO section_tombstones
            (section_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.list_id, now(),
                pg_current_xact_id()::text::bigint, nextval('task_change_seq'))
        ON CONFLICT (section_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at,
            change_txid = EXCLUDED.change_txid, change_seq = EXCLUDED.change_seq;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER sections_record_deletion AFTER DELETE ON sections
        FOR EACH ROW EXECUTE FUNCTION sections_record_deletion()
    """,
]

_SQLITE_STAMP = """
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        UPDATE sections SET change_txid = (SELECT value FROM sync_counter WHERE id = 1),
                            change_seq = (SELECT value FROM sync_counter WHERE id = 1)
        WHERE id = NEW.id;"""

SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER IF NOT EXISTS sections_stamp_insert AFTER INSERT ON sections
    BEGIN{_SQLITE_STAMP}
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS sections_stamp_update AFTER UPDATE ON sections
    WHEN NEW.change_seq = OLD.change_seq BEGIN{_SQLITE_STAMP}
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS sections_record_deletion AFTER DELETE ON sections BEGIN
        UPDATE sync_counter SET value = value + 1 WHERE id = 1;
        INSERT OR REPLACE INTO section_tombstones
            (section_id, list_id, deleted_at, change_txid, change_seq)
        VALUES (OLD.id, OLD.list_id, strftime('%Y-%m-%d %H:%M:%f', 'now') || '000',
                (SELECT value FROM sync_counter WHERE id = 1),
                (SELECT value FROM sync_counter WHERE id = 1));
    END
    """,
]

SQLITE_TRIGGER_NAMES = (
    "sections_record_deletion",
    "sections_stamp_update",
    "sections_stamp_insert",
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("change_txid", "change_seq"):
        online.add_column(
            "sections",
            sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        )
    op.create_table(
        "section_tombstones",
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("change_txid", sa.BigInteger(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("section_id", name=op.f("pk_section_tombstones")),
        if_not_exists=True,
    )
    # A new, empty table: its indexes are built at once, blocking nobody.
    op.create_index(
        "ix_section_tombstones_list_id_change",
        "section_tombstones",
        ["list_id", "change_txid", "change_seq"],
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_section_tombstones_deleted_at"),
        "section_tombstones",
        ["deleted_at"],
        if_not_exists=True,
    )
    for statement in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(statement)
    # Last: built outside the migration's transaction on PostgreSQL.
    online.create_index(_INDEX, "sections", "list_id, change_txid, change_seq")


def downgrade() -> None:
    online.drop_index(_INDEX)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS sections_record_deletion ON sections")
        op.execute("DROP FUNCTION IF EXISTS sections_record_deletion()")
        op.execute("DROP TRIGGER IF EXISTS sections_stamp_change ON sections")
    else:
        for trigger in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.drop_table("section_tombstones")
    # Dropped in place (SQLite 3.35 and later too), so that the triggers on tasks stay.
    op.drop_column("sections", "change_seq")
    op.drop_column("sections", "change_txid")
