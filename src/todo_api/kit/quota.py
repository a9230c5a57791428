"""An owner's files against their quota (ATTACHMENT_QUOTA_BYTES): the bytes of the files of the
tasks whose `user_id` is theirs, however the files came to them: uploaded to one of their tasks
(todo_api.files), on a task moved into one of their lists (todo_api.tasks; todo_api.dav for a
calendar app's move by a DELETE, then a PUT), on the tasks of a list handed over to them
(todo_api.lists). Past it, 413 QUOTA_EXCEEDED with the usage.

Each caller checks inside the transaction that changes the owner, after the change, holding the
new owner's turn (todo_api.kit.ordering.serialise; SQLite's write transactions take turns
anyway): two changes at once cannot both pass the quota, and raising undoes the change."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, or_, select

from todo_api.db import Connection, Query
from todo_api.kit.errors import ApiError, ErrorCode
from todo_api.tables.attachments import attachments
from todo_api.tables.tasks import tasks

_BYTES = func.coalesce(func.sum(attachments.c.size), 0)
_WITH_TASKS = attachments.join(tasks, tasks.c.id == attachments.c.task_id)
_OWNED = tasks.c.user_id == bindparam("owner_id")
_USAGE = Query(select(_BYTES).select_from(_WITH_TASKS).where(_OWNED))
# A task's files and its subtasks' (which move with it).
_OF_TASK = Query(
    select(_BYTES)
    .select_from(_WITH_TASKS)
    .where(or_(tasks.c.id == bindparam("task_id"), tasks.c.parent_id == bindparam("task_id")))
)
_IN_LIST = tasks.c.list_id == bindparam("list_id")
_OF_LIST = Query(select(_BYTES).select_from(_WITH_TASKS).where(_IN_LIST))


class QuotaExceeded(ApiError):
    """The files of the task's owner would pass their quota; `details` says how far."""

    status, code = 413, ErrorCode.QUOTA_EXCEEDED

    def __init__(self, *, used: int, quota: int, size: int | None) -> None:
        super().__init__(
            f"The owner's files would take more than their quota of {quota} bytes ({used} used)"
        )
        self.body_details: dict[str, Any] = {
            "used_bytes": used,
            "quota_bytes": quota,
            "file_bytes": size,
        }


async def usage(conn: Connection, owner_id: uuid.UUID) -> int:
    """The bytes of the files of the owner's tasks (what their quota counts)."""
    return int((await conn.execute(_USAGE, {"owner_id": owner_id})).scalar() or 0)


async def _arrived(conn: Connection, owner_id: uuid.UUID, arrived: int) -> None:
    """Files of `arrived` bytes have just become the owner's: QuotaExceeded if they are past
    their quota now (`details` as an upload's: their usage before, the quota, those bytes)."""
    if not arrived:
        return
    quota = conn.settings.attachment_quota_bytes
    used = await usage(conn, owner_id)
    if used > quota:
        raise QuotaExceeded(used=used - arrived, quota=quota, size=arrived)


async def task_moved(conn: Connection, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    """After a task's move (`before` and `after` it, its subtasks moved along): QuotaExceeded if
    it went to another owner whose quota its files (and its subtasks') do not fit in."""
    if before["user_id"] != after["user_id"]:
        await files_came(conn, after)


async def files_came(conn: Connection, task: Mapping[str, Any]) -> None:
    """After the task's files (and its subtasks') came to its owner (a move; a calendar app's
    move by a DELETE, then a PUT where it goes, puts them back): QuotaExceeded if they do not
    fit in the owner's quota."""
    arrived = (await conn.execute(_OF_TASK, {"task_id": task["id"]})).scalar()
    await _arrived(conn, task["user_id"], int(arrived or 0))


async def list_handed_over(conn: Connection, list_id: uuid.UUID, heir: uuid.UUID) -> None:
    """After a list's tasks became the heir's: QuotaExceeded if their files do not fit in the
    heir's quota."""
    arrived = (await conn.execute(_OF_LIST, {"list_id": list_id})).scalar()
    await _arrived(conn, heir, int(arrived or 0))
