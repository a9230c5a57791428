"""Alembic environment: runs on the connection that `todo_api.migrations` hands over, or writes
the SQL of a range of revisions (`--sql`, offline: what `make lint-migrations` checks).

On PostgreSQL each migration is its own transaction, which Alembic owns (so that a migration
may step outside it, `autocommit_block`, for what must not run inside one), and the session
starts with the lock and statement timeouts of `online.py`.
"""

import functools

from alembic import context
from sqlalchemy import Connection

from todo_api.migrations import online
from todo_api.tables import include_in_comparison, metadata


def _set_timeouts() -> None:
    bounded = context.config.attributes.get("statement_timeout", True)
    for statement in online.timeouts(statement_timeout=bounded):
        context.execute(statement)


def run_migrations(connection: Connection) -> None:
    dialect = connection.dialect.name
    context.config.attributes[online.OWN_TRANSACTIONS] = not connection.in_transaction()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=dialect == "sqlite",
        compare_type=True,
        include_object=functools.partial(include_in_comparison, dialect=dialect),
        transaction_per_migration=True,
    )
    if dialect == "postgresql":
        _set_timeouts()
    with context.begin_transaction():
        context.run_migrations()


def write_migrations() -> None:
    """Offline: the PostgreSQL statements of the requested revisions, to standard output."""
    context.config.attributes[online.OWN_TRANSACTIONS] = True
    context.configure(
        url="postgresql://",
        target_metadata=metadata,
        literal_binds=True,
        transaction_per_migration=True,
    )
    _set_timeouts()
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    write_migrations()
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `todo-api migrate`")
    run_migrations(connection)
