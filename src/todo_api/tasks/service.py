"""Every task query, each scoped to its owner in the statement itself.

Statements are built once per shape and compiled once per dialect (`todo_api.db.Query`); a
call binds its values. Writes that name versions (If-Match) carry them in the statement's
WHERE clause, so a stale write fails atomically. Completing a recurring task creates its next
occurrence in the same transaction, under a row lock, so that happens exactly once however the
completion is raced. Every function returns rows of one shape, `TaskRow`.
"""

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import bindparam, exists, func, insert, select, update

from todo_api.db import Connection, Query
from todo_api.kit import ordering
from todo_api.kit.access import owns_list
from todo_api.kit.errors import ApiError, InvalidField
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.rows import OwnedRows
from todo_api.kit.versions import Versions
from todo_api.tables.tasks import TaskRow, tasks
from todo_api.tasks import listing, recurrence
from todo_api.tasks.errors import OperationFailed, StaleVersion, TaskNotFound
from todo_api.tasks.listing import CursorCodec, ListQuery
from todo_api.tasks.schemas import TaskCreate, TaskUpdate, stored_values

# A recurring task needs a due date: a write touching either is checked afterwards.
RULE_FIELDS = frozenset({"recurrence", "due_at"})
# Columns that describe a task's life rather than its content: the next occurrence of a
# recurring task starts them afresh and copies every other column.
LIFECYCLE_COLUMNS = frozenset(
    {
        "id",
        "position",
        "is_completed",
        "completed_at",
        "due_at",
        "next_occurrence_id",
        "version",
        "change_txid",
        "change_seq",
        "created_at",
        "updated_at",
    }
)
# What an INSERT writes; the change stamps are the database's (triggers), the position is
# computed in the statement.
WRITTEN_COLUMNS = tuple(
    c.name for c in tasks.c if c.name not in {"change_txid", "change_seq", "position"}
)


def _needs_due_at() -> InvalidField:
    return InvalidField("recurrence", "a recurring task needs a due_at")


def _check_rule(rule: str | None, due_at: datetime | None, *, written: bool = False) -> None:
    """A rule on a task: it needs a due date and a next date within ten years; a rule this
    write gives the task (`written`) must also leave, with its COUNT or UNTIL, an occurrence
    after the due date (the last task of a series keeps the rule that ended it)."""
    if rule is None:
        return
    if due_at is None:
        raise _needs_due_at()
    parsed = recurrence.parse(rule)
    if not recurrence.recurs_soon(parsed, due_at):
        raise InvalidField(
            "recurrence", "gives no date after the task's due_at within the next 10 years"
        )
    if written and not recurrence.leaves_an_occurrence(parsed, due_at):
        raise InvalidField(
            "recurrence", "its COUNT or UNTIL leaves no occurrence after the task's due_at"
        )


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


@functools.lru_cache(maxsize=4)
def _insert_query(in_list: bool, under_parent: bool) -> Query:
    """INSERT of a task last among its siblings, its position computed in the statement."""
    # The largest position, read backwards along the group's index (ordering by the whole
    # key, which the conditions pin, so PostgreSQL reads one index entry for it).
    largest = (
        select(tasks.c.position)
        .where(*_siblings(in_list, under_parent))
        .order_by(*(column.desc() for column in SIBLING_ORDER))
        .limit(1)
        .scalar_subquery()
    )
    last = func.coalesce(largest, 0) + ordering.STEP
    values: dict[str, Any] = {name: bindparam(name) for name in WRITTEN_COLUMNS}
    return Query(insert(tasks).values(**values, position=last).returning(tasks.c.position))


# A task's open recurring subtasks: completing the task completes them, each making its next
# occurrence, which only the service can work out (the trigger of migration 0007 completes
# the other open subtasks in the completing statement itself).
_subtask = tasks.alias("subtask")
_OPEN_RECURRING_SUBTASKS = (
    select(_subtask.c.id)
    .where(
        _subtask.c.parent_id == tasks.c.id,
        _subtask.c.is_completed.is_(False),
        _subtask.c.recurrence.is_not(None),
    )
    .correlate(tasks)
)
OPEN_RECURRING_SUBTASKS = Query(
    select(_subtask.c.id).where(
        _subtask.c.parent_id == bindparam("task_id"),
        _subtask.c.user_id == bindparam("user_id"),
        _subtask.c.is_completed.is_(False),
        _subtask.c.recurrence.is_not(None),
    )
)

# Conditions an UPDATE may add: reopen only a completed task; complete in one statement only
# an open task that does not recur and has no open recurring subtask (the others need their
# row locked first).
Only = Literal["completed", "open_and_plain"] | None
ROWS: OwnedRows[TaskRow] = OwnedRows(
    tasks,
    not_found=TaskNotFound,
    stale=StaleVersion,
    conditions={
        "completed": [tasks.c.is_completed],
        "open_and_plain": [
            tasks.c.is_completed.is_(False),
            tasks.c.recurrence.is_(None),
            ~_OPEN_RECURRING_SUBTASKS.exists(),
        ],
    },
)


@dataclass(frozen=True)
class Page:
    tasks: list[TaskRow]
    total: int  # the tasks matching on every page, or at least this many when `total_is_minimum`
    total_is_minimum: bool
    next_cursor: str | None


async def list_tasks(
    conn: Connection, *, user_id: uuid.UUID, query: ListQuery, cursors: CursorCodec
) -> Page:
    """One page of the user's tasks, and the filtered total, in one round trip.

    Raises listing.InvalidCursor for a cursor this user, sort and filters did not get.
    """
    last, seen = (None, 0) if query.cursor is None else cursors.decode(user_id, query, query.cursor)
    params = listing.parameters(query, user_id, utcnow(), last)
    tagged = None
    if query.filters.tags:  # how common the first tag is decides the statement
        tagged = (await conn.execute(listing.TAGGED, params)).scalar()
    shape = listing.shape(query, conn.name, last, tagged)
    rows = (await conn.execute(listing.page_query(shape), params)).rows
    page, more = rows[: query.limit], len(rows) > query.limit
    if shape.q:  # a search counts what its pages have shown: exact on the last one
        total, total_is_minimum = seen + len(page), more
    else:
        if tagged is not None and listing.counts_by_tag(shape):
            total = tagged
        elif rows:  # the total rides along with the rows
            total = rows[0]["total_count"]
        else:  # a page past the end has no row to carry it
            total = (await conn.execute(listing.total_query(shape), params)).scalar()
        total_is_minimum = total > listing.TOTAL_COUNT_CAP
        total = min(total, listing.TOTAL_COUNT_CAP)
    next_cursor = None
    if more:
        last_values = listing.last_values(query.sort, page[-1])
        next_cursor = cursors.encode(user_id, query, last_values, seen + len(page))
    return Page(cast(list[TaskRow], page), total, total_is_minimum, next_cursor)


async def get_task(conn: Connection, *, user_id: uuid.UUID, task_id: uuid.UUID) -> TaskRow:
    """The task; raises TaskNotFound."""
    return await ROWS.get(conn, user_id, task_id)


def _found(task: TaskRow | None) -> TaskRow:
    if task is None:
        raise TaskNotFound
    return task


async def create_task(conn: Connection, *, user_id: uuid.UUID, data: TaskCreate) -> TaskRow:
    """A new task, last among its siblings. Raises InvalidField naming `list_id` or
    `parent_id` when either names nothing of the user's, or a subtask would not be in its
    parent's list or would have subtasks itself."""
    _check_rule(data.recurrence, data.due_at, written=True)
    now = utcnow()
    values = stored_values(data)
    row = {
        "id": new_id(),
        "user_id": user_id,
        **values,
        "completed_at": now if values["is_completed"] else None,
        "next_occurrence_id": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    if data.list_id is None and data.parent_id is None:
        return await _insert(conn, row)
    async with conn.transaction():
        # In the user's reordering turn, as list deletions and moves are: the list and the
        # parent stay as they were checked until the task is in.
        await ordering.serialise(conn, user_id)
        if data.parent_id is not None:
            parent = await _valid_parent(conn, user_id, data.parent_id)
            if "list_id" in data.model_fields_set and data.list_id != parent["list_id"]:
                raise _not_parents_list()
            row["list_id"] = parent["list_id"]
        else:
            await _check_list(conn, user_id, data.list_id)
        return await _insert(conn, row)


async def _insert(conn: Connection, row: dict[str, Any]) -> TaskRow:
    """INSERT the row (last among its siblings); the row as stored."""
    statement = _insert_query(row["list_id"] is not None, row["parent_id"] is not None)
    position = (await conn.execute(statement, row)).scalar()
    return cast(TaskRow, {**row, "position": position, "change_txid": 0, "change_seq": 0})


def _not_parents_list() -> InvalidField:
    return InvalidField("list_id", "a subtask is in its parent's list")


async def _check_list(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID | None) -> None:
    if list_id is not None and not await owns_list(conn, user_id, list_id):
        raise InvalidField("list_id", "names none of your lists")


async def _valid_parent(conn: Connection, user_id: uuid.UUID, parent_id: uuid.UUID) -> TaskRow:
    """The parent a task is to go under (read in the user's reordering turn)."""
    parent = await ROWS.find(conn, user_id, parent_id)
    if parent is None:
        raise InvalidField("parent_id", "names none of your tasks")
    if parent["parent_id"] is not None:
        raise InvalidField("parent_id", "names a subtask: subtasks have no subtasks of their own")
    return parent


async def update_task(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: Versions = None,
) -> TaskRow:
    """The changed task; raises TaskNotFound, StaleVersion or InvalidField.

    A new `list_id` or `parent_id` moves the task (last among its new siblings, its subtasks
    along), under the same rules as `move_task`, in the same transaction as the rest."""
    values: dict[str, Any] = {**stored_values(data), "updated_at": utcnow()}
    if data.is_completed is False:
        values["completed_at"] = None
    placement = {name: values.pop(name) for name in PLACEMENT_FIELDS if name in values}
    if not placement and data.is_completed is not True and not RULE_FIELDS & values.keys():
        return _found(await _update(conn, user_id, task_id, values, if_match))
    async with conn.transaction():  # several statements, or a rule check that may undo it
        rule = values.get("recurrence")
        rule_is_new = rule is not None and rule != await _stored_rule(conn, user_id, task_id)
        before = None
        if placement:
            before = await _locked_for_move(conn, user_id, task_id, if_match)
            values.update(await _relocation(conn, before, placement, None, None, last=False))
        if data.is_completed is True:
            task = await _complete(conn, user_id, task_id, if_match, extra=values)
        else:
            task = await _update(conn, user_id, task_id, values, if_match)
        task = _found(task)
        if before is not None:
            await _subtasks_follow(conn, before, task)
        if rule_is_new:
            _check_rule(task["recurrence"], task["due_at"], written=True)  # raising undoes it
        return task


async def _stored_rule(conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID) -> str | None:
    task = await ROWS.find(conn, user_id, task_id)
    return task["recurrence"] if task is not None else None


# Manual order: where a task is (list and parent) and its place among its siblings.

PLACEMENT_FIELDS = ("list_id", "parent_id")
HAS_SUBTASKS = Query(
    select(
        exists().where(
            tasks.c.parent_id == bindparam("task_id"), tasks.c.user_id == bindparam("user_id")
        )
    )
)
# Subtasks are in their parent's list: moving a parent to another list moves them.
SUBTASKS_FOLLOW = Query(
    update(tasks)
    .where(tasks.c.parent_id == bindparam("task_id"), tasks.c.user_id == bindparam("user_id"))
    .values(
        list_id=bindparam("new_list_id"),
        updated_at=bindparam("now"),
        version=tasks.c.version + 1,
    )
)


async def move_task(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    placement: Mapping[str, uuid.UUID | None],
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
    if_match: Versions = None,
) -> TaskRow:
    """Place the task right before or after another task (neither: last), in the list and
    under the parent `placement` names (`list_id`, `parent_id`; one left out stays as it is,
    or follows the task named by before/after). Its subtasks follow it to another list.

    Raises InvalidField naming the field at fault (see `_relocation`), TaskNotFound or
    StaleVersion."""
    async with conn.transaction():
        task = await _locked_for_move(conn, user_id, task_id, if_match)
        values = await _relocation(conn, task, placement, before, after, last=True)
        moved = _found(await _update(conn, user_id, task_id, values, None))
        await _subtasks_follow(conn, task, moved)
        return moved


async def _locked_for_move(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions
) -> TaskRow:
    """The task, locked, in the user's reordering turn (see ordering.serialise)."""
    await ordering.serialise(conn, user_id)
    task = _found(await ROWS.locked(conn, user_id, task_id))
    if if_match is not None and task["version"] not in if_match:
        raise StaleVersion
    return task


async def _relocation(
    conn: Connection,
    task: TaskRow,
    placement: Mapping[str, uuid.UUID | None],
    before: uuid.UUID | None,
    after: uuid.UUID | None,
    *,
    last: bool,
) -> dict[str, Any]:
    """The columns that put `task` where it is asked to go: list, parent and position. With
    `last` false, a task that stays among the same siblings keeps its position.

    The rules: a parent is a top-level task of the user's, not the task itself, and a task
    with subtasks cannot go under one (`parent_id`); a subtask is in its parent's list
    (`list_id`); the list is the user's (`list_id`); before/after name another task of the
    user's among the same siblings (`before`, `after`)."""
    user_id, task_id = task["user_id"], task["id"]
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
        parent = await _valid_parent(conn, user_id, parent_id)
        params = {"task_id": task_id, "user_id": user_id}
        if (await conn.execute(HAS_SUBTASKS, params)).scalar():
            raise InvalidField("parent_id", "a task with subtasks cannot become a subtask")
        list_id = parent["list_id"]
        if "list_id" in placement and placement["list_id"] != list_id:
            raise _not_parents_list()
    elif "list_id" in placement:
        list_id = placement["list_id"]
        await _check_list(conn, user_id, list_id)
    else:
        list_id = where["list_id"]
    if anchor is not None and (anchor["list_id"], anchor["parent_id"]) != (list_id, parent_id):
        raise InvalidField(anchor_field, "names a task in another list or under another parent")
    now = utcnow()
    values: dict[str, Any] = {"list_id": list_id, "parent_id": parent_id, "updated_at": now}
    if last or (list_id, parent_id) != (task["list_id"], task["parent_id"]):
        place = ordering.Place(anchor["position"], anchor["id"]) if anchor else None
        values["position"] = await ordering.position_for(
            conn,
            _sibling_group(user_id, list_id, parent_id),
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


async def _subtasks_follow(conn: Connection, before: TaskRow, after: TaskRow) -> None:
    if after["list_id"] != before["list_id"] and after["parent_id"] is None:
        params = {
            "task_id": after["id"],
            "user_id": after["user_id"],
            "new_list_id": after["list_id"],
            "now": after["updated_at"],
        }
        await conn.execute(SUBTASKS_FOLLOW, params)


async def set_completed(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    completed: bool,
    if_match: Versions = None,
) -> TaskRow:
    """Complete or reopen; idempotent: a task already in that state is left untouched.
    Raises TaskNotFound or StaleVersion."""
    if completed:
        return _found(await _complete(conn, user_id, task_id, if_match))
    reopened = await _update(
        conn,
        user_id,
        task_id,
        {"is_completed": False, "completed_at": None, "updated_at": utcnow()},
        if_match,
        only="completed",
    )
    if reopened is not None:
        return reopened
    return _found(await ROWS.current(conn, user_id, task_id, if_match))


async def toggle_completed(
    conn: Connection, *, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions = None
) -> TaskRow:
    async with conn.transaction():
        task = _found(await ROWS.locked(conn, user_id, task_id))
        return await set_completed(
            conn,
            user_id=user_id,
            task_id=task_id,
            completed=not task["is_completed"],
            if_match=if_match,
        )


async def _complete(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: Versions,
    extra: dict[str, Any] | None = None,
) -> TaskRow | None:
    """Mark completed (with any other changes). Only the write that actually completes an
    open recurring task, one that has not had its next occurrence yet, creates it.

    A task that does not recur is completed by one conditional UPDATE; a recurring one needs
    its row locked first, so that the next occurrence is decided once."""
    now = utcnow()
    values = {**(extra or {}), "is_completed": True, "updated_at": now}
    if not RULE_FIELDS & values.keys():
        completed = await _update(
            conn,
            user_id,
            task_id,
            {**values, "completed_at": now},
            if_match,
            only="open_and_plain",
        )
        if completed is not None:
            return completed
    async with conn.transaction():
        before = await ROWS.locked(conn, user_id, task_id)
        if before is None:
            return None
        if before["is_completed"]:
            if not extra:  # completing a completed task changes nothing
                return await ROWS.current(conn, user_id, task_id, if_match)
            return await _update(conn, user_id, task_id, values, if_match)
        values["completed_at"] = now
        # The task as this write leaves it decides the next occurrence; its id is marked on the
        # task by the same UPDATE, so that a later reopen and complete does not repeat it.
        after = {**before, **values}
        following = _following(after) if before["next_occurrence_id"] is None else None
        if following is not None:
            values["next_occurrence_id"] = new_id()
        task = await _update(conn, user_id, task_id, values, if_match)
        if task is not None and following is not None:
            due_at, rule = following
            content = {k: v for k, v in task.items() if k not in LIFECYCLE_COLUMNS}
            await _insert(
                conn,
                {
                    **content,
                    "id": values["next_occurrence_id"],
                    "recurrence": str(rule),
                    "due_at": due_at,
                    "is_completed": False,
                    "completed_at": None,
                    "next_occurrence_id": None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        if task is not None and task["parent_id"] is None:
            params = {"task_id": task_id, "user_id": user_id}
            for subtask in await conn.execute(OPEN_RECURRING_SUBTASKS, params):
                await _complete(conn, user_id, subtask["id"], None)
        return task


def _following(task: dict[str, Any]) -> tuple[datetime, recurrence.Rule] | None:
    """The next due date and rule of a recurring task; None when it does not recur (any more)."""
    if task["recurrence"] is None or task["due_at"] is None:
        return None
    return recurrence.next_occurrence(recurrence.parse(task["recurrence"]), task["due_at"])


async def delete_task(
    conn: Connection, *, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions = None
) -> None:
    """Delete the task (and its subtasks); raises TaskNotFound or StaleVersion."""
    if not await ROWS.delete(conn, user_id, task_id, if_match):
        raise TaskNotFound


async def _update(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    if_match: Versions,
    *,
    only: Only = None,
) -> TaskRow | None:
    """The rows' conditional UPDATE; a write touching the rule or the due date checks the rule
    on the row it leaves (raising undoes the write)."""
    row = await ROWS.update(conn, user_id, task_id, values, if_match, only=only)
    if row is not None and RULE_FIELDS & values.keys():
        _check_rule(row["recurrence"], row["due_at"])
    return row


# Bulk: many operations, one transaction, all or nothing.

BulkOp = Literal["create", "update", "complete", "reopen", "delete"]


@dataclass(frozen=True)
class Operation:
    op: BulkOp
    id: uuid.UUID | None = None
    data: TaskCreate | TaskUpdate | None = None


@dataclass(frozen=True)
class OperationResult:
    op: BulkOp
    id: uuid.UUID
    status: int
    task: TaskRow | None


async def apply_all(
    conn: Connection, *, user_id: uuid.UUID, operations: Sequence[Operation]
) -> list[OperationResult]:
    """Apply every operation, or none: the first failure rolls everything back and raises
    OperationFailed.

    In the user's reordering turn: each operation holds its task until the end, so two bulks
    of one user (or a bulk and a list's deletion) take turns instead of locking the same tasks
    in different orders."""
    results: list[OperationResult] = []
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        for index, operation in enumerate(operations):
            try:
                result = await _apply(conn, user_id, operation)
            except ApiError as exc:
                raise OperationFailed(index, exc) from exc
            results.append(result)
    return results


async def _apply(conn: Connection, user_id: uuid.UUID, operation: Operation) -> OperationResult:
    op, task_id = operation.op, operation.id
    if op == "create":
        assert isinstance(operation.data, TaskCreate)
        created = await create_task(conn, user_id=user_id, data=operation.data)
        return OperationResult(op, created["id"], 201, created)
    assert task_id is not None
    if op == "update":
        assert isinstance(operation.data, TaskUpdate)
        task = await update_task(conn, user_id=user_id, task_id=task_id, data=operation.data)
    elif op in ("complete", "reopen"):
        task = await set_completed(
            conn, user_id=user_id, task_id=task_id, completed=op == "complete"
        )
    else:
        await delete_task(conn, user_id=user_id, task_id=task_id)
        return OperationResult(op, task_id, 204, None)
    return OperationResult(op, task_id, 200, task)
