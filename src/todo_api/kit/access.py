"""Who may see and change what: the one place the access rule lives, for every domain.

A list has an owner and members (`list_members`, the owner included with role `owner`); an
editor changes the list's tasks, a viewer only reads them, and only the owner changes the list
itself and its people. A task belongs to the owner of its list (`tasks.user_id`; the inbox's
tasks, to their user), so "the caller's own tasks" is one equality and the tasks of lists
shared with the caller one indexed lookup of their memberships.

Every rule here is a condition on the caller, the `user_id` parameter, written into the
statement that reads or writes the rows: a row the caller may not see is not found, never
loaded and then refused. What a write that matched nothing should answer (not found, 403 or
412) is asked afterwards by `todo_api.kit.rows`.
"""

import enum
import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from todo_api.db import Connection, Query, Row
from todo_api.kit.errors import TaskNotFound
from todo_api.tables.lists import list_members, lists
from todo_api.tables.tasks import task_counts, tasks


class Role(enum.StrEnum):
    owner = "owner"
    editor = "editor"
    viewer = "viewer"


WRITERS = (Role.owner, Role.editor)


def caller() -> Any:
    return bindparam("user_id")


def in_role(roles: tuple[Role, ...]) -> ColumnElement[bool]:
    # Written into the SQL (not bound), so that every plan knows it.
    return list_members.c.role.in_([literal_column(f"'{role}'") for role in roles])


def shared_lists(*roles: Role, list_id: Any = None) -> Select[Any]:
    """The ids of the lists shared with the caller in one of `roles` (their own aside); with
    `list_id` (a parameter), that list's alone."""
    shared = select(list_members.c.list_id).where(
        list_members.c.user_id == caller(), in_role(roles)
    )
    return shared if list_id is None else shared.where(list_members.c.list_id == list_id)


def can_see_task(shared: bool = True) -> ColumnElement[bool]:
    """Whether the caller sees the task; without `shared`, their own tasks alone: the same for
    a caller in no list shared with them (a member, not its owner), with no memberships read."""
    own: ColumnElement[bool] = tasks.c.user_id == caller()
    if not shared:
        return own
    return or_(own, tasks.c.list_id.in_(shared_lists(Role.editor, Role.viewer)))


def can_change_task() -> ColumnElement[bool]:
    return or_(tasks.c.user_id == caller(), tasks.c.list_id.in_(shared_lists(Role.editor)))


def membership(list_id: Any, *roles: Role, who: Any = None) -> ColumnElement[bool]:
    """The membership of `who` (by default the caller) of the list `list_id` (a column, or a
    parameter), in one of `roles` (in any without)."""
    member = caller() if who is None else who
    conditions = [list_members.c.list_id == list_id, list_members.c.user_id == member]
    if roles:
        conditions.append(in_role(roles))
    return and_(*conditions)


def member_of(list_id: Any, *roles: Role, who: Any = None) -> ColumnElement[bool]:
    """Whether `who` (by default the caller) is a member of the list `list_id`, in one of
    `roles` (any without)."""
    return exists().where(membership(list_id, *roles, who=who))


def may_put_tasks_in(list_id: Any, who: Any = None) -> ColumnElement[bool]:
    """Whether `who` (by default the caller) may put tasks in the list `list_id` (a column, or
    a parameter; null: the caller's inbox): its owner and its editors may. The condition
    the write itself carries, so that a list lost since it was checked takes nothing."""
    return or_(list_id.is_(None), member_of(list_id, *WRITERS, who=who))


def sees_task_of(who: Any, owner_id: Any, list_id: Any | None) -> ColumnElement[bool]:
    """Whether `who` (a column) sees a task of `owner_id` in the list `list_id` (values; None:
    the owner's inbox): its owner, and the list's members."""
    owner: ColumnElement[bool] = who == owner_id
    return owner if list_id is None else or_(owner, member_of(list_id, who=who))


def can_see_list() -> ColumnElement[bool]:
    return member_of(lists.c.id)


def owns_list() -> ColumnElement[bool]:
    owned: ColumnElement[bool] = lists.c.user_id == caller()
    return owned


def seen_lists() -> Any:
    """The lists the caller sees, each joined to the caller's membership (for `SERVED` and
    `CALLERS_ORDER`)."""
    return lists.join(list_members, membership(lists.c.id))


# The caller's own order of the lists they see.
CALLERS_ORDER = (list_members.c.position, lists.c.id)
# Since when the caller sees the list (their membership's start), read with `seen_lists()`.
CALLER_JOINED_AT = list_members.c.joined_at


def shared_with_others(list_id: Any, owner: Any) -> ColumnElement[bool]:
    """Whether someone besides `owner` sees the list `list_id` (columns, or parameters)."""
    return exists().where(list_members.c.list_id == list_id, list_members.c.user_id != owner)


def members_of(list_id: Any) -> Select[Any]:
    """Who sees the list `list_id` (a column, or a parameter) and its tasks: its members, the
    owner included."""
    return select(list_members.c.user_id).where(list_members.c.list_id == list_id)


def sharing_with_caller() -> Select[Any]:
    """Everyone who sees a list the caller sees (the caller included, if they have a list)."""
    theirs = aliased(list_members)
    return (
        select(list_members.c.user_id)
        .distinct()
        .join(theirs, theirs.c.list_id == list_members.c.list_id)
        .where(theirs.c.user_id == caller())
    )


def _callers(column: str) -> Any:
    """The caller's `column` of their membership of the list being read."""
    return select(list_members.c[column]).where(membership(lists.c.id)).correlate(lists)


def seen_parent() -> Any:
    """The list's `parent_id` where the caller sees that parent, else null: sharing is per
    list, and a member of a list inside another sees it at the top of theirs."""
    theirs = aliased(list_members)
    seen = (
        exists()
        .where(theirs.c.list_id == lists.c.parent_id, theirs.c.user_id == caller())
        .correlate(lists)
    )
    return case((seen, lists.c.parent_id), else_=None).label("parent_id")


# A list's open tasks: the sum of its rows of `task_counts`.
OPEN_COUNT = (
    select(func.coalesce(func.sum(task_counts.c.open_count), 0))
    .where(task_counts.c.scope_id == lists.c.id)
    .correlate(lists)
    .scalar_subquery()
    .label("open_count")
)
# A list as it is served to the caller: its row, the caller's place for it and role, its
# members (counted in the statement that reads the list, from the primary key of list_members)
# and its open tasks.
SERVED = (
    *(column for column in lists.c if column.name != "parent_id"),
    seen_parent(),
    _callers("position").scalar_subquery().label("position"),
    _callers("role").scalar_subquery().label("role"),
    select(func.count())
    .where(list_members.c.list_id == lists.c.id)
    .correlate(lists)
    .scalar_subquery()
    .label("member_count"),
    OPEN_COUNT,
)


# A list named by `list_id`, as the caller may use it to put tasks in: its owner, and whether
# the caller may write to it (None when they cannot see it).
_LIST_FOR_TASKS = Query(
    select(lists.c.user_id, member_of(lists.c.id, *WRITERS).label("writable")).where(
        lists.c.id == bindparam("list_id"), can_see_list()
    )
)


async def list_for_tasks(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID
) -> tuple[uuid.UUID, bool] | None:
    """The owner of the list and whether the caller may put tasks in it; None when the caller
    cannot see it."""
    row = (await conn.execute(_LIST_FOR_TASKS, {"list_id": list_id, "user_id": user_id})).first()
    return None if row is None else (row.user_id, bool(row.writable))


# A task named by `task_id` as the caller may use it: its owner and list, and whether they may
# change it; nothing when they cannot see it.
_TASK_FOR_CALLER = Query(
    select(
        tasks.c.id,
        tasks.c.user_id,
        tasks.c.list_id,
        can_change_task().label("writable"),
    ).where(tasks.c.id == bindparam("task_id"), can_see_task())
)


async def task_for(conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID) -> Row:
    """The task the caller sees (id, user_id, list_id, writable); raises TaskNotFound."""
    row = (await conn.execute(_TASK_FOR_CALLER, {"task_id": task_id, "user_id": user_id})).first()
    if row is None:
        raise TaskNotFound
    return row


_MEMBER = Query(select(member_of(bindparam("list_id"), who=bindparam("who"))))


async def sees_tasks_of(
    conn: Connection, who: uuid.UUID, list_id: uuid.UUID | None, owner_id: uuid.UUID
) -> bool:
    """Whether `who` can see the tasks of `list_id` (None: the inbox of `owner_id`)."""
    if list_id is None:
        return who == owner_id
    return bool((await conn.execute(_MEMBER, {"who": who, "list_id": list_id})).scalar())


# Whether `who` sees the task now: its owner (the inbox's user, or the list's owner) or a member
# of its list. What a reminder fired earlier is checked against when it is sent (its email,
# its push messages): access lost, or the task deleted, since it fired sends nothing.
_STILL_SEES = Query(
    select(tasks.c.id).where(
        tasks.c.id == bindparam("task_id"),
        or_(tasks.c.user_id == bindparam("who"), member_of(tasks.c.list_id, who=bindparam("who"))),
    )
)


async def sees_task(conn: Connection, who: uuid.UUID, task_id: uuid.UUID) -> bool:
    """Whether `who` sees the task `task_id` now (False when it is gone)."""
    found = await conn.execute(_STILL_SEES, {"task_id": task_id, "who": who})
    return found.first() is not None


# The lists the caller sees whose name is `name_key` (keys.name_key), their own first, then
# those they may write to: quick add's `#name`.
_LISTS_NAMED = Query(
    select(lists.c.id, member_of(lists.c.id, *WRITERS).label("writable"))
    .where(lists.c.name_key == bindparam("name_key"), can_see_list())
    .order_by((lists.c.user_id == caller()).desc(), lists.c.id)
)


async def list_named(
    conn: Connection, user_id: uuid.UUID, name_key: str
) -> tuple[uuid.UUID, bool] | None:
    """The list named `name_key` that the caller sees (their own first, else one they may
    write to) and whether they may put tasks in it; None when they see no list of that name."""
    result = await conn.execute(_LISTS_NAMED, {"name_key": name_key, "user_id": user_id})
    rows = result.rows
    if not rows:
        return None
    row = next((row for row in rows if row.writable), rows[0])
    return row.id, bool(row.writable)
