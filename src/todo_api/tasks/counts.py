"""How many subtasks some tasks have, and how many of them are done: for a page of tasks (the
web app's list shows `2/5` beside each), in one statement."""

import uuid

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


async def subtask_counts(
    conn: Connection, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """Each task's (done, total) subtasks, for tasks with any. `task_ids`: tasks the caller
    sees (their subtasks are in the same list, so seen too)."""
    found: dict[uuid.UUID, tuple[int, int]] = {}
    for start in range(0, len(task_ids), PAGE):
        part = task_ids[start : start + PAGE]
        padded = part + [part[-1]] * (PAGE - len(part))
        params = {f"id{n}": task_id for n, task_id in enumerate(padded)}
        for row in (await conn.execute(SUBTASKS, params)).rows:
            found[uuid.UUID(str(row["parent_id"]))] = (int(row["done"]), int(row["total"]))
    return found
