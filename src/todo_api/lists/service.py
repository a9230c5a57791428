"""Every list query, each holding the access rule (`todo_api.kit.access`) in the statement
itself: members see a list, only its owner changes it.

A list's `open_count` is read in the statement that reads the list (its rows of
`task_counts`, kept by the writes), never in a query per list. Deleting a list
is one DELETE: the database deletes its tasks (foreign key, ON DELETE CASCADE) and leaves a
tombstone for each of them and for the list (triggers), all in one transaction.
Every function returns rows of one shape, `ListRow`.

Each change records its event for webhooks in its own transaction (`todo_api.kit.events`); a
list nobody with a webhook can see costs one indexed read more and nothing else. A list's
events carry it as the API shows it to whoever changed it (their `role`).
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Text, bindparam, exists, func, insert, select, update
from sqlalchemy import cast as cast_as

from todo_api.db import Connection, IntegrityViolation, Query, insert_bound
from todo_api.kit import access, events, ordering
from todo_api.kit.access import Role
from todo_api.kit.errors import InvalidField, ListNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.rows import VersionedRows
from todo_api.kit.versions import Versions, versions_params
from todo_api.lists import tree
from todo_api.lists.errors import ListForbidden, ListNameTaken, ListStaleVersion
from todo_api.lists.schemas import ListCreate, ListUpdate, list_body
from todo_api.tables import keys
from todo_api.tables.lists import NAME_MAX_LENGTH, ListRow, list_members, lists
from todo_api.tables.tasks import tasks

ROWS: VersionedRows[ListRow] = VersionedRows(
    lists,
    not_found=ListNotFound,
    stale=ListStaleVersion,
    forbidden=ListForbidden,
    can_see=access.can_see_list,
    can_change=access.owns_list,
    returning=access.SERVED,
    # Who changed it, which its activity names (migration 0040).
    actor="updated_by",
)
# The caller's lists as a page's navigation names them (`select(*NAVIGATION).select_from(
# access.seen_lists())`): each one's id and name, the caller's role (as text) and place for it,
# its open tasks (as `ALL` counts them), the list it is inside (if the caller sees it) and
# whether the caller keeps the lists inside it folded.
NAVIGATION = (
    lists.c.id,
    lists.c.name,
    cast_as(list_members.c.role, Text).label("role"),
    access.OPEN_COUNT,
    list_members.c.position,
    access.seen_parent(),
    list_members.c.folded,
)
FOLD = Query(
    update(list_members)
    .where(access.membership(bindparam("list_id")))
    .values(folded=bindparam("folded"))
)
# The caller's lists, their own and those shared with them, in the caller's order.
ALL = Query(
    select(*access.SERVED)
    .select_from(lists.join(list_members, access.membership(lists.c.id)))
    .order_by(list_members.c.position, lists.c.id),
    any_plan=True,
)
# The list's tasks locked parents first: the order in which completing or deleting a parent
# locks them (the parent, then its subtasks by trigger or cascade).
LOCK_TASKS = Query(
    select(tasks.c.id)
    .where(tasks.c.list_id == bindparam("id"), tasks.c.user_id == bindparam("user_id"))
    .order_by(tasks.c.parent_id.is_not(None), tasks.c.id)
    .with_for_update()
)
# The tasks a list holds: deleting it deletes them, each a `task.deleted` of its own.
TASK_IDS = Query(select(tasks.c.id).where(tasks.c.list_id == bindparam("list_id")))
NAME_TAKEN = Query(
    select(
        exists().where(
            lists.c.user_id == bindparam("user_id"), lists.c.name_key == bindparam("name_key")
        )
    )
)
INSERT = Query(
    insert_bound(
        lists,
        *("user_id", "name", "name_key", "color", "parent_id"),
        id=bindparam("list_id"),
        version=1,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
        updated_by=bindparam("user_id"),
    )
)
# A new membership (the owner's, or one by invitation) puts the list last among the user's.
_LAST = (
    select(func.coalesce(func.max(list_members.c.position), 0) + ordering.STEP)
    .where(list_members.c.user_id == bindparam("user_id"))
    .scalar_subquery()
)
JOIN = Query(
    insert(list_members)
    .values(
        list_id=bindparam("list_id"),
        user_id=bindparam("user_id"),
        role=bindparam("role"),
        position=_LAST,
        joined_at=bindparam("now"),
    )
    .returning(list_members.c.position)
)
PLACE = Query(
    update(list_members)
    .where(access.membership(bindparam("list_id")))
    .values(position=bindparam("position"))
)


async def list_lists(conn: Connection, user_id: uuid.UUID) -> list[ListRow]:
    """The user's lists in their order, each with its open tasks counted."""
    rows = (await conn.execute(ALL, {"user_id": user_id})).rows
    return cast(list[ListRow], rows)


async def get_list(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, *, changing: bool = False
) -> ListRow:
    """The list; raises ListNotFound, or with `changing` (for a page that offers to rename or
    delete it) ListForbidden as those changes would."""
    return await ROWS.get(conn, user_id, list_id, changing=changing)


async def create_list(conn: Connection, user_id: uuid.UUID, data: ListCreate) -> ListRow:
    """A new list, last among the user's; raises ListNameTaken for a name the user has."""
    now = utcnow()
    row: dict[str, Any] = {
        "list_id": new_id(),
        "user_id": user_id,
        "name": data.name,
        "name_key": keys.name_key(data.name),
        "color": data.color,
        "parent_id": data.parent_id,
        "now": now,
    }
    async with conn.transaction():
        if data.parent_id is not None:
            await ordering.serialise(conn, user_id)
            await tree.check_parent(conn, user_id, None, data.parent_id)
        async with _unique_name(conn, user_id, row["name_key"]):
            await conn.execute(INSERT, row)
            position = await join(conn, user_id, row["list_id"], Role.owner, now)
        created = _created(row, position)
        watchers = await events.watchers_of_user(conn, user_id)
        await events.record(
            conn,
            EventType.list_created,
            actor_id=user_id,
            data=lambda: list_body(created),
            watchers=watchers,
        )
    return created


def _created(row: dict[str, Any], position: int) -> ListRow:
    return cast(
        ListRow,
        {
            "id": row["list_id"],
            "user_id": row["user_id"],
            "name": row["name"],
            "name_key": row["name_key"],
            "color": row["color"],
            "parent_id": row["parent_id"],
            "version": 1,
            "change_txid": 0,
            "change_seq": 0,
            "created_at": row["now"],
            "updated_at": row["now"],
            "updated_by": row["user_id"],
            "position": position,
            "role": Role.owner,
            "member_count": 1,
            "open_count": 0,
        },
    )


async def join(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, role: Role, now: datetime
) -> int:
    """Make the user a member of the list in `role`, the list last among theirs; its place."""
    params = {"list_id": list_id, "user_id": user_id, "role": str(role), "now": now}
    return cast(int, (await conn.execute(JOIN, params)).scalar())


async def update_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    data: ListUpdate,
    if_match: Versions = None,
) -> ListRow:
    """The changed list; raises ListNotFound, ListStaleVersion or ListNameTaken, or
    InvalidField naming `parent_id` for a parent the tree's rules refuse (lists.tree)."""
    values: dict[str, Any] = {**data.model_dump(exclude_unset=True), "updated_at": utcnow()}
    key = keys.name_key(values["name"]) if "name" in values else None
    if key is not None:
        values["name_key"] = key
    if values.get("parent_id") is not None:
        async with conn.transaction():
            await ordering.serialise(conn, user_id)
            await ROWS.get(conn, user_id, list_id, changing=True)
            await tree.check_parent(conn, user_id, list_id, values["parent_id"])
            return await _update(conn, user_id, list_id, values, key, if_match)
    return await _update(conn, user_id, list_id, values, key, if_match)


async def _update(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    values: dict[str, Any],
    key: str | None,
    if_match: Versions,
) -> ListRow:
    watchers = await events.watchers_of_list(conn, list_id)
    if not watchers:
        async with _unique_name(conn, user_id, key):
            return _found(await ROWS.update(conn, user_id, list_id, values, if_match))
    async with conn.transaction():
        async with _unique_name(conn, user_id, key):
            changed = _found(await ROWS.update(conn, user_id, list_id, values, if_match))
        await events.record(
            conn,
            EventType.list_updated,
            actor_id=user_id,
            data=lambda: list_body(changed),
            watchers=watchers,
        )
        return changed


async def delete_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    if_match: Versions = None,
    *,
    with_children: bool = False,
) -> None:
    """Delete the list and, in the same statement, its tasks (each leaving a tombstone). The
    lists inside it move up a level (inside the list's own parent), or with `with_children`
    go with it, theirs first, each as deleting it would.

    In the user's reordering turn, which creating a task in a list and moving one take too:
    on PostgreSQL they take the same locks in the same order, so none waits on another in a
    circle. The cascade would lock the tasks in storage order, which may put a subtask before
    its parent while the parent is being completed or deleted: they are locked in that
    write's order first."""
    params = {"id": list_id, "user_id": user_id, **versions_params(if_match)}
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        found = await ROWS.find(conn, user_id, list_id)
        if found is not None and found["user_id"] == user_id:
            await _children_of_deleted(conn, user_id, found, with_children)
        if conn.name == "postgresql":  # SQLite's write transactions take turns
            await conn.execute(LOCK_TASKS, params)
        watchers = await events.watchers_of_list(conn, list_id)
        held = (await conn.execute(TASK_IDS, {"list_id": list_id})).rows if watchers else []
        if not await ROWS.delete(conn, user_id, list_id, if_match, params=params):
            raise ListNotFound
        gone = [(EventType.list_deleted, list_id)]
        gone += [(EventType.task_deleted, row["id"]) for row in held]
        for kind, row_id in gone:
            await events.record(
                conn, kind, actor_id=user_id, data={"id": row_id}, watchers=watchers
            )


async def _children_of_deleted(
    conn: Connection, user_id: uuid.UUID, deleted: ListRow, with_children: bool
) -> None:
    """The lists inside a list being deleted: deleted too (the deepest first), or moved up."""
    if not with_children:
        params = {"list_id": deleted["id"], "parent_id": deleted["parent_id"], "now": utcnow()}
        await conn.execute(tree.LIFT_CHILDREN, params)
        return
    parents = tree.parents_of(await list_lists(conn, user_id))
    below = tree.descendants(parents, deleted["id"])
    for child in sorted(below, key=lambda other: -len(tree.ancestry(parents, other))):
        await delete_list(conn, user_id, child)


async def move_list(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    *,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    if_match: Versions = None,
) -> ListRow:
    """Place the list right before or after another of the caller's lists (neither: last),
    among the caller's lists only: a member may place a shared list (that is not a write to
    it), and no one else's order changes.

    Raises ListNotFound, ListStaleVersion, or InvalidField naming `before` or `after` when
    that names no other list of the caller's (someone else's list included)."""
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        moving = await ROWS.find(conn, user_id, list_id)
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
        group = ordering.Group(
            list_members,
            (list_members.c.user_id == user_id,),
            (list_members.c.user_id,),
            key="list_id",
        )
        position = await ordering.position_for(conn, group, list_id, **anchors, now=utcnow())
        await conn.execute(PLACE, {"list_id": list_id, "user_id": user_id, "position": position})
        return {**moving, "position": position}


async def set_list_position(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, position: int
) -> None:
    """Give the list `position` in the caller's own order (lists sort by it, then by id): a
    calendar app's `calendar-order`, a number it sets and reads back. Raises ListNotFound."""
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        if await ROWS.find(conn, user_id, list_id) is None:
            raise ListNotFound
        await conn.execute(PLACE, {"list_id": list_id, "user_id": user_id, "position": position})


async def fold_list(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, *, folded: bool
) -> None:
    """Fold away (or show again) the lists inside the list in the caller's own navigation, on
    every device of theirs (not a write to the list). Raises ListNotFound."""
    params = {"list_id": list_id, "user_id": user_id, "folded": folded}
    if not (await conn.execute(FOLD, params)).rowcount:
        raise ListNotFound


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or with the first number that makes its key none of `taken` (name keys):
    "Groceries (2)", for a list made or handed over where its name is taken."""
    candidate, number = name, 1
    while keys.name_key(candidate) in taken:
        number += 1
        suffix = f" ({number})"
        candidate = name[: NAME_MAX_LENGTH - len(suffix)].rstrip() + suffix
    return candidate


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
