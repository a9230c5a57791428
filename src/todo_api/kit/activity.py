"""Activity items that a service writes itself, in the change's own transaction: comments
and memberships, a task placed elsewhere in the manual order, a calendar app's move (a task's
and a list's own changes are written by the database's triggers, migration 0034, which see
the values a write replaces). See todo_api.collaboration.activity for reading them."""

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.activity import activity

_INSERT = Query(
    insert_bound(
        activity,
        *("id", "at", "list_id", "owner_id", "task_id", "actor_id", "action", "changes"),
    )
)


async def record(
    conn: Connection,
    action: str,
    *,
    actor_id: uuid.UUID | None,
    list_id: uuid.UUID | None,
    owner_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    changes: dict[str, list[Any]] | None = None,
) -> None:
    """One item: in the list `list_id`, or (None) in the inbox of `owner_id`."""
    await conn.execute(
        _INSERT,
        {
            "id": new_id(),
            "at": utcnow(),
            "list_id": list_id,
            "owner_id": owner_id if list_id is None else None,
            "task_id": task_id,
            "actor_id": actor_id,
            "action": action,
            "changes": None if changes is None else _plain(changes),
        },
    )


async def record_on_task(
    conn: Connection,
    action: str,
    *,
    actor_id: uuid.UUID,
    task: Any,
    changes: dict[str, list[Any]],
) -> None:
    """One item about `task` (a row with its `id`, `user_id` and `list_id`): in the task's
    list, or its owner's inbox."""
    await record(
        conn,
        action,
        actor_id=actor_id,
        list_id=task.list_id,
        owner_id=task.user_id,
        task_id=task.id,
        changes=changes,
    )


_A = activity.c
_LAST_TWO = Query(
    select(_A.seq, _A.action, _A.list_id, _A.owner_id, _A.actor_id, _A.changes)
    .where(_A.task_id == bindparam("task_id"))
    .order_by(_A.task_id.desc(), _A.seq.desc())
    .limit(2)
)


async def record_recreated_as_moved(
    conn: Connection, task: Mapping[str, Any], was: Mapping[str, Any]
) -> None:
    """A task deleted and made again with its id (a calendar app's move: its DELETE, then its
    PUT into another calendar) is one `task.moved` item, as a move through the API is: its
    `task.deleted` and `task.created` items become that one (made again where it was: a
    `task.updated` of what changed, or no item). `was`: what the DELETE kept of it
    (`assignee_id`)."""
    rows = (await conn.execute(_LAST_TWO, {"task_id": task["id"]})).rows
    if [row.action for row in rows] != ["task.created", "task.deleted"]:
        return
    created, deleted = rows
    gone = deleted.changes or {}
    if isinstance(gone, str):  # as SQLite's trigger wrote it
        gone = json.loads(gone)
    old_title = (gone.get("title") or [None])[0]
    old_assignee = was.get("assignee_id")
    new_assignee = None if task["assignee_id"] is None else str(task["assignee_id"])
    changes: dict[str, list[Any]] = {}
    if deleted.list_id != created.list_id:
        changes["list_id"] = [deleted.list_id, created.list_id]
    if old_title != task["title"]:
        changes["title"] = [old_title, task["title"]]
    if old_assignee != new_assignee:
        changes["assignee_id"] = [old_assignee, new_assignee]
    await conn.execute(delete(activity).where(_A.seq.in_([created.seq, deleted.seq])))
    if not changes:
        return
    await record(
        conn,
        "task.moved" if "list_id" in changes else "task.updated",
        actor_id=created.actor_id,
        list_id=created.list_id,
        owner_id=created.owner_id,
        task_id=task["id"],
        changes=changes,
    )


def _plain(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The changes as JSON values (ids as text)."""
    return {
        name: [str(v) if isinstance(v, uuid.UUID) else v for v in pair]
        for name, pair in changes.items()
    }
