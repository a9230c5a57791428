"""sections: named parts of a list, and the section a task is in

- `sections`: a list's sections in its order, names unique in the list ignoring case (their
  `name_key`, as lists' names).
- `tasks.section_id`: null, or a section of the task's list. The service deletes a section's
  tasks with it (or clears their section); the foreign key's `ON DELETE SET NULL` is a safety
  net, on PostgreSQL alone (SQLite adds a key only by copying the table, which would drop its
  triggers).

Online: the new table's foreign key takes a SHARE ROW EXCLUSIVE lock on `lists` for a moment;
the column is added to the catalogue alone; the task's key is added `NOT VALID` and validated
after (every row is null: nothing to scan for); its index is built concurrently. All bounded by
the runner's `lock_timeout` (migrations/online.py). The previous release neither reads nor
writes either.

Revision ID: 0046
Revises: 0045
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime
from todo_api.migrations import online

revision: str = "0046"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEY = "fk_tasks_section_id_sections"
_INDEX = "ix_tasks_section_id_position_id"


def upgrade() -> None:
    op.create_table(
        "sections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_sections_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sections")),
        if_not_exists=True,  # (every step may run twice: migrations/online.py)
    )
    op.create_index(
        "uq_sections_list_id_name_key",
        "sections",
        ["list_id", "name_key"],
        unique=True,
        if_not_exists=True,
    )
    op.create_index(
        "ix_sections_list_id_position_id",
        "sections",
        ["list_id", "position", "id"],
        if_not_exists=True,
    )
    online.add_column("tasks", sa.Column("section_id", sa.Uuid(), nullable=True))
    online.add_foreign_key(_FOREIGN_KEY, "tasks", "section_id", "sections", "id", "SET NULL")
    online.validate(_FOREIGN_KEY, "tasks")
    online.create_index(_INDEX, "tasks", "section_id, position, id", where="section_id IS NOT NULL")


def downgrade() -> None:
    online.drop_index(_INDEX)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE tasks DROP CONSTRAINT IF EXISTS {_FOREIGN_KEY}")
    op.drop_column("tasks", "section_id")
    op.drop_table("sections")
