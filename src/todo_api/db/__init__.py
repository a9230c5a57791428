"""The data layer: pooled driver connections running statements compiled once per dialect."""

from todo_api.db.database import (
    Connection,
    Database,
    DatabaseFailure,
    IntegrityViolation,
    InvalidValue,
    Result,
)
from todo_api.db.dialects import insert_or_ignore
from todo_api.db.engine import create_engine
from todo_api.db.statements import Query, RefusedText, Row, insert_bound
from todo_api.db.types import SQLITE_UNICODE_LOWER, UTCDateTime

__all__ = [
    "SQLITE_UNICODE_LOWER",
    "Connection",
    "Database",
    "DatabaseFailure",
    "IntegrityViolation",
    "InvalidValue",
    "Query",
    "RefusedText",
    "Result",
    "Row",
    "UTCDateTime",
    "create_engine",
    "insert_bound",
    "insert_or_ignore",
]
