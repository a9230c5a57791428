"""A task change's events for webhooks, as the API shows the task (todo_api.kit.events):
which kind a change is, and the events of the subtasks a change to their parent carried."""

import functools
import uuid
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import bindparam, select

from todo_api.db import Connection, Query
from todo_api.kit import events
from todo_api.kit.events import EventType, Watcher
from todo_api.tables.tasks import TaskRow, tasks
from todo_api.tasks.rows import ROWS
from todo_api.tasks.schemas import task_body

# A task's subtasks: deleting it deletes them (foreign key), each a `task.deleted` of its own.
SUBTASK_IDS = Query(select(tasks.c.id).where(tasks.c.parent_id == bindparam("task_id")))
# Its open ones: completing it completes them (a trigger, and the recurring ones here), each a
# `task.completed` of its own.
OPEN_SUBTASK_IDS = Query(
    select(tasks.c.id).where(
        tasks.c.parent_id == bindparam("task_id"), tasks.c.is_completed.is_(False)
    )
)


async def announce(
    conn: Connection,
    kind: EventType,
    actor_id: uuid.UUID,
    task: TaskRow,
    watchers: list[Watcher],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """The task's event for its watchers, as the API shows the task (with `extra` fields: a
    repeating task's `occurrence`)."""
    await events.record(
        conn,
        kind,
        actor_id=actor_id,
        data=lambda: {**task_body(task), **(extra or {})},
        watchers=watchers,
    )


async def announce_each(
    conn: Connection,
    kind: EventType,
    actor_id: uuid.UUID,
    tasks_changed: list[TaskRow],
    watchers: list[Watcher],
) -> None:
    """`announce` for many tasks the same watchers hear of (an import's), in one batch."""
    await events.record_each(
        conn,
        kind,
        actor_id=actor_id,
        data=[functools.partial(task_body, task) for task in tasks_changed],
        watchers=watchers,
    )


async def open_subtasks(conn: Connection, task_id: uuid.UUID) -> list[uuid.UUID]:
    """The task's open subtasks before a write that may complete it (for their events)."""
    return [row["id"] for row in await conn.execute(OPEN_SUBTASK_IDS, {"task_id": task_id})]


async def announce_subtasks(
    conn: Connection,
    actor_id: uuid.UUID,
    was_open: list[uuid.UUID],
    moved: list[TaskRow],
    watchers: list[Watcher],
) -> None:
    """The events of the subtasks a write to their parent changed: `task.completed` for those
    it completed (open before, completed now), `task.updated` for the others it moved. Their
    watchers are the parent's: a subtask is where its parent is."""
    completed: list[TaskRow] = []
    if was_open:
        completed_now = tasks.c.id.in_(was_open) & tasks.c.is_completed.is_(True)
        rows = await conn.execute(select(*ROWS.returning).where(completed_now))
        completed = cast(list[TaskRow], rows.rows)
    done = {task["id"] for task in completed}
    for task in completed:
        await announce(conn, EventType.task_completed, actor_id, task, watchers)
    for task in moved:
        if task["id"] not in done:
            await announce(conn, EventType.task_updated, actor_id, task, watchers)


def change_kind(
    was_completed: bool | None, task: TaskRow, occurrence_done: bool = False
) -> EventType:
    """The most specific event of a change: completing (a task, or an occurrence of a
    repeating one), reopening, or any other."""
    if occurrence_done or (was_completed is False and task["is_completed"]):
        return EventType.task_completed
    if was_completed is True and not task["is_completed"]:
        return EventType.task_reopened
    return EventType.task_updated


async def was_completed(conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID) -> bool | None:
    """Whether the task is completed before a write (None: the caller cannot see it)."""
    before = await ROWS.find(conn, user_id, task_id)
    return None if before is None else bool(before["is_completed"])
