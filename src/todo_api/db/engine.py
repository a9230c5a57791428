"""SQLAlchemy's engine, for what runs beside the requests: migrations and the test suite."""

import contextlib
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from todo_api.config import Settings
from todo_api.db.types import SQLITE_UNICODE_LOWER

# Set on every SQLite connection, the service's and the engine's alike. Foreign keys are off
# by default in SQLite; WAL lets readers run beside the writer; busy_timeout makes concurrent
# writers wait their turn instead of failing.
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
)


def unicode_lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        ensure_sqlite_folder(settings)
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        return engine
    return create_async_engine(url, connect_args=settings.connect_args(), hide_parameters=True)


def ensure_sqlite_folder(settings: Settings) -> None:
    database = settings.sqlalchemy_url.database
    if database and database != ":memory:":
        # Where the folder cannot be made, connecting fails later, as a 503 per request.
        with contextlib.suppress(OSError):
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(SQLITE_UNICODE_LOWER, 1, unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()
