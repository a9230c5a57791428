"""A user's notifications: the inbox (only what they still see), read state, settings."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select, update

from todo_api.db import Connection, Query, Row, insert_or_ignore
from todo_api.kit import access
from todo_api.kit.paging import read_seq_cursor
from todo_api.notifications.schemas import (
    DEFAULT_EMAIL,
    DEFAULT_KINDS,
    MarkRead,
    SettingsUpdate,
)
from todo_api.tables.lists import lists
from todo_api.tables.notifications import notification_settings, notifications
from todo_api.tables.tasks import tasks

DEFAULT_PAGE = 50
MAX_PAGE = 100
_N = notifications.c


def _still_seen(shared: bool = True) -> ColumnElement[bool]:
    """What the caller still sees: the task (if it names one), else the list; without `shared`,
    for a caller in no list shared with them (access.can_see_task)."""
    return or_(
        and_(
            _N.task_id.is_not(None),
            exists().where(tasks.c.id == _N.task_id, access.can_see_task(shared)),
        ),
        and_(
            _N.task_id.is_(None),
            exists().where(lists.c.id == _N.list_id, access.can_see_list()),
        ),
    )


_STILL_SEEN = _still_seen()
_MINE = _N.user_id == access.caller()


def _page(unread: bool) -> Query:
    conditions = [_MINE, _N.seq < bindparam("before"), _STILL_SEEN]
    if unread:
        conditions.append(_N.read.is_(False))
    return Query(
        select(notifications)
        .where(*conditions)
        .order_by(_N.user_id.desc(), _N.seq.desc())
        .limit(bindparam("limit"))
    )


_PAGES = {unread: _page(unread) for unread in (False, True)}


def unread_count(shared: bool = True) -> Select[Any]:
    """The bell's count (also a column of the web app's sidebar statement); without `shared`,
    for a caller in no list shared with them."""
    still_seen = _still_seen(shared)
    return (
        select(func.count()).select_from(notifications).where(_MINE, _N.read.is_(False), still_seen)
    )


UNREAD = Query(unread_count())
_SETTINGS = Query(
    select(notification_settings).where(notification_settings.c.user_id == bindparam("user_id"))
)


async def inbox(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    unread: bool = False,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> dict[str, Any]:
    params = {"user_id": user_id, "before": read_seq_cursor(cursor), "limit": limit + 1}
    rows = (await conn.execute(_PAGES[unread], params)).rows
    page = rows[:limit]
    count = (await conn.execute(UNREAD, {"user_id": user_id})).scalar()
    return {
        "items": page,
        "next": str(page[-1]["seq"]) if len(rows) > limit else None,
        "unread_count": count,
    }


async def mark_read(conn: Connection, user_id: uuid.UUID, data: MarkRead) -> None:
    statement = update(notifications).where(_N.user_id == user_id, _N.read.is_(False))
    if data.ids is not None:
        statement = statement.where(_N.id.in_(data.ids))
    async with conn.transaction():
        await conn.execute(statement.values(read=True))


def settings_of(row: Row | None) -> dict[str, Any]:
    """A user's settings, the defaults where they set nothing."""
    if row is None:
        return {"email": DEFAULT_EMAIL, "kinds": dict(DEFAULT_KINDS)}
    return {"email": row["email"], "kinds": {**DEFAULT_KINDS, **(row["kinds"] or {})}}


async def get_settings(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    return settings_of((await conn.execute(_SETTINGS, {"user_id": user_id})).first())


async def update_settings(
    conn: Connection, user_id: uuid.UUID, data: SettingsUpdate
) -> dict[str, Any]:
    async with conn.transaction():
        current = await get_settings(conn, user_id)
        if data.email is not None:
            current["email"] = data.email
        if data.kinds is not None:
            current["kinds"] = {**current["kinds"], **data.kinds}
        await conn.execute(
            insert_or_ignore(conn, notification_settings).values(
                user_id=user_id, email=current["email"], kinds=current["kinds"]
            )
        )
        await conn.execute(
            update(notification_settings)
            .where(notification_settings.c.user_id == user_id)
            .values(email=current["email"], kinds=current["kinds"])
        )
    return current
