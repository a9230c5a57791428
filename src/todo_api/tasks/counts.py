"""How many subtasks some tasks have, and how many of them are done: for a page of tasks (the
web app's list shows `2/5` beside each), in one statement; how many files they have; and the
titles of the parents its subtasks name."""

import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Uuid,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
)

from todo_api.db import Connection, Query
from todo_api.tables.attachments import attachments
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


# A task's subtasks counted with it in one number (total * _PACKED + done): one lookup of
# them a row, where two numbers took two.
_PACKED = 1 << 32


def subtasks_column(task_id: Any) -> Any:
    """The subtasks of the task whose id is `task_id` (a column of another statement: each
    row of a page), counted and the done ones counted (`subtasks`, in one number): read with
    the page, in the same round trip. `subtasks_of_rows` reads them."""
    child = tasks.alias("subtask")
    packed = literal_column(str(_PACKED), BigInteger)  # written in the statement, not bound
    counted = func.count() * packed + func.count().filter(child.c.is_completed)
    return select(counted).where(child.c.parent_id == task_id).scalar_subquery()


def _ids_of(task_id: Any) -> Any:
    """The page's ids as one array (`= ANY` it: one scan of an index with them all; as a
    bare subquery, `ANY (SELECT ...)` would compare with each of its rows, each an array)."""
    return cast(select(func.array_agg(task_id)).scalar_subquery(), ARRAY(Uuid()))


def subtasks_of_page(task_id: Any) -> Any:
    """`subtasks_column` for every row of a page at once, PostgreSQL's (`task_id`: the page's
    id column, of a CTE): one JSON array of `[id, subtasks]` for the tasks with any, from one
    scan of the subtasks' index for all the ids, where a count a row opened a scan for each
    (a fifth of the page's cost). `subtasks_of_rows` reads it."""
    child = tasks.alias("subtask")
    packed = literal_column(str(_PACKED), BigInteger)
    counted = (
        select(
            child.c.parent_id.label("id"),
            (func.count() * packed + func.count().filter(child.c.is_completed)).label("n"),
        )
        .where(child.c.parent_id == any_(_ids_of(task_id)))
        .group_by(child.c.parent_id)
        .subquery("subtasks_counted")
    )
    return select(func.json_agg(func.json_build_array(counted.c.id, counted.c.n))).scalar_subquery()


def subtasks_of_rows(rows: list[Any]) -> dict[uuid.UUID, tuple[int, int]]:
    """`subtasks_column`'s values of a page's rows (`id`, `subtasks`), as `subtask_counts`
    gives them: the tasks with any."""
    found = {}
    for task_id, packed in rows:
        total, done = divmod(int(packed), _PACKED)
        if total:
            found[uuid.UUID(str(task_id))] = (done, total)
    return found


TITLES = Query(select(tasks.c.id, tasks.c.title).where(tasks.c.id.in_(_IDS)), any_plan=True)


async def titles(conn: Connection, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The titles of tasks the caller sees: the parents of a page's subtasks shown without
    them (a subtask is in its parent's list, so the parent is seen too)."""
    found: dict[uuid.UUID, str] = {}
    for start in range(0, len(task_ids), PAGE):
        params = subtask_params(task_ids[start : start + PAGE])
        for row in (await conn.execute(TITLES, params)).rows:
            found[uuid.UUID(str(row["id"]))] = row["title"]
    return found


def files_column(task_id: Any) -> Any:
    """The files of the task whose id is `task_id` counted (a column of another statement:
    each row of a page, read with it by the attachments' index on `task_id`)."""
    return select(func.count()).where(attachments.c.task_id == task_id).scalar_subquery()


def files_of_page(task_id: Any) -> Any:
    """`files_column` for every row of a page at once (as `subtasks_of_page`): one JSON array
    of `[id, files]` for the tasks with any. `files_of_rows` reads it."""
    counted = (
        select(attachments.c.task_id.label("id"), func.count().label("n"))
        .where(attachments.c.task_id == any_(_ids_of(task_id)))
        .group_by(attachments.c.task_id)
        .subquery("files_counted")
    )
    return select(func.json_agg(func.json_build_array(counted.c.id, counted.c.n))).scalar_subquery()


def files_of_rows(rows: list[Any]) -> dict[uuid.UUID, int]:
    """`files_column`'s values of a page's rows (`id`, `files`), or `files_of_page`'s pairs:
    each task's number of files, for tasks with any."""
    return {uuid.UUID(str(task_id)): int(count) for task_id, count in rows if count}


FILES = Query(
    select(attachments.c.task_id, func.count().label("files"))
    .where(attachments.c.task_id.in_(_IDS))
    .group_by(attachments.c.task_id),
    any_plan=True,
)


async def file_counts(conn: Connection, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each task's number of files, for tasks with any (a row shown again on its own)."""
    found: dict[uuid.UUID, int] = {}
    for start in range(0, len(task_ids), PAGE):
        params = subtask_params(task_ids[start : start + PAGE])
        for row in (await conn.execute(FILES, params)).rows:
            found[uuid.UUID(str(row["task_id"]))] = int(row["files"])
    return found
