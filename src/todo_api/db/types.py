"""Column types both databases share, and the naming convention of constraints."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Explicit constraint names, so migrations can refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite's own lower() and LIKE fold ASCII letters only; this function, registered on every
# SQLite connection, folds every letter as PostgreSQL's lower() does.
SQLITE_UNICODE_LOWER = "unicode_lower"


def aware(value: datetime | None) -> datetime | None:
    """`value` as it is, unless it is a naive datetime (refused: which zone would it be in?)."""
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime refused: timestamps must carry a timezone")
    return value


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC in Python on every database.

    PostgreSQL keeps `timestamptz`; SQLite keeps text without an offset, so values are
    converted to UTC on the way in and given back their UTC zone on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        value = aware(value)
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)
