"""Every table, imported in one place for Alembic and for the schema test."""

from typing import Any

from sqlmodel import SQLModel

from todo_api.auth.models import RefreshToken, User
from todo_api.tasks.models import POSTGRESQL_ONLY_INDEXES, Task

metadata = SQLModel.metadata


def include_in_comparison(
    obj: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """For Alembic's autogenerate: leave out what only the migrations create, per dialect."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


__all__ = ["RefreshToken", "Task", "User", "include_in_comparison", "metadata"]
