"""list-led indexes: a shared list's tasks in each sort's order

A member lists the tasks of the lists shared with them list by list, each list's first rows
read in order from its own index (todo_api.tasks.listing). The user-led indexes cannot serve
that: a list's tasks are its owner's, among all the owner's others. Only tasks in a list are
in these indexes (partial, `list_id IS NOT NULL`), so a task in an inbox costs no more to
write. Each index takes a few seconds on a table of millions of tasks, during which writes to
`tasks` wait.

The same partial form is given to the two list-led indexes that indexed every inbox task
under NULL for nothing (every query on them names a list), and to the parent index (every
query names a parent).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_A_LIST = "list_id IS NOT NULL"
NEW = {
    "ix_tasks_list_id_created_at_id": "(list_id, created_at, id)",
    "ix_tasks_list_id_updated_at_id": "(list_id, updated_at, id)",
    "ix_tasks_list_id_due_at_id": "(list_id, due_at, id)",
    # Open or done rides along, as in the user-led one: `completed=false` is checked in the
    # index.
    "ix_tasks_list_id_priority_id_completed": "(list_id, priority, id, is_completed)",
    "ix_tasks_list_id_position_id": "(list_id, position, id)",
}
# Made partial: name -> (columns, predicate).
NARROWED = {
    "ix_tasks_list_id_is_completed": ("(list_id, is_completed)", IN_A_LIST),
    "ix_tasks_list_id_change": ("(list_id, change_txid, change_seq)", IN_A_LIST),
    "ix_tasks_parent_id_position_id": ("(parent_id, position, id)", "parent_id IS NOT NULL"),
}


def _new_indexes(postgresql: bool) -> dict[str, str]:
    # As the user-led ones (0003, 0005): undated tasks last in both directions (SQLite orders
    # NULL lowest and refuses NULLS LAST), titles by code point on PostgreSQL.
    nulls_last = " NULLS LAST" if postgresql else ""
    indexes = {
        **NEW,
        "ix_tasks_list_id_due_at_desc_id": f"(list_id, due_at DESC{nulls_last}, id DESC)",
    }
    if postgresql:
        indexes["ix_tasks_list_id_title_id"] = '(list_id, lower(title) COLLATE "C", id)'
    return indexes


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, columns in _new_indexes(postgresql).items():
        op.execute(f"CREATE INDEX {name} ON tasks {columns} WHERE {IN_A_LIST}")
    for name, (columns, predicate) in NARROWED.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON tasks {columns} WHERE {predicate}")


def downgrade() -> None:
    for name, (columns, _predicate) in NARROWED.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON tasks {columns}")
    for name in _new_indexes(op.get_bind().dialect.name == "postgresql"):
        op.execute(f"DROP INDEX {name}")
