"""Bulk: many task operations in one transaction, all or nothing."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from todo_api.db import Connection
from todo_api.kit import ordering
from todo_api.kit.errors import ApiError
from todo_api.tables.tasks import TaskRow
from todo_api.tasks.errors import OperationFailed
from todo_api.tasks.schemas import TaskCreate, TaskUpdate
from todo_api.tasks.service import create_task, delete_task, set_completed, update_task

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
    in different orders. The turns of the owners of the lists and parents it puts tasks in,
    and of the tasks it moves, are taken with it, all in one order (ordering.serialise)."""
    results: list[OperationResult] = []
    lists, tasks = _placements(operations)
    async with conn.transaction():
        await ordering.serialise(conn, user_id, lists=lists, tasks=tasks)
        for index, operation in enumerate(operations):
            try:
                result = await _apply(conn, user_id, operation)
            except ApiError as exc:
                raise OperationFailed(index, exc) from exc
            results.append(result)
    return results


def _placements(operations: Sequence[Operation]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The lists and tasks whose owners' reordering turns the operations take: where creates
    and moves put tasks, and the tasks moved."""
    lists: set[uuid.UUID] = set()
    tasks: set[uuid.UUID] = set()
    for operation in operations:
        data = operation.data
        if data is None or not data.model_fields_set & {"list_id", "parent_id"}:
            continue
        if operation.op == "update" and operation.id is not None:
            tasks.add(operation.id)
        if data.list_id is not None:
            lists.add(data.list_id)
        if data.parent_id is not None:
            tasks.add(data.parent_id)
    return lists, tasks


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
