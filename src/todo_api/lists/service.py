"""Every list query, each scoped to its owner in the statement itself.

A list's `open_count` is counted in the statement that reads the list (a correlated count
that the (list_id, is_completed) index answers), never in a query per list. Deleting a list
is one DELETE: the database deletes its tasks (foreign key, ON DELETE CASCADE) and leaves a
tombstone for each of them and for the list (triggers), all in one transaction.
Every function returns rows of one shape, `ListRow`.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy import bindparam, exists, func, insert, select

from todo_api.db import Connection, IntegrityViolation, Query
from todo_api.kit import ordering
from todo_api.kit.errors import InvalidField
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.rows import OwnedRows
from todo_api.kit.versions import Versions, versions_params
from todo_api.lists.errors import ListNameTaken, ListNotFound, ListStaleVersion
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.tables import keys
from todo_api.tables.lists import WITH_OPEN_COUNT, ListRow, lists
from todo_api.tables.tasks import tasks

ROWS: OwnedRows[ListRow] = OwnedRows(
    lists, not_found=ListNotFound, stale=ListStaleVersion, returning=WITH_OPEN_COUNT
)
ALL = Query(
    select(*WITH_OPEN_COUNT)
    .where(lists.c.user_id == bindparam("user_id"))
    .order_by(lists.c.position, lists.c.id)
)
# The list's tasks locked parents first: the order in which completing or deleting a parent
# locks them (the parent, then its subtasks by trigger or cascade).
LOCK_TASKS = Query(
    select(tasks.c.id)
    .where(tasks.c.list_id == bindparam("id"), tasks.c.user_id == bindparam("user_id"))
    .order_by(tasks.c.parent_id.is_not(None), tasks.c.id)
    .with_for_update()
)
NAME_TAKEN = Query(
    select(
        exists().where(
            lists.c.user_id == bindparam("user_id"), lists.c.name_key == bindparam("name_key")
        )
    )
)
# A new list goes last among the user's lists.
_LAST = (
    select(func.coalesce(func.max(lists.c.position), 0) + ordering.STEP)
    .where(lists.c.user_id == bindparam("user_id"))
    .scalar_subquery()
)
INSERT = Query(
    insert(lists)
    .values(
        id=bindparam("list_id"),
        user_id=bindparam("user_id"),
        name=bindparam("name"),
        name_key=bindparam("name_key"),
        color=bindparam("color"),
        position=_LAST,
        version=1,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(lists.c.position)
)


async def list_lists(conn: Connection, user_id: uuid.UUID) -> list[ListRow]:
    """The user's lists in their order, each with its open tasks counted."""
    rows = (await conn.execute(ALL, {"user_id": user_id})).rows
    return cast(list[ListRow], rows)


async def get_list(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> ListRow:
    """The list; raises ListNotFound."""
    return await ROWS.get(conn, user_id, list_id)


async def create_list(conn: Connection, user_id: uuid.UUID, data: ListCreate) -> ListRow:
    """A new list, last among the user's; raises ListNameTaken for a name the user has."""
    now = utcnow()
    row: dict[str, Any] = {
        "list_id": new_id(),
        "user_id": user_id,
        "name": data.name,
        "name_key": keys.name_key(data.name),
        "color": data.color,
        "now": now,
    }
    async with _unique_name(conn, user_id, row["name_key"]):
        position = (await conn.execute(INSERT, row)).scalar()
    return cast(
        ListRow,
        {
            "id": row["list_id"],
            "user_id": user_id,
            "name": data.name,
            "name_key": row["name_key"],
            "color": data.color,
            "position": position,
            "version": 1,
            "change_txid": 0,
            "change_seq": 0,
            "created_at": now,
            "updated_at": now,
            "open_count": 0,
        },
    )


async def update_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    data: ListUpdate,
    if_match: Versions = None,
) -> ListRow:
    """The changed list; raises ListNotFound, ListStaleVersion or ListNameTaken."""
    values: dict[str, Any] = {**data.model_dump(exclude_unset=True), "updated_at": utcnow()}
    key = keys.name_key(values["name"]) if "name" in values else None
    if key is not None:
        values["name_key"] = key
    async with _unique_name(conn, user_id, key):
        return _found(await ROWS.update(conn, user_id, list_id, values, if_match))


async def delete_list(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, if_match: Versions = None
) -> None:
    """Delete the list and, in the same statement, its tasks (each leaving a tombstone).

    In the user's reordering turn, which creating a task in a list and moving one take too:
    on PostgreSQL they take the same locks in the same order, so none waits on another in a
    circle. The cascade would lock the tasks in storage order, which may put a subtask before
    its parent while the parent is being completed or deleted: they are locked in that
    write's order first."""
    params = {"id": list_id, "user_id": user_id, **versions_params(if_match)}
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        if conn.name == "postgresql":  # SQLite's write transactions take turns
            await conn.execute(LOCK_TASKS, params)
        if not await ROWS.delete(conn, user_id, list_id, if_match, params=params):
            raise ListNotFound


async def move_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    *,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    if_match: Versions = None,
) -> ListRow:
    """Place the list right before or after another of the user's lists (neither: last).

    Raises ListNotFound, ListStaleVersion, or InvalidField naming `before` or `after` when
    that names no other list of the user's (someone else's list included)."""
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        moving = await ROWS.locked(conn, user_id, list_id)
        if moving is None:
            raise ListNotFound
        if if_match is not None and moving["version"] not in if_match:
            raise ListStaleVersion
        anchors: dict[str, ordering.Place] = {}
        for field, anchor_id in (("before", before), ("after", after)):
            if anchor_id is None:
                continue
            anchor = await ROWS.find(conn, user_id, anchor_id)
            if anchor is None:
                raise InvalidField(field, "names none of your lists")
            if anchor_id == list_id:
                raise InvalidField(field, "a list cannot be placed next to itself")
            anchors[field] = ordering.Place(anchor["position"], anchor_id)
        now = utcnow()
        group = ordering.Group(lists, (lists.c.user_id == user_id,), (lists.c.user_id,))
        position = await ordering.position_for(conn, group, list_id, **anchors, now=now)
        values = {"position": position, "updated_at": now}
        return _found(await ROWS.update(conn, user_id, list_id, values))


def _found(row: ListRow | None) -> ListRow:
    if row is None:
        raise ListNotFound
    return row


@contextlib.asynccontextmanager
async def _unique_name(
    conn: Connection, user_id: uuid.UUID, key: str | None
) -> AsyncIterator[None]:
    """Turns the unique index's refusal of a name the user already has into ListNameTaken;
    any other refusal (the user row gone, say) goes on as it was."""
    try:
        async with conn.savepoint():
            yield
    except IntegrityViolation as exc:
        params = {"user_id": user_id, "name_key": key}
        if key is not None and (await conn.execute(NAME_TAKEN, params)).scalar():
            raise ListNameTaken from exc
        raise
