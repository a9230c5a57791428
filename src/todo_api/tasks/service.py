"""Every task query, each scoped to its owner in the statement itself.

Writes that name versions (If-Match) carry them in the statement's WHERE clause, so a stale
write fails atomically. Completing a recurring task creates its next occurrence in the same
transaction, under a row lock, so that happens exactly once however the completion is raced.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_api.db import new_id, transaction, utcnow
from todo_api.errors import ApiError, ErrorCode, invalid_field
from todo_api.tasks import listing, recurrence
from todo_api.tasks.listing import CursorCodec, ListQuery
from todo_api.tasks.models import tasks
from todo_api.tasks.schemas import TaskCreate, TaskUpdate, stored_values

# The versions a conditional write accepts (from If-Match); None writes unconditionally.
Versions = frozenset[int] | None
# A recurring task needs a due date: a write touching either is checked afterwards.
RULE_FIELDS = frozenset({"recurrence", "due_at"})


class StaleVersion(ApiError):
    """The task exists, but not at any of the versions the write was conditional on."""

    def __init__(self) -> None:
        super().__init__(
            412,
            ErrorCode.PRECONDITION_FAILED,
            "The task has changed since the version given in If-Match",
        )


class RuleError(ApiError):
    """A write would leave the task breaking a rule that spans fields."""

    def __init__(self, field: str, message: str) -> None:
        error = invalid_field(field, message)
        super().__init__(error.status, error.code, error.message, details=error.details)


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
    if data.recurrence is not None and data.due_at is None:
        raise RuleError("recurrence", "a recurring task needs a due_at")
    now = utcnow()
    row = {
        "id": new_id(),
        "user_id": user_id,
        **stored_values(data),
        "completed_at": now if data.is_completed else None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(tasks).values(**row))
    return row


async def update_task(
    *,
    conn: AsyncConnection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: Versions = None,
) -> Row[Any] | None:
    """The changed task, or None when there is none; raises StaleVersion or RuleError."""
    values: dict[str, Any] = {**stored_values(data), "updated_at": utcnow()}
    if data.is_completed is False:
        values["completed_at"] = None
    if data.is_completed is not True and not RULE_FIELDS & values.keys():
        return await _update(conn, user_id, task_id, values, if_match)
    async with transaction(conn):  # several statements, or a rule check that may undo it
        if data.is_completed is True:
            return await _complete(conn, user_id, task_id, if_match, extra=values)
        return await _update(conn, user_id, task_id, values, if_match)


async def set_completed(
    *,
    conn: AsyncConnection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    completed: bool,
    if_match: Versions = None,
) -> Row[Any] | None:
    """Complete or reopen; idempotent: a task already in that state is left untouched."""
    if completed:
        return await _complete(conn, user_id, task_id, if_match)
    now = utcnow()
    reopened = await _update(
        conn,
        user_id,
        task_id,
        {"is_completed": False, "completed_at": None, "updated_at": now},
        if_match,
        only_if=tasks.c.is_completed,
    )
    if reopened is not None:
        return reopened
    return await _current(conn, user_id, task_id, if_match)


async def toggle_completed(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions = None
) -> Row[Any] | None:
    async with transaction(conn):
        task = await _locked(conn, user_id, task_id)
        if task is None:
            return None
        return await set_completed(
            conn=conn,
            user_id=user_id,
            task_id=task_id,
            completed=not task.is_completed,
            if_match=if_match,
        )


async def _complete(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: Versions,
    extra: dict[str, Any] | None = None,
) -> Row[Any] | None:
    """Mark completed (with any other changes). Only the write that actually completes an
    open recurring task, one that has not had its next occurrence yet, creates it."""
    now = utcnow()
    values = {**(extra or {}), "is_completed": True, "updated_at": now}
    async with transaction(conn):
        before = await _locked(conn, user_id, task_id)
        if before is None:
            return None
        if before.is_completed:
            if not extra:  # completing a completed task changes nothing
                return await _current(conn, user_id, task_id, if_match)
            return await _update(conn, user_id, task_id, values, if_match)
        values["completed_at"] = now
        # The task as this write leaves it decides the next occurrence; its id is marked on the
        # task by the same UPDATE, so that a later reopen and complete does not repeat it.
        after = {**before._asdict(), **values}
        following = _following(after) if before.next_occurrence_id is None else None
        if following is not None:
            values["next_occurrence_id"] = new_id()
        task = await _update(conn, user_id, task_id, values, if_match)
        if task is not None and following is not None:
            due_at, rule = following
            await conn.execute(
                insert(tasks).values(
                    id=values["next_occurrence_id"],
                    user_id=user_id,
                    title=task.title,
                    description=task.description,
                    priority=task.priority,
                    tags=task.tags,
                    due_at=due_at,
                    recurrence=str(rule),
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        return task


def _following(task: dict[str, Any]) -> tuple[datetime, recurrence.Rule] | None:
    """The next due date and rule of a recurring task; None when it does not recur (any more)."""
    if task["recurrence"] is None or task["due_at"] is None:
        return None
    return recurrence.next_occurrence(recurrence.parse(task["recurrence"]), task["due_at"])


async def delete_task(
    *, conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions = None
) -> bool:
    statement = delete(tasks).where(*_target(user_id, task_id, if_match))
    if (await conn.execute(statement)).rowcount > 0:
        return True
    await _raise_if_stale(conn, user_id, task_id, if_match)
    return False


def _target(
    user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions
) -> list[ColumnElement[bool]]:
    conditions = [tasks.c.id == task_id, tasks.c.user_id == user_id]
    if if_match is not None:
        conditions.append(tasks.c.version.in_(sorted(if_match)))
    return conditions


async def _update(
    conn: AsyncConnection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    if_match: Versions,
    only_if: ColumnElement[bool] | None = None,
) -> Row[Any] | None:
    """UPDATE ... RETURNING; None when no task matched (and it is not a stale version)."""
    conditions = _target(user_id, task_id, if_match)
    if only_if is not None:
        conditions.append(only_if)
    statement = (
        update(tasks)
        .where(*conditions)
        .values(**values, version=tasks.c.version + 1)
        .returning(*tasks.c)
    )
    row = (await conn.execute(statement)).first()
    if row is None and only_if is None:
        await _raise_if_stale(conn, user_id, task_id, if_match)
    if row is not None and RULE_FIELDS & values.keys() and row.recurrence and row.due_at is None:
        raise RuleError("recurrence", "a recurring task needs a due_at")
    return row


async def _current(
    conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions
) -> Row[Any] | None:
    """The task as it is, for a write that had nothing to change (still held to If-Match)."""
    task = await get_task(conn=conn, user_id=user_id, task_id=task_id)
    if task is not None and if_match is not None and task.version not in if_match:
        raise StaleVersion
    return task


async def _locked(conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID) -> Row[Any] | None:
    """The task, locked until the transaction ends (SQLite's transactions lock the file)."""
    query = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(query.with_for_update())).first()


async def _raise_if_stale(
    conn: AsyncConnection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions
) -> None:
    """After a conditional write matched nothing: 412 if the task is there, else not found."""
    if if_match is None:
        return
    present = select(exists().where(tasks.c.id == task_id, tasks.c.user_id == user_id))
    if (await conn.execute(present)).scalar():
        raise StaleVersion


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
    task: Any


class OperationFailed(Exception):
    def __init__(self, index: int, reason: ApiError | None) -> None:
        super().__init__(f"operation {index} failed")
        self.index = index
        self.reason = reason  # None: no such task


async def apply_all(
    *, conn: AsyncConnection, user_id: uuid.UUID, operations: Sequence[Operation]
) -> list[OperationResult]:
    """Apply every operation, or none: the first failure rolls everything back."""
    results: list[OperationResult] = []
    async with transaction(conn):
        for index, operation in enumerate(operations):
            try:
                result = await _apply(conn, user_id, operation)
            except ApiError as exc:
                raise OperationFailed(index, exc) from exc
            if result is None:
                raise OperationFailed(index, None)
            results.append(result)
    return results


async def _apply(
    conn: AsyncConnection, user_id: uuid.UUID, operation: Operation
) -> OperationResult | None:
    op, task_id = operation.op, operation.id
    if op == "create":
        assert isinstance(operation.data, TaskCreate)
        created = await create_task(conn=conn, user_id=user_id, data=operation.data)
        return OperationResult(op, created["id"], 201, created)
    assert task_id is not None
    task: Any
    if op == "update":
        assert isinstance(operation.data, TaskUpdate)
        task = await update_task(conn=conn, user_id=user_id, task_id=task_id, data=operation.data)
    elif op in ("complete", "reopen"):
        task = await set_completed(
            conn=conn, user_id=user_id, task_id=task_id, completed=op == "complete"
        )
    else:
        deleted = await delete_task(conn=conn, user_id=user_id, task_id=task_id)
        return OperationResult(op, task_id, 204, None) if deleted else None
    return OperationResult(op, task_id, 200, task) if task is not None else None
