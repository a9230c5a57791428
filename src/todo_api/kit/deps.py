"""What routes take from the application: the database, and a connection for cold routes."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from todo_api.db import Connection as DbConnection
from todo_api.db import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _connection(request: Request) -> AsyncIterator[DbConnection]:
    async with database(request).connection() as conn:
        yield conn


# For routes off the hot path: a pooled connection for the whole request. Hot routes take
# their connection from `database(request)` for just the statements they run.
Connection = Annotated[DbConnection, Depends(_connection)]
