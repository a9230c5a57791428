"""Keeping a task about to be deleted for `restore` (todo_api.tasks.trash): in the deletion's own
transaction, the rows that go with it (the task, its subtasks, their comments and files, the
occurrences a repeating task completed) as JSON values in `deleted_tasks`. Here, below the
rooms, because a task goes by more than its own route: deleting a section deletes its tasks
(todo_api.lists.sections), each kept as if deleted alone."""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select

from todo_api.db import Connection, Query
from todo_api.kit.ids import utcnow
from todo_api.tables.attachments import attachments
from todo_api.tables.comments import task_comments
from todo_api.tables.completions import task_completions
from todo_api.tables.deleted_tasks import deleted_tasks
from todo_api.tables.tasks import tasks

_ID: Any = bindparam("task_id")
# The task and its subtasks, their comments and their files.
_TASK_AND_SUBTASKS = or_(tasks.c.id == _ID, tasks.c.parent_id == _ID)
_IDS = select(tasks.c.id).where(_TASK_AND_SUBTASKS)
_SELECTS = {
    "tasks": Query(select(tasks).where(_TASK_AND_SUBTASKS)),
    "task_comments": Query(select(task_comments).where(task_comments.c.task_id.in_(_IDS))),
    "attachments": Query(select(attachments).where(attachments.c.task_id.in_(_IDS))),
    "task_completions": Query(select(task_completions).where(task_completions.c.task_id.in_(_IDS))),
}
FORGET = Query(delete(deleted_tasks).where(deleted_tasks.c.task_id == _ID))
_KEEP = Query(
    insert(deleted_tasks).values(
        {name: bindparam(name) for name in deleted_tasks.c.keys()}  # noqa: SIM118 (columns)
    )
)


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def keep(conn: Connection, task_id: uuid.UUID, deleted_by: uuid.UUID) -> None:
    """Keep the task about to be deleted, with its subtasks, comments and files, for `restore`
    (in the deletion's transaction; its rows locked by it)."""
    found = (await conn.execute(_SELECTS["tasks"], {"task_id": task_id})).rows
    task = next((row for row in found if row["id"] == task_id), None)
    if task is None:
        return
    kept: dict[str, list[Any]] = {"tasks": list(found)}
    for name in ("task_comments", "attachments", "task_completions"):
        kept[name] = list((await conn.execute(_SELECTS[name], {"task_id": task_id})).rows)
    await conn.execute(FORGET, {"task_id": task_id})  # a task deleted, made again, deleted
    await conn.execute(
        _KEEP,
        {
            "task_id": task_id,
            "user_id": task["user_id"],
            "list_id": task["list_id"],
            "deleted_by": deleted_by,
            "deleted_at": utcnow(),
            "kept": {
                name: [{k: _plain(v) for k, v in row.items()} for row in rows]
                for name, rows in kept.items()
            },
        },
    )


async def keep_each(conn: Connection, task_ids: Iterable[uuid.UUID], deleted_by: uuid.UUID) -> None:
    """Keep each of the tasks about to be deleted (top-level ones: each takes its subtasks)."""
    for task_id in task_ids:
        await keep(conn, task_id, deleted_by)
