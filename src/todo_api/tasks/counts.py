"""How many subtasks some tasks have, and how many of them are done: for a page of tasks (the
web app's list shows `2/5` beside each), in one statement."""

import json
import uuid
from typing import Any

from sqlalchemy import Integer, bindparam, case, func, select

from todo_api.db import Connection, Query
from todo_api.tables.tasks import tasks

# One statement for a page of up to PAGE tasks: the ids are bound one by one (the last repeated
# to fill it), which both databases read alike.
PAGE = 50
_IDS = [bindparam(f"id{n}", type_=tasks.c.id.type) for n in range(PAGE)]
SUBTASKS = Query(
    select(
        tasks.c.parent_id,
        func.count().label("total"),
        func.sum(case((tasks.c.is_completed, 1), else_=0), type_=Integer).label("done"),
    )
    .where(tasks.c.parent_id.in_(_IDS))
    .group_by(tasks.c.parent_id),
    any_plan=True,
)


def subtask_params(task_ids: list[uuid.UUID]) -> dict[str, uuid.UUID]:
    """SUBTASKS' parameters for up to PAGE tasks (at least one)."""
    padded = task_ids + [task_ids[-1]] * (PAGE - len(task_ids))
    return {f"id{n}": task_id for n, task_id in enumerate(padded)}


async def subtask_counts(
    conn: Connection, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each task's (done, total) subtasks, for tasks with any. `task_ids`: tasks the caller
    sees (their subtasks are in the same list, so seen too)."""
    found: dict[uuid.UUID, tuple[int, int]] = {}
    for start in range(0, len(task_ids), PAGE):
        params = subtask_params(task_ids[start : start + PAGE])
        for row in (await conn.execute(SUBTASKS, params)).rows:
            found[uuid.UUID(str(row["parent_id"]))] = (int(row["done"]), int(row["total"]))
    return found


def subtasks_column(dialect: str) -> Any:
    """SUBTASKS' rows as one JSON array of `[parent_id, total, done]`, a column of another
    statement (a page's other numbers, read in the same round trip): `subtasks_of` reads it."""
    found = SUBTASKS.statement.subquery("subtasks")  # type: ignore[attr-defined]
    if dialect == "postgresql":
        each = func.json_build_array(found.c.parent_id, found.c.total, found.c.done)
        rows = func.json_agg(each)
    else:
        rows = func.json_group_array(
            func.json_array(found.c.parent_id, found.c.total, found.c.done)
        )
    return select(rows).scalar_subquery()


def subtasks_of(value: Any) -> dict[uuid.UUID, tuple[int, int]]:
    """`subtasks_column`'s value (JSON text, or parsed), as `subtask_counts` gives it."""
    if isinstance(value, str):
        value = json.loads(value)
    return {uuid.UUID(parent): (int(done), int(total)) for parent, total, done in value or ()}
