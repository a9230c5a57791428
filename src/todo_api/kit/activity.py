"""Activity items that a service writes itself, in the change's own transaction: comments
and memberships (a task's and a list's own changes are written by the database's triggers,
migration 0036, which see the values a write replaces). See todo_api.collaboration.activity
for reading them."""

import uuid
from typing import Any

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


def _plain(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The changes as JSON values (ids as text)."""
    return {
        name: [str(v) if isinstance(v, uuid.UUID) else v for v in pair]
        for name, pair in changes.items()
    }
