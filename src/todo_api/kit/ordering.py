"""Manual order: positions with gaps, for tasks among their siblings and for a user's lists.

A row's `position` is a number; rows are ordered by (position, id), so even two rows that
share a position (two creates at the same moment) have a total order. A new row goes last:
the largest position plus STEP, computed in its INSERT. A row placed between two neighbours
takes the middle of the gap between them, so 20 moves into the same gap fit before it is used
up; then the neighbours nearest the spot (a window that widens only as far as it must) are
spread evenly again. Moves between the same two neighbours a thousand times renumber a few
rows every twenty moves or so, never the whole list each time.

Moves of one user are serialised (`serialise`): a user's row is locked for the transaction on
PostgreSQL, and SQLite's write transactions take turns, so two clients reordering at once each
see the other's result and the order stays consistent. The writes that lock several of a
user's tasks at once (a list's deletion, a bulk) take the same turn, so they never lock them in
a circle. A write that needs several users' turns (a member's task in a shared list) takes
them in one statement, in the order of their ids: two members moving tasks into each other's
lists at once then take turns, where each holding their own and waiting for the other's would
be a deadlock.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_api.db import Connection, Query
from todo_api.kit import access
from todo_api.tables.lists import lists
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

# The gap a new row leaves after the last one; positions stay far below 2**53, so clients
# reading JSON numbers as doubles read them exactly.
STEP = 2**20
# Renumbering a window leaves at least this gap between neighbours (10 more moves into it).
MIN_GAP = 2**10
FIRST_WINDOW = 4

_SERIALISE = Query(
    select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update(key_share=True)
)


def _owners(table: Table, ids: str, seen: ColumnElement[bool]) -> Any:
    """The owners of the rows of `table` named in the array parameter `ids` that the caller
    sees (no one else's turn is theirs to hold)."""
    named = table.c.id == any_(bindparam(ids, type_=ARRAY(Uuid)))
    return select(table.c.user_id).where(named, seen)


# The turns of the user and of the owners of some lists and tasks, locked in id order (the
# rows are locked as the sort hands them over).
_SERIALISE_WITH_OWNERS = Query(
    select(users.c.id)
    .where(
        or_(
            users.c.id == access.caller(),
            users.c.id.in_(_owners(lists, "list_ids", access.can_see_list())),
            users.c.id.in_(_owners(tasks, "task_ids", access.can_see_task())),
        )
    )
    .order_by(users.c.id)
    .with_for_update(key_share=True, of=users)
)


@dataclass(frozen=True)
class Place:
    """A row's place in its group: its position and id, which break ties."""

    position: int
    id: uuid.UUID


@dataclass(frozen=True)
class Group:
    """The rows a row is ordered among (its siblings): `conditions` on `table`. `pinned`:
    the columns the conditions fix, which lead the group's index before position and id;
    ordering by them too lets PostgreSQL read that index in order whatever its statistics."""

    table: Table
    conditions: tuple[ColumnElement[bool], ...]
    pinned: tuple[ColumnElement[Any], ...] = ()
    # The column that tells the group's rows apart (with the conditions), and breaks ties.
    key: str = "id"

    @property
    def id(self) -> ColumnElement[Any]:
        return self.table.c[self.key]

    def order(self, *, descending: bool) -> list[Any]:
        columns = [*self.pinned, self.table.c.position, self.id]
        return [c.desc() if descending else c.asc() for c in columns]


async def serialise(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    lists: Iterable[uuid.UUID | None] = (),
    tasks: Iterable[uuid.UUID | None] = (),
) -> set[uuid.UUID]:
    """Hold the user's reordering turn until the transaction ends (in a transaction only), and
    the turns of the owners of `lists` and `tasks` the user sees (others' need none), all
    at once in id order; the users whose turns are held.

    PostgreSQL: the users' rows, locked in the mode that leaves foreign-key checks (creating a
    task) free. SQLite: its write transactions already take turns."""
    if conn.name != "postgresql":
        return {user_id}
    list_ids = [list_id for list_id in lists if list_id is not None]
    task_ids = [task_id for task_id in tasks if task_id is not None]
    if not (list_ids or task_ids):
        await conn.execute(_SERIALISE, {"user_id": user_id})
        return {user_id}
    params = {"user_id": user_id, "list_ids": list_ids, "task_ids": task_ids}
    return {row.id for row in (await conn.execute(_SERIALISE_WITH_OWNERS, params)).rows}


def between(low: int | None, high: int | None) -> int | None:
    """A position strictly between two neighbours' (None: no neighbour on that side), or None
    when the gap is used up."""
    if high is None:
        return (low or 0) + STEP
    low = low or 0
    if high - low >= 2:
        return low + (high - low) // 2
    return None


def new_last(last: int | None, now: datetime) -> dict[str, Any]:
    """The columns of a new row placed last in its group, after the largest position `last`
    (None: the group is empty): its position, its first version and its times."""
    return {"position": (last or 0) + STEP, "version": 1, "created_at": now, "updated_at": now}


def spread(low: int, high: int | None, count: int) -> list[int]:
    """`count` positions evenly apart, strictly between `low` and `high` (None: no end)."""
    if high is None:
        return [low + STEP * (i + 1) for i in range(count)]
    return [low + (high - low) * (i + 1) // (count + 1) for i in range(count)]


async def position_for(
    conn: Connection,
    group: Group,
    moving: uuid.UUID | None,
    *,
    before: Place | None = None,
    after: Place | None = None,
    now: datetime,
) -> int:
    """The position for `moving` (a row of the group or joining it; None: a new row) right
    before `before`, right after `after`, or (neither) last. May renumber a few neighbours.
    Run it in a transaction, after `serialise`."""
    low: Place | None
    high: Place | None
    if before is not None:
        low, high = await _next_to(conn, group, moving, before, below=True), before
    elif after is not None:
        low, high = after, await _next_to(conn, group, moving, after, below=False)
    else:
        low, high = await _last(conn, group, moving), None
    found = between(low.position if low else None, high.position if high else None)
    if found is not None:
        return found
    assert high is not None  # there is always room after the last row
    return await _renumber_around(conn, group, moving, low, high, now)


async def moved(
    conn: Connection,
    group: Group,
    row_id: uuid.UUID,
    *,
    before: Place | None = None,
    after: Place | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The row `row_id` of `group` placed as `position_for` says, its version bumped and its
    `updated_at` now: the row as it is after. Run it in a transaction, after `serialise`."""
    position = await position_for(conn, group, row_id, before=before, after=after, now=now)
    table = group.table
    statement = (
        update(table)
        .where(group.id == row_id)
        .values(position=position, version=table.c.version + 1, updated_at=now)
        .returning(*table.c)
    )
    row = (await conn.execute(statement)).first()
    assert row is not None  # in its owner's turn (serialise), it cannot have gone
    return dict(row)


async def _renumber_around(
    conn: Connection,
    group: Group,
    moving: uuid.UUID | None,
    low: Place | None,
    high: Place,
    now: datetime,
) -> int:
    """Spread the rows nearest the gap between `low` and `high` evenly, widening the window
    until the space around it leaves MIN_GAP between them; the moving row's new position."""
    size = FIRST_WINDOW
    while True:
        below = await _side(conn, group, moving, low, below=True, limit=size) if low else []
        above = await _side(conn, group, moving, high, below=False, limit=size)
        floor = below.pop().position if len(below) == size else 0
        ceiling = above.pop().position if len(above) == size else None
        window: list[Place | None] = [*reversed(below), *([low] if low else []), None, high]
        window += above
        ceiling_ok = ceiling is None or (ceiling - floor) // (len(window) + 1) >= MIN_GAP
        if ceiling_ok:
            break
        size *= 4
    positions = spread(floor, ceiling, len(window))
    mine = 0
    for place, position in zip(window, positions, strict=True):
        if place is None:
            mine = position
        elif place.position != position:
            await _renumber(conn, group, place.id, position, now)
    return mine


_RENUMBER: dict[str, Query] = {}


async def _renumber(
    conn: Connection, group: Group, row_id: uuid.UUID, position: int, now: datetime
) -> None:
    """Moves a row to a new position, as any write does: a new version and updated_at. A
    group whose rows have no id of their own (a member's place for a list) tells them apart
    by its conditions too, and has neither."""
    table = group.table
    if group.key != "id":
        await conn.execute(
            update(table).where(group.id == row_id, *group.conditions).values(position=position)
        )
        return
    statement = _RENUMBER.get(table.name)
    if statement is None:
        statement = _RENUMBER[table.name] = Query(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(
                position=bindparam("new_position"),
                version=table.c.version + 1,
                updated_at=bindparam("now"),
            )
        )
    await conn.execute(statement, {"row_id": row_id, "new_position": position, "now": now})


def _others(group: Group, moving: uuid.UUID | None) -> list[ColumnElement[bool]]:
    conditions = list(group.conditions)
    if moving is not None:
        conditions.append(group.id != moving)
    return conditions


async def _side(
    conn: Connection,
    group: Group,
    moving: uuid.UUID | None,
    anchor: Place,
    *,
    below: bool,
    limit: int,
) -> list[Place]:
    """Up to `limit` rows nearest `anchor` on one side, nearest first."""
    table = group.table
    key = tuple_(table.c.position, group.id)
    anchor_key = tuple_(anchor.position, anchor.id)
    beyond = key < anchor_key if below else key > anchor_key
    statement = (
        select(table.c.position, group.id.label("id"))
        .where(and_(*_others(group, moving), beyond))
        .order_by(*group.order(descending=below))
        .limit(limit)
    )
    return [Place(row.position, row.id) for row in await conn.execute(statement)]


async def _next_to(
    conn: Connection, group: Group, moving: uuid.UUID | None, anchor: Place, *, below: bool
) -> Place | None:
    found = await _side(conn, group, moving, anchor, below=below, limit=1)
    return found[0] if found else None


async def _last(conn: Connection, group: Group, moving: uuid.UUID | None) -> Place | None:
    table = group.table
    statement = (
        select(table.c.position, group.id.label("id"))
        .where(*_others(group, moving))
        .order_by(*group.order(descending=True))
        .limit(1)
    )
    row = (await conn.execute(statement)).first()
    return Place(row.position, row.id) if row else None
