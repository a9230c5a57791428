"""The data layer: pooled driver connections running statements compiled once per dialect."""

from typing import Any

from todo_api.db.database import (
    Connection,
    Database,
    DatabaseFailure,
    IntegrityViolation,
    Query,
    Result,
    Row,
)
from todo_api.db.dialects import insert_or_ignore
from todo_api.db.engine import create_engine
from todo_api.db.types import SQLITE_UNICODE_LOWER, UTCDateTime
from todo_api.ids import new_id, utcnow

__all__ = [
    "SQLITE_UNICODE_LOWER",
    "Connection",
    "Database",
    "DatabaseFailure",
    "IntegrityViolation",
    "Query",
    "Result",
    "Row",
    "UTCDateTime",
    "create_engine",
    "insert_or_ignore",
    "new_id",
    "savepoint",
    "transaction",
    "utcnow",
]


def transaction(conn: Connection) -> Any:
    """`async with transaction(conn)`: the same as `conn.transaction()`."""
    return conn.transaction()


def savepoint(conn: Connection) -> Any:
    return conn.savepoint()
