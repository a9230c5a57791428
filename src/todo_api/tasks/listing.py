"""Listing tasks: filters, a total order for every sort, and opaque keyset cursors.

A cursor carries the sort values of the last task on a page, so the next page starts right
after it whatever was created or deleted meanwhile (no offsets). It is signed, and bound to the
user, the sort and the filters that made it: a tampered or foreign cursor is refused.
"""

import hashlib
import json
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    ColumnElement,
    Uuid,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import UnaryExpression

from todo_api.db import SQLITE_UNICODE_LOWER, UTCDateTime
from todo_api.signing import InvalidToken, Signer
from todo_api.tasks.models import Priority, tasks

SortField = Literal["created_at", "updated_at", "due_at", "priority", "title"]
Sort = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
    "title",
    "-title",
]
SORTS: tuple[str, ...] = get_args(Sort)
DEFAULT_SORT: Sort = "-created_at"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class TaskFilters:
    completed: bool | None = None
    priorities: tuple[Priority, ...] = ()
    tags: tuple[str, ...] = ()  # every one of them
    q: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None

    def fingerprint(self) -> str:
        """What a cursor remembers of the filters, to refuse it under others."""
        canonical = json.dumps(
            [
                self.completed,
                sorted(int(p) for p in self.priorities),
                sorted(self.tags),
                self.q,
                self.due_before.isoformat() if self.due_before else None,
                self.due_after.isoformat() if self.due_after else None,
                self.overdue,
            ]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ListQuery:
    filters: TaskFilters = field(default_factory=TaskFilters)
    sort: Sort = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def sort_field(self) -> SortField:
        return self.sort.removeprefix("-")  # type: ignore[return-value]

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


class CursorCodec:
    """Signs and reads cursors. A cursor holds only the last task's sort values; its signature
    also covers the user, the sort and the filters, so under any others it fails to verify."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "todo-api task cursor")

    def _context(self, user_id: uuid.UUID, query: ListQuery) -> str:
        return f"{user_id.hex}|{query.sort}|{query.filters.fingerprint()}"

    def encode(self, user_id: uuid.UUID, query: ListQuery, last: list[Any]) -> str:
        values = [_json_value(value) for value in last]
        return self._signer.dumps(values, self._context(user_id, query))

    def decode(self, user_id: uuid.UUID, query: ListQuery, token: str) -> list[Any]:
        """The sort values of the last task of the previous page."""
        try:
            last = self._signer.loads(token, self._context(user_id, query))
            return _parse_last(query.sort_field, last)
        except InvalidToken as exc:
            raise InvalidCursor(str(exc)) from None
        except (ValueError, TypeError):
            raise InvalidCursor("is not a cursor") from None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def _parse_last(sort_field: SortField, last: Any) -> list[Any]:
    value, task_id = last
    if value is not None and sort_field in {"created_at", "updated_at", "due_at"}:
        value = datetime.fromisoformat(value)
    return [value, uuid.UUID(task_id)]


def lower(text: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Lower case for every letter, not only ASCII (SQLite's own lower() stops there)."""
    if dialect == "sqlite":
        return getattr(func, SQLITE_UNICODE_LOWER)(text)  # type: ignore[no-any-return]
    return func.lower(text)


def sort_key(sort_field: SortField, dialect: str) -> ColumnElement[Any]:
    """The expression a sort orders by. Titles order case-insensitively, by code point."""
    if sort_field == "title":
        lowered = lower(tasks.c.title, dialect)
        return lowered.collate("C") if dialect == "postgresql" else lowered
    column: ColumnElement[Any] = tasks.c[sort_field]
    return column


def order_by(query: ListQuery, dialect: str) -> list[UnaryExpression[Any]]:
    key = sort_key(query.sort_field, dialect)
    if query.descending:
        ordered, by_id = key.desc(), tasks.c.id.desc()
    else:
        ordered, by_id = key.asc(), tasks.c.id.asc()
    if query.sort_field == "due_at":
        ordered = ordered.nulls_last()  # tasks without a due date come last either way
    return [ordered, by_id]


def after(query: ListQuery, dialect: str, last: list[Any]) -> ColumnElement[bool]:
    """The tasks that come after `last` in the query's order."""
    value, last_id = last
    key = sort_key(query.sort_field, dialect)
    beyond: Callable[[Any, Any], ColumnElement[bool]] = (
        operator.lt if query.descending else operator.gt
    )
    id_literal = literal(last_id, Uuid())
    if query.sort_field == "due_at":
        if value is None:  # already among the undated tasks at the end
            return and_(key.is_(None), beyond(tasks.c.id, id_literal))
        dated = beyond(tuple_(key, tasks.c.id), tuple_(literal(value, UTCDateTime()), id_literal))
        return or_(dated, key.is_(None))
    value_type = UTCDateTime() if query.sort_field in {"created_at", "updated_at"} else None
    return beyond(tuple_(key, tasks.c.id), tuple_(literal(value, value_type), id_literal))


def last_values(query: ListQuery, row: Any) -> list[Any]:
    if query.sort_field == "title":
        return [row.sort_value, row.id]
    return [getattr(row, query.sort_field), row.id]


def where(
    filters: TaskFilters, user_id: uuid.UUID, dialect: str, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [tasks.c.user_id == user_id]
    if filters.completed is not None:
        conditions.append(tasks.c.is_completed == filters.completed)
    if filters.priorities:
        conditions.append(tasks.c.priority.in_([int(p) for p in filters.priorities]))
    if filters.tags:
        conditions.append(_has_all_tags(list(filters.tags), dialect))
    if filters.q is not None:
        conditions.append(_matches(filters.q, dialect))
    if filters.due_before is not None:
        conditions.append(tasks.c.due_at < literal(filters.due_before, UTCDateTime()))
    if filters.due_after is not None:
        conditions.append(tasks.c.due_at >= literal(filters.due_after, UTCDateTime()))
    if filters.overdue is True:
        conditions.append(
            and_(tasks.c.due_at < literal(now, UTCDateTime()), tasks.c.is_completed == false())
        )
    elif filters.overdue is False:
        conditions.append(
            or_(
                tasks.c.due_at.is_(None),
                tasks.c.due_at >= literal(now, UTCDateTime()),
                tasks.c.is_completed == true(),
            )
        )
    return conditions


def _matches(q: str, dialect: str) -> ColumnElement[bool]:
    """Title or description contains `q`, ignoring case (ILIKE: the trigram indexes serve it)."""
    pattern = f"%{escape_like(q)}%"
    if dialect == "postgresql":
        return or_(
            tasks.c.title.ilike(pattern, escape="\\"),
            tasks.c.description.ilike(pattern, escape="\\"),
        )
    pattern = pattern.lower()
    return or_(
        lower(tasks.c.title, dialect).like(pattern, escape="\\"),
        lower(tasks.c.description, dialect).like(pattern, escape="\\"),
    )


def escape_like(text: str) -> str:
    """`%` and `_` in a search are the characters themselves, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_all_tags(tags: list[str], dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # JSONB containment, served by the GIN index on tags.
        return tasks.c.tags.op("@>")(literal(tags, JSONB()))
    conditions: list[ColumnElement[bool]] = []
    for tag in tags:
        element = func.json_each(tasks.c.tags).table_valued("value")
        conditions.append(exists(select(true()).select_from(element).where(element.c.value == tag)))
    return and_(*conditions)
