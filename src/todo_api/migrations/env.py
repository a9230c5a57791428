"""Alembic environment: runs on the connection that `todo_api.migrations` hands over."""

from alembic import context
from sqlalchemy import Connection

from todo_api.tables import include_in_comparison, metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_comparison,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `todo-api migrate`")
run_migrations(connection)
