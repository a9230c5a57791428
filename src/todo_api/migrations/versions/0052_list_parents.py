"""list parents: lists inside lists (Todoist's sub-projects)

- `lists.parent_id`: null (a top-level list), or a list of the same owner; a tree at most 3
  deep, without cycles (the service keeps both). Deleting a list moves its children up a level
  (or deletes them, when asked) in the service; the foreign key's `ON DELETE SET NULL` is a
  safety net, on PostgreSQL alone (SQLite adds a key only by copying the table, which would
  drop its triggers).
- `ix_lists_parent_id`: a list's children, and the foreign key's look-up when one goes.
- `list_members.folded`: whether the member keeps the list's children folded away in the
  sidebar (each person their own, on every device).

Online: the columns are added to the catalogue alone; the key is added `NOT VALID` and validated
after (every row is null: nothing to scan for); the index is built concurrently. All bounded by
the runner's `lock_timeout` (migrations/online.py). The previous release neither reads nor
writes the columns.

Revision ID: 0052
Revises: 0051
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.migrations import online

revision: str = "0052"
down_revision: str | None = "0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOREIGN_KEY = "fk_lists_parent_id_lists"
_INDEX = "ix_lists_parent_id"


def upgrade() -> None:
    online.add_column("lists", sa.Column("parent_id", sa.Uuid(), nullable=True))
    online.add_foreign_key(_FOREIGN_KEY, "lists", "parent_id", "lists", "id", "SET NULL")
    online.validate(_FOREIGN_KEY, "lists")
    online.create_index(_INDEX, "lists", "parent_id", where="parent_id IS NOT NULL")
    online.add_column(
        "list_members",
        sa.Column("folded", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    online.drop_index(_INDEX)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE lists DROP CONSTRAINT IF EXISTS {_FOREIGN_KEY}")
    op.drop_column("list_members", "folded")
    op.drop_column("lists", "parent_id")
