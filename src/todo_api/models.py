"""Every table, imported in one place for Alembic and for the schema test."""

from sqlmodel import SQLModel

from todo_api.auth.models import RefreshToken, User
from todo_api.tasks.models import Task

metadata = SQLModel.metadata

__all__ = ["RefreshToken", "Task", "User", "metadata"]
