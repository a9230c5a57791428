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
    conn: Connection, user_id: uuid.UUID, *, operations: Sequence[Operation]
) -> list[OperationResult]:
    """Apply every operation, or none: the first failure rolls everything back and raises
    OperationFailed.

    In the reordering turns of the caller and of the owners of every task it names and of
    every list and parent it puts tasks in, taken at once (ordering.serialise): each operation
    holds its task until the end, so two bulks over the same tasks (or owners), or a bulk and
    a list's deletion, take turns instead of locking the same rows in different orders."""
    results: list[OperationResult] = []
    lists, tasks = _named(operations)
    async with conn.transaction():
        await ordering.serialise(conn, user_id, lists=lists, tasks=tasks)
        for index, operation in enumerate(operations):
            try:
                result = await _apply(conn, user_id, operation)
            except ApiError as exc:
                raise OperationFailed(index, exc) from exc
            results.append(result)
    return results


def _named(operations: Sequence[Operation]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The lists and tasks whose owners' reordering turns the operations take: the tasks
    they change, and the lists and parents they put tasks in."""
    lists: set[uuid.UUID] = set()
    tasks: set[uuid.UUID] = set()
    for operation in operations:
        if operation.id is not None:
            tasks.add(operation.id)
        if operation.data is not None:
            fields = operation.data.model_fields_set
            if "list_id" in fields and operation.data.list_id is not None:
                lists.add(operation.data.list_id)
            if "parent_id" in fields and operation.data.parent_id is not None:
                tasks.add(operation.data.parent_id)
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
