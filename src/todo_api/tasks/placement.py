"""Where a task is: its list, its parent (subtasks are one level deep and in their parent's
list), and its place among its siblings (`todo_api.kit.ordering`), for creating and moving
tasks. Every check runs in the user's reordering turn (`ordering.serialise`) by its caller."""

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit import access, events, ordering
from todo_api.kit.errors import InvalidField
from todo_api.kit.ids import utcnow
from todo_api.kit.versions import Versions
from todo_api.tables.sections import sections
from todo_api.tables.tasks import TaskRow, task_counts, tasks
from todo_api.tables.users import DEFAULT_ZONE, users
from todo_api.tasks.errors import StaleVersion, TaskForbidden
from todo_api.tasks.rows import ROWS, found

# What an INSERT writes; the change and arrival stamps are the database's (triggers), the
# position is computed in the statement.
STAMPS = {"change_txid": 0, "change_seq": 0, "arrived_txid": 0, "arrived_seq": 0}
WRITTEN_COLUMNS = tuple(c.name for c in tasks.c if c.name not in {*STAMPS, "position"})
PLACED_COLUMNS = (*WRITTEN_COLUMNS, "position")


# The order of the siblings' index (ix_tasks_user_id_list_id_parent_id_position_id).
SIBLING_ORDER = (tasks.c.user_id, tasks.c.list_id, tasks.c.parent_id, tasks.c.position, tasks.c.id)


def _siblings(in_list: bool, under_parent: bool) -> list[Any]:
    """A task's siblings, the tasks it is ordered among: the same list and parent."""
    return [
        tasks.c.user_id == bindparam("user_id"),
        tasks.c.list_id == bindparam("list_id") if in_list else tasks.c.list_id.is_(None),
        tasks.c.parent_id == bindparam("parent_id")
        if under_parent
        else tasks.c.parent_id.is_(None),
    ]


@functools.lru_cache(maxsize=8)
def _insert_query(in_list: bool, under_parent: bool, unwatched: bool = False) -> Query:
    """INSERT of a task last among its siblings, its position computed in the statement; with
    `unwatched`, only if no webhook of its owner's hears of it (else it inserts nothing)."""
    # The largest position, read backwards along the group's index (ordering by the whole
    # key, which the conditions pin, so PostgreSQL reads one index entry for it). LIMIT 1 is
    # written in the SQL: as a parameter, a generic plan would be costed for a tenth of the
    # rows, and PostgreSQL would go on planning each insert.
    largest = (
        select(tasks.c.position)
        .where(*_siblings(in_list, under_parent))
        .order_by(*(column.desc() for column in SIBLING_ORDER))
        .limit(literal_column("1", Integer()))
        .scalar_subquery()
    )
    last = func.coalesce(largest, 0) + ordering.STEP
    values: dict[str, Any] = {
        name: bindparam(name, type_=tasks.c[name].type) for name in WRITTEN_COLUMNS
    }
    # No zone given: the creator's, read here rather than in a round trip of its own.
    creators_zone = select(users.c.timezone).where(users.c.id == values["created_by"])
    values["timezone"] = func.coalesce(
        values["timezone"], creators_zone.scalar_subquery(), DEFAULT_ZONE
    )
    stored = (tasks.c.position, tasks.c.timezone)
    conditions = []
    if unwatched:
        conditions.append(events.unwatched_user(values["user_id"]))
    if in_list:  # the access rule in the write: a list lost since it was checked takes nothing
        writer = bindparam("writer", type_=tasks.c.user_id.type)
        conditions.append(access.may_put_tasks_in(values["list_id"], who=writer))
    if conditions:
        row = select(*values.values(), last).where(*conditions)
        columns = [*WRITTEN_COLUMNS, "position"]
        return Query(insert(tasks).from_select(columns, row).returning(*stored))
    return Query(insert(tasks).values(**values, position=last).returning(*stored))


async def insert_last(conn: Connection, writer: uuid.UUID, row: dict[str, Any]) -> TaskRow:
    """INSERT the row (last among its siblings; in the creator's zone if it has none) for
    `writer`, if they may put tasks in its list; the row as stored. A list they lost since
    `owner_of` let them raises what `owner_of` now says."""
    in_list = row["list_id"] is not None
    statement = _insert_query(in_list, row["parent_id"] is not None)
    inserted = (await conn.execute(statement, {**row, "writer": writer})).first()
    if inserted is None:
        await owner_of(conn, writer, row["list_id"])
        raise TaskForbidden
    return _stored(row, inserted)


async def insert_last_unwatched(conn: Connection, row: dict[str, Any]) -> TaskRow | None:
    """`insert_last` of a task in its owner's inbox, if none of the owner's webhooks hears of
    it: one statement when nobody watches; None (nothing inserted) when someone does."""
    assert row["list_id"] is None
    assert row["parent_id"] is None
    found = (await conn.execute(_insert_query(False, False, unwatched=True), row)).first()
    return None if found is None else _stored(row, found)


def _stored(row: dict[str, Any], inserted: Mapping[str, Any]) -> TaskRow:
    """The row as inserted: what the statement computed (its place and zone) over what it was
    given."""
    return cast(TaskRow, {**row, **inserted, **STAMPS})


# Many rows at once (an import): each row brings its place.
_INSERT_PLACED = Query(insert(tasks).values({name: bindparam(name) for name in PLACED_COLUMNS}))
# The last position among a user's top-level inbox tasks: what comes in goes after it.
_INBOX_LAST = Query(
    select(func.coalesce(func.max(tasks.c.position), 0)).where(
        tasks.c.user_id == bindparam("user_id"),
        tasks.c.list_id.is_(None),
        tasks.c.parent_id.is_(None),
    )
)
_TAKE_COUNTS = Query(
    delete(task_counts)
    .where(task_counts.c.scope_id == bindparam("scope_id"))
    .returning(*task_counts.c)
)
_PUT_COUNTS = Query(insert_bound(task_counts, *(column.name for column in task_counts.c)))


async def inbox_last(conn: Connection, user_id: uuid.UUID) -> int:
    """The position of the user's last top-level inbox task (0: none)."""
    return int((await conn.execute(_INBOX_LAST, {"user_id": user_id})).scalar() or 0)


async def insert_placed(conn: Connection, rows: list[dict[str, Any]]) -> list[TaskRow]:
    """INSERT many rows that bring their places (an import: its lists are new, its places
    computed from the file), in the caller's transaction and reordering turn: the top-level
    ones before their subtasks, the scopes' counts added to once (`_counted_once`)."""
    async with _counted_once(conn, rows):
        await conn.execute_many(_INSERT_PLACED, [r for r in rows if r["parent_id"] is None])
        await conn.execute_many(_INSERT_PLACED, [r for r in rows if r["parent_id"] is not None])
    return [cast(TaskRow, {**row, **STAMPS}) for row in rows]


@contextlib.asynccontextmanager
async def _counted_once(conn: Connection, rows: list[dict[str, Any]]) -> AsyncIterator[None]:
    """The block's new tasks counted once, not once each: the open and done counts of the
    scopes they go to (`task_counts`: each list's, each inbox's) are taken out while they go
    in, so that the per-row trigger finds nothing to add to (a scope with no row is not
    counted), then put back with the block's totals added. A trigger adding to one row ten
    thousand times in one transaction makes a chain of ten thousand versions of that row, each
    update walking it: the time would grow with the square of the rows' number.

    On PostgreSQL the trigger runs at commit (deferred): here it runs with each statement,
    while the rows are out. A write of someone else's to the same scope meanwhile finds the
    rows held, and adds its change to a new row of its own, as it does when they are busy."""
    totals: dict[uuid.UUID, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(row["list_id"] or row["user_id"], [0, 0])
        counts[1 if row["is_completed"] else 0] += 1
    if conn.name == "postgresql":
        await conn.run_sql("SET CONSTRAINTS tasks_count IMMEDIATE")
    taken = []
    for scope in totals:
        taken += (await conn.execute(_TAKE_COUNTS, {"scope_id": scope})).rows
    yield
    taken.sort(key=lambda row: (row["scope_id"], row["slot"]))
    for row in taken:
        opened, done = totals.pop(row["scope_id"], (0, 0))  # on the scope's first row
        await conn.execute(
            _PUT_COUNTS,
            {
                **row,
                "open_count": row["open_count"] + opened,
                "done_count": row["done_count"] + done,
            },
        )
    if conn.name == "postgresql":
        await conn.run_sql("SET CONSTRAINTS tasks_count DEFERRED")


def not_parents_list() -> InvalidField:
    return InvalidField("list_id", "a subtask is in its parent's list")


async def owner_of(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID | None) -> uuid.UUID:
    """Whose tasks go in `list_id` (None: the caller's inbox), for the caller to put one there:
    InvalidField naming `list_id` if they cannot see it, TaskForbidden if they only view it.
    A list of someone else's also takes its owner's reordering turn (see ordering.serialise)."""
    if list_id is None:
        return user_id
    found = await access.list_for_tasks(conn, user_id, list_id)
    if found is None:
        raise InvalidField("list_id", "names none of your lists")
    owner, writable = found
    if not writable:
        raise TaskForbidden
    if owner != user_id:
        await ordering.serialise(conn, owner)
    return owner


async def valid_parent(conn: Connection, user_id: uuid.UUID, parent_id: uuid.UUID) -> TaskRow:
    """The parent a task is to go under (read in the user's reordering turn): one the caller
    sees (else InvalidField) and may put tasks next to (else TaskForbidden)."""
    parent = await ROWS.find(conn, user_id, parent_id)
    if parent is None:
        raise InvalidField("parent_id", "names none of your tasks")
    if parent["parent_id"] is not None:
        raise InvalidField("parent_id", "names a subtask: subtasks have no subtasks of their own")
    await owner_of(conn, user_id, parent["list_id"])
    return parent


_SECTION_LIST = Query(select(sections.c.list_id).where(sections.c.id == bindparam("section_id")))


async def valid_section(
    conn: Connection, section_id: uuid.UUID | None, list_id: uuid.UUID | None
) -> uuid.UUID | None:
    """`section_id` if it is None or a section of `list_id` (read in the list owner's turn,
    which deleting a section takes); else InvalidField naming `section_id`."""
    if section_id is None:
        return None
    found = (await conn.execute(_SECTION_LIST, {"section_id": section_id})).scalar()
    if list_id is None or found != list_id:
        raise InvalidField("section_id", "names no section of the task's list")
    return section_id


def not_parents_section() -> InvalidField:
    return InvalidField("section_id", "a subtask is in its parent's section")


# Manual order: where a task is (list, parent and section) and its place among its siblings.

PLACEMENT_FIELDS = ("list_id", "parent_id", "section_id")
HAS_SUBTASKS = Query(
    select(
        exists().where(
            tasks.c.parent_id == bindparam("task_id"), tasks.c.user_id == bindparam("user_id")
        )
    )
)
# Subtasks are in their parent's list: moving a parent to another list moves them.
_NEW_LIST = bindparam("new_list_id", type_=tasks.c.list_id.type)
# A subtask's assignee stays only if they see the tasks where it goes: its new owner's inbox,
# or a list they are a member of (its owner included).
_ASSIGNEE_SEES_NEW_PLACE = or_(
    and_(_NEW_LIST.is_(None), tasks.c.assignee_id == bindparam("new_user_id")),
    access.member_of(_NEW_LIST, who=tasks.c.assignee_id),
)
SUBTASKS_FOLLOW = Query(
    update(tasks)
    .where(tasks.c.parent_id == bindparam("task_id"), tasks.c.user_id == bindparam("user_id"))
    .values(
        user_id=bindparam("new_user_id"),
        list_id=_NEW_LIST,
        section_id=bindparam("new_section_id", type_=tasks.c.section_id.type),
        assignee_id=case((_ASSIGNEE_SEES_NEW_PLACE, tasks.c.assignee_id), else_=None),
        changed_by=bindparam("actor_id", type_=tasks.c.changed_by.type),
        updated_at=bindparam("now"),
        version=tasks.c.version + 1,
    )
    .returning(*ROWS.returning)
)


async def locked_for_move(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: Versions,
    placement: Mapping[str, uuid.UUID | None],
    *anchors: uuid.UUID | None,
) -> TaskRow:
    """The task, locked for the caller to move where `placement` and the `anchors` (before,
    after) say, in the reordering turns of the caller, of its owner and of where it goes (see
    ordering.serialise)."""
    held = await ordering.serialise(
        conn,
        user_id,
        lists=[placement.get("list_id")],
        tasks=[task_id, placement.get("parent_id"), *anchors],
    )
    seen = found(await ROWS.find(conn, user_id, task_id))
    if seen["user_id"] not in held:  # it moved to another owner meanwhile
        await ordering.serialise(conn, seen["user_id"])
    task = found(await ROWS.locked(conn, user_id, task_id))
    if if_match is not None and task["version"] not in if_match:
        raise StaleVersion
    return task


async def relocation(
    conn: Connection,
    user_id: uuid.UUID,
    task: TaskRow,
    placement: Mapping[str, uuid.UUID | None],
    before: uuid.UUID | None,
    after: uuid.UUID | None,
    *,
    last: bool,
) -> dict[str, Any]:
    """The columns that put `task` where the caller asks it to go: list (and so owner),
    parent, section and position. With `last` false, a task that stays among the same siblings keeps
    its position. An assignee who cannot see where it goes is unassigned.

    The rules: a parent is a top-level task the caller sees, not the task itself, and a task
    with subtasks cannot go under one (`parent_id`); a subtask is in its parent's list
    (`list_id`) and section (`section_id`); a section is one of the task's list
    (`section_id`); one left out is the task's own in the same list, none in another (the
    anchor's, next to an anchor); the caller may put tasks in the list (`list_id`, or 403 for
    a viewer);
    before/after name another task the caller sees among the same siblings (`before`,
    `after`)."""
    task_id = task["id"]
    anchor_field, anchor_id = ("before", before) if before is not None else ("after", after)
    anchor: TaskRow | None = None
    if anchor_id is not None:
        if anchor_id == task_id:
            raise InvalidField(anchor_field, "a task cannot be placed next to itself")
        anchor = await ROWS.find(conn, user_id, anchor_id)
        if anchor is None:
            raise InvalidField(anchor_field, "names none of your tasks")
    where = anchor if anchor is not None else task
    parent_id = placement["parent_id"] if "parent_id" in placement else where["parent_id"]
    if parent_id is not None:
        if parent_id == task_id:
            raise InvalidField("parent_id", "a task cannot be its own subtask")
        parent = await valid_parent(conn, user_id, parent_id)
        params = {"task_id": task_id, "user_id": task["user_id"]}
        if (await conn.execute(HAS_SUBTASKS, params)).scalar():
            raise InvalidField("parent_id", "a task with subtasks cannot become a subtask")
        list_id = parent["list_id"]
        if "list_id" in placement and placement["list_id"] != list_id:
            raise not_parents_list()
        owner = parent["user_id"]
    elif "list_id" in placement:
        list_id = placement["list_id"]
        owner = await owner_of(conn, user_id, list_id)
    else:
        list_id = where["list_id"]
        owner = where["user_id"]
    if anchor is not None and (anchor["list_id"], anchor["parent_id"]) != (list_id, parent_id):
        raise InvalidField(anchor_field, "names a task in another list or under another parent")
    if parent_id is not None:
        section_id = parent["section_id"]
        if "section_id" in placement and placement["section_id"] != section_id:
            raise not_parents_section()
    elif "section_id" in placement:
        section_id = await valid_section(conn, placement["section_id"], list_id)
    else:
        section_id = where["section_id"] if where["list_id"] == list_id else None
    now = utcnow()
    values: dict[str, Any] = {
        "user_id": owner,
        "list_id": list_id,
        "parent_id": parent_id,
        "section_id": section_id,
        "updated_at": now,
    }
    assignee = task["assignee_id"]
    if assignee is not None and not await access.sees_tasks_of(conn, assignee, list_id, owner):
        values["assignee_id"] = None
    if last or (list_id, parent_id) != (task["list_id"], task["parent_id"]):
        place = ordering.Place(anchor["position"], anchor["id"]) if anchor else None
        values["position"] = await ordering.position_for(
            conn,
            _sibling_group(owner, list_id, parent_id),
            task_id,
            before=place if before is not None else None,
            after=place if after is not None else None,
            now=now,
        )
    return values


def _sibling_group(
    user_id: uuid.UUID, list_id: uuid.UUID | None, parent_id: uuid.UUID | None
) -> ordering.Group:
    return ordering.Group(
        tasks,
        (
            tasks.c.user_id == user_id,
            tasks.c.list_id.is_(None) if list_id is None else tasks.c.list_id == list_id,
            tasks.c.parent_id.is_(None) if parent_id is None else tasks.c.parent_id == parent_id,
        ),
        SIBLING_ORDER[:3],
    )


async def subtasks_follow(conn: Connection, before: TaskRow, after: TaskRow) -> list[TaskRow]:
    """Move the task's subtasks along to its new list or section, unassigning those whose
    assignee cannot see it there; the subtasks moved, as they are now."""
    moved = (after["list_id"], after["section_id"]) != (before["list_id"], before["section_id"])
    if moved and after["parent_id"] is None:
        params = {
            "task_id": after["id"],
            "user_id": before["user_id"],
            "new_user_id": after["user_id"],
            "new_list_id": after["list_id"],
            "new_section_id": after["section_id"],
            "actor_id": after.get("changed_by"),  # whoever moved the parent
            "now": after["updated_at"],
        }
        return cast(list[TaskRow], (await conn.execute(SUBTASKS_FOLLOW, params)).rows)
    return []
