"""The activity of a list, of an inbox and of a task, newest first: read from `activity`,
which the database's triggers write for tasks and lists and the services for comments and
memberships (todo_api.kit.activity). Seen by whoever sees the list (the inbox's: its user)
or the task; kept ACTIVITY_RETENTION_DAYS (older items are pruned, and never shown).

Values are shown as the API shows them, whichever database wrote them: ids as UUIDs, times as
RFC 3339 in UTC, a priority by its name, tags as a list."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, select

from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row, UTCDateTime
from todo_api.kit import access
from todo_api.kit.errors import ListNotFound
from todo_api.kit.ids import utcnow
from todo_api.kit.paging import read_seq_cursor
from todo_api.tables.activity import activity
from todo_api.tables.lists import lists
from todo_api.tables.tasks import Priority

DEFAULT_PAGE = 50
MAX_PAGE = 100

_A = activity.c
_PAGE_OF = {
    "list": _A.list_id == bindparam("list_id"),
    "inbox": (_A.owner_id == bindparam("user_id")) & _A.list_id.is_(None),
    "task": _A.task_id == bindparam("task_id"),
}
_ORDER = {
    "list": (_A.list_id.desc(), _A.seq.desc()),
    "inbox": (_A.owner_id.desc(), _A.seq.desc()),
    "task": (_A.task_id.desc(), _A.seq.desc()),
}


def _page(scope: str) -> Query:
    statement: Select[Any] = (
        select(activity)
        .where(
            _PAGE_OF[scope],
            _A.seq < bindparam("before"),
            _A.at > bindparam("since", type_=UTCDateTime),
        )
        .order_by(*_ORDER[scope])
        .limit(bindparam("limit"))
    )
    return Query(statement)


_PAGES = {scope: _page(scope) for scope in _PAGE_OF}
_SEEN_LIST = Query(
    select(lists.c.id).where(lists.c.id == bindparam("list_id"), access.can_see_list())
)

_IDS = frozenset(
    {"assignee_id", "list_id", "parent_id", "owner_id", "user_id", "comment_id", "section_id"}
)
_TIMES = frozenset({"due_at", "start_at"})
_PRIORITIES = {int(p): p.name for p in Priority}


def _value(name: str, value: Any) -> Any:
    """A value as the database wrote it, as the API shows it."""
    if value is None:
        return None
    if name in _IDS:
        return str(uuid.UUID(str(value)))
    if name in _TIMES:
        # The first and last instants, as PostgreSQL's JSON writes them (kit.http.json_bytes).
        edge = {"-infinity": datetime.min, "infinity": datetime.max}.get(str(value))
        at = edge if edge is not None else datetime.fromisoformat(str(value))
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if name in ("due_date", "start_date"):
        return date.fromisoformat(str(value)[:10])
    if name == "is_completed":
        return bool(value)
    if name == "priority":
        return _PRIORITIES.get(int(value), value)
    if name == "tags" and isinstance(value, str):
        return json.loads(value)
    return value


def item_body(row: Row) -> dict[str, Any]:
    changes = row["changes"] or {}
    if isinstance(changes, str):
        changes = json.loads(changes)
    return {
        "id": row["id"],
        "at": row["at"],
        "actor_id": row["actor_id"],
        "action": row["action"],
        "task_id": row["task_id"],
        "changes": {
            name: [_value(name, pair[0]), _value(name, pair[1])] for name, pair in changes.items()
        },
    }


async def _read(
    conn: Connection,
    scope: str,
    params: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
    retention_days: int,
) -> dict[str, Any]:
    since = utcnow() - timedelta(days=retention_days)
    bound = {**params, "before": read_seq_cursor(cursor), "since": since, "limit": limit + 1}
    rows = (await conn.execute(_PAGES[scope], bound)).rows
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [item_body(row) for row in page],
        "next": str(page[-1]["seq"]) if more else None,
    }


async def of_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID | None,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    retention_days: int = 90,
) -> dict[str, Any]:
    """A page of the list's activity (None: the caller's inbox), newest first. Raises
    ListNotFound for a list the caller does not see."""
    if list_id is None:
        return await _read(
            conn,
            "inbox",
            {"user_id": user_id},
            limit=limit,
            cursor=cursor,
            retention_days=retention_days,
        )
    seen = await conn.execute(_SEEN_LIST, {"list_id": list_id, "user_id": user_id})
    if seen.first() is None:
        raise ListNotFound
    return await _read(
        conn,
        "list",
        {"list_id": list_id},
        limit=limit,
        cursor=cursor,
        retention_days=retention_days,
    )


async def of_task(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    retention_days: int = 90,
) -> dict[str, Any]:
    """A page of the task's activity, newest first. Raises TaskNotFound."""
    await access.task_for(conn, user_id, task_id)
    return await _read(
        conn,
        "task",
        {"task_id": task_id},
        limit=limit,
        cursor=cursor,
        retention_days=retention_days,
    )


async def prune(db: Database, settings: Settings) -> int:
    """Delete the items older than ACTIVITY_RETENTION_DAYS; return how many."""
    cutoff = utcnow() - timedelta(days=settings.activity_retention_days)
    async with db.connection() as conn:
        gone = await conn.execute(delete(activity).where(_A.at < cutoff))
    return gone.rowcount
