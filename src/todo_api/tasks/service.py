"""Every task query, each scoped to its owner in the statement itself."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, case, delete, func, insert, literal, not_, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_api.db import UTCDateTime, new_id, utcnow
from todo_api.tasks import listing
from todo_api.tasks.listing import CursorCodec, ListQuery
from todo_api.tasks.models import tasks
from todo_api.tasks.schemas import TaskCreate, TaskUpdate, stored_values


@dataclass(frozen=True)
class Page:
    tasks: list[Row[Any]]
    total: int
    next_cursor: str | None


async def list_tasks(
    *, conn: AsyncConnection, user_id: uuid.UUID, query: ListQuery, cursors: CursorCodec
) -> Page:
    """One page of the user's tasks, and the filtered total, in one round trip.

    Raises listing.InvalidCursor for a cursor this user, sort and filters did not get.
    """
    dialect = conn.dialect.name
    conditions = listing.where(query.filters, user_id, dialect, utcnow())
    total = select(func.count()).select_from(tasks).where(*conditions).scalar_subquery()
    page_conditions = list(conditions)
    if query.cursor is not None:
        last = cursors.decode(user_id, query, query.cursor)
        page_conditions.append(listing.after(query, dialect, last))
    statement = (
        select(
            tasks,
            listing.sort_key(query.sort_field, dialect).label("sort_value"),
            total.label("total_count"),
        )
        .where(*page_conditions)
        .order_by(*listing.order_by(query, dialect))
        .limit(query.limit + 1)  # one more than asked tells whether another page follows
    )
    rows = list(await conn.execute(statement))
    # The total rides along with the rows; a page past the end has no row to carry it.
    count = rows[0].total_count if rows else (await conn.execute(select(total))).scalar_one()
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = (
        cursors.encode(user_id, query, listing.last_values(query, page[-1])) if more else None
    )
    return Page(tasks=page, total=count, next_cursor=next_cursor)


async def get_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID
) -> Row[Any] | None:
    query = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(query)).first()


async def create_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, data: TaskCreate
) -> dict[str, Any]:
    now = utcnow()
    row = {
        "id": new_id(),
        "user_id": user_id,
        **stored_values(data),
        "completed_at": now if data.is_completed else None,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(tasks).values(**row))
    return row


async def update_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate
) -> Row[Any] | None:
    now = utcnow()
    values: dict[str, Any] = {**stored_values(data), "updated_at": now}
    if data.is_completed is True:
        values["completed_at"] = case(
            (tasks.c.is_completed, tasks.c.completed_at), else_=_timestamp(now)
        )
    elif data.is_completed is False:
        values["completed_at"] = None
    return await _update(conn, user_id, task_id, values)


async def set_completed(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, completed: bool
) -> Row[Any] | None:
    """Complete or reopen; idempotent: a task already in that state is left untouched."""
    now = utcnow()
    unchanged = tasks.c.is_completed == completed
    values = {
        "is_completed": completed,
        "completed_at": case(
            (unchanged, tasks.c.completed_at), else_=_timestamp(now) if completed else null()
        ),
        "updated_at": case((unchanged, tasks.c.updated_at), else_=_timestamp(now)),
    }
    return await _update(conn, user_id, task_id, values)


async def toggle_completed(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID
) -> Row[Any] | None:
    now = utcnow()
    values = {
        "is_completed": not_(tasks.c.is_completed),
        "completed_at": case((tasks.c.is_completed, null()), else_=_timestamp(now)),
        "updated_at": now,
    }
    return await _update(conn, user_id, task_id, values)


def _timestamp(value: Any) -> Any:
    # Typed, so that SQLite stores it in the same text form as every other timestamp.
    return literal(value, UTCDateTime())


async def _update(
    conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, values: dict[str, Any]
) -> Row[Any] | None:
    statement = (
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        .values(**values)
        .returning(*tasks.c)
    )
    return (await conn.execute(statement)).first()


async def delete_task(*, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID) -> bool:
    statement = delete(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(statement)).rowcount > 0
