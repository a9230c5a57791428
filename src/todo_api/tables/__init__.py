"""Every table, imported in one place for Alembic and for the schema test."""

from typing import Any

from sqlmodel import SQLModel

from todo_api.tables.idempotency import IdempotencyKey
from todo_api.tables.lists import ListTombstone, TaskList
from todo_api.tables.tasks import MIGRATION_ONLY_INDEXES, SQLITE_ONLY_TABLES, Task, TaskTombstone
from todo_api.tables.users import RefreshToken, User

metadata = SQLModel.metadata


def include_in_comparison(
    obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """For Alembic's autogenerate: leave out what only the migrations create, per dialect."""
    if type_ == "index":
        return name not in MIGRATION_ONLY_INDEXES
    if type_ == "table":
        return name not in SQLITE_ONLY_TABLES
    return True


__all__ = [
    "IdempotencyKey",
    "ListTombstone",
    "RefreshToken",
    "Task",
    "TaskList",
    "TaskTombstone",
    "User",
    "include_in_comparison",
    "metadata",
]
