"""The async engine, the per-request connection, and the column types both databases share."""

import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from todo_api.config import Settings
from todo_api.errors import DatabaseUnavailable

# Explicit constraint names, so migrations can refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): time-ordered, so new rows land at the end of the key index."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76 | (rand >> 68) << 64  # version 7, then 12 random bits
    value |= 0b10 << 62 | (rand & (2**62 - 1))  # the RFC variant, then 62 random bits
    return uuid.UUID(int=value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in Python on every database.

    PostgreSQL keeps `timestamptz`; SQLite keeps text without an offset, so values are
    converted to UTC on the way in and given back their UTC zone on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: timestamps must carry a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(settings: Settings, *, autocommit: bool = False) -> AsyncEngine:
    """The engine; with `autocommit`, every connection runs each statement as its own
    transaction (the service's: see `connection`), set once per pooled connection."""
    url = settings.sqlalchemy_url
    options: dict[str, Any] = {"hide_parameters": True}  # user data stays out of logged errors
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    if settings.is_sqlite:
        if url.database and url.database != ":memory:":
            # Where the folder cannot be made, connecting fails later, as a 503 per request.
            with contextlib.suppress(OSError):
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, pool_size=settings.database_pool_size, max_overflow=10, **options
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        connect_args=settings.connect_args(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_recycle=1800,
        pool_timeout=10,
        **options,
    )


# SQLite's own lower() and LIKE fold ASCII letters only; this one folds every letter, as
# PostgreSQL's lower() does, for case-insensitive search and title order.
SQLITE_UNICODE_LOWER = "unicode_lower"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(SQLITE_UNICODE_LOWER, 1, _unicode_lower, deterministic=True)
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer and
    # busy_timeout makes concurrent writers wait their turn instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


async def connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A pooled connection of the service's engine, which is in autocommit mode.

    Each statement is its own transaction, which is exactly right for the single-statement
    reads and writes (`INSERT/UPDATE/DELETE ... RETURNING`) the routes are built from, and it
    spares the BEGIN and COMMIT round trips.
    """
    engine: AsyncEngine = request.app.state.engine
    try:
        conn = await engine.connect()
    except (OSError, TimeoutError) as exc:
        # asyncpg raises these unwrapped when the server cannot be reached at all.
        raise DatabaseUnavailable from exc
    try:
        yield conn
    finally:
        await conn.close()


def _unicode_lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


Connection = Annotated[AsyncConnection, Depends(connection)]


@asynccontextmanager
async def transaction(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """Run several statements on the request's connection as one transaction.

    The block commits when it ends and rolls back when it raises (or is cancelled). Nested
    blocks join the outer one. On SQLite the transaction takes the write lock at once
    (BEGIN IMMEDIATE), so concurrent writers queue up instead of failing to upgrade a read lock.
    """
    if conn.info.get(_IN_TRANSACTION):
        yield conn
        return
    begin = "BEGIN IMMEDIATE" if conn.dialect.name == "sqlite" else "BEGIN"
    await conn.exec_driver_sql(begin)
    conn.info[_IN_TRANSACTION] = True
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(Exception):
            await conn.exec_driver_sql("ROLLBACK")
        raise
    else:
        await conn.exec_driver_sql("COMMIT")
    finally:
        conn.info[_IN_TRANSACTION] = False


_IN_TRANSACTION = "todo_api.in_transaction"


@asynccontextmanager
async def savepoint(conn: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """Undo only this block when it raises, and leave the enclosing transaction usable.

    Outside a transaction each statement stands alone already, and nothing is needed.
    """
    if not conn.info.get(_IN_TRANSACTION):
        yield conn
        return
    name = f"sp_{uuid.uuid4().hex}"
    await conn.exec_driver_sql(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(Exception):
            await conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        raise
    else:
        await conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")


def insert_or_ignore(conn: AsyncConnection, table: Table) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING` in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
