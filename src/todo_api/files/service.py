"""Attachments' rows: who may add, read and delete them (the access rule of todo_api.kit.access,
written into each statement), the limits (files a task, bytes an owner), and the events and
activity items each change records in its own transaction.

Whoever may change a task adds files to it; whoever sees the task reads them; the uploader or
the owner of the task's list (the inbox's user for the inbox) deletes one. Anyone else finds
neither task nor file (404). The bytes are not handled here: the router puts them in the
storage before `add_attachment` and removes them after `delete_attachment`."""

import uuid
from typing import Any, cast

from sqlalchemy import bindparam, delete, func, select, update

from todo_api.db import Connection, IntegrityViolation, Query, Row, insert_bound
from todo_api.files.errors import (
    AttachmentForbidden,
    AttachmentNotFound,
    QuotaExceeded,
    TaskReadOnly,
    TooManyAttachments,
)
from todo_api.files.schemas import attachment_body
from todo_api.kit import access, activity, events, ordering
from todo_api.kit import quota as quota_of
from todo_api.kit.errors import TaskNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import utcnow
from todo_api.tables.attachments import ATTACHMENTS_MAX_COUNT, AttachmentRow, attachments
from todo_api.tables.tasks import tasks

_A = attachments.c
_COUNT = Query(select(func.count()).where(_A.task_id == bindparam("task_id")))
_OF_TASK = Query(
    select(attachments).where(_A.task_id == bindparam("task_id")).order_by(_A.created_at, _A.id)
)
# The file, if the caller sees its task, with the task's owner and list.
_ONE = Query(
    select(attachments, tasks.c.user_id.label("owner_id"), tasks.c.list_id)
    .select_from(attachments.join(tasks, tasks.c.id == _A.task_id))
    .where(_A.id == bindparam("attachment_id"), access.can_see_task())
)
_INSERT = Query(
    insert_bound(
        attachments,
        *("id", "task_id", "comment_id", "name", "size", "content_type", "sha256"),
        *("created_by", "storage_key", "created_at"),
    )
)
_DELETE = Query(delete(attachments).where(_A.id == bindparam("attachment_id")))
# A file added or deleted: the task's calendar object lists its files (CalDAV's ATTACH), so the
# task is a new version (a new ETag, stamped for sync), which CalDAV clients fetch again.
_NEW_VERSION = Query(
    update(tasks).where(tasks.c.id == bindparam("task_id")).values(version=tasks.c.version + 1)
)


async def _room_for(conn: Connection, task: Row, *, size: int, quota: int) -> None:
    """Raises TooManyAttachments or QuotaExceeded when a file of `size` bytes does not fit."""
    if (await conn.execute(_COUNT, {"task_id": task.id})).scalar() >= ATTACHMENTS_MAX_COUNT:
        raise TooManyAttachments
    used = await quota_of.usage(conn, task.user_id)
    if used + size > quota:
        raise QuotaExceeded(used=used, quota=quota, size=size or None)


async def check_upload(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID, *, size: int | None, quota: int
) -> None:
    """Before the bytes are read: whether the caller may add a file (of `size` bytes, when the
    request declares it) to the task. Raises TaskNotFound, TaskReadOnly, TooManyAttachments,
    QuotaExceeded."""
    task = await access.task_for(conn, user_id, task_id)
    if not task.writable:
        raise TaskReadOnly
    await _room_for(conn, task, size=size or 0, quota=quota)


async def add_attachment(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    row: dict[str, Any],
    quota: int,
    comment_id: uuid.UUID | None = None,
) -> AttachmentRow:
    """The file's row (its bytes already stored), checked again as `check_upload` does, now
    that its size is known. `row`: every column but `task_id`, `created_by`, `created_at`;
    `comment_id`: a comment of the task it is on (an import's, made in its transaction)."""
    async with conn.transaction():
        # The owner's turn (and the caller's): two uploads at once cannot both pass the count
        # and the quota.
        await ordering.serialise(conn, user_id, tasks=[task_id])
        task = await access.task_for(conn, user_id, task_id)
        if not task.writable:
            raise TaskReadOnly
        await _room_for(conn, task, size=row["size"], quota=quota)
        full = {
            **row,
            "task_id": task_id,
            "comment_id": comment_id,
            "created_by": user_id,
            "created_at": utcnow(),
        }
        watchers = await events.watchers_of_task(conn, task_id)
        try:
            async with conn.savepoint():
                await conn.execute(_INSERT, full)
        except IntegrityViolation:  # the task went meanwhile
            raise TaskNotFound from None
        await conn.execute(_NEW_VERSION, {"task_id": task_id})
        await _record(conn, "attachment.created", user_id, task, full)
        await events.record(
            conn,
            EventType.attachment_created,
            actor_id=user_id,
            data=lambda: attachment_body(full),
            watchers=watchers,
        )
    return cast(AttachmentRow, full)


async def list_attachments(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[AttachmentRow]:
    """The task's files, oldest first. Raises TaskNotFound."""
    await access.task_for(conn, user_id, task_id)
    return cast(list[AttachmentRow], (await conn.execute(_OF_TASK, {"task_id": task_id})).rows)


async def _one(conn: Connection, user_id: uuid.UUID, attachment_id: uuid.UUID) -> Row:
    params = {"attachment_id": attachment_id, "user_id": user_id}
    row = (await conn.execute(_ONE, params)).first()
    if row is None:
        raise AttachmentNotFound
    return row


def may_delete(user_id: uuid.UUID, *, uploader: Any, task_owner: Any) -> bool:
    """Whether the caller may delete a file: its uploader, or its task's owner."""
    return user_id in (uploader, task_owner)


async def get_attachment(
    conn: Connection, user_id: uuid.UUID, attachment_id: uuid.UUID, *, deleting: bool = False
) -> AttachmentRow:
    """The file, if the caller sees its task. Raises AttachmentNotFound, or with `deleting`
    (for a page that offers to delete it) AttachmentForbidden as the deletion would."""
    row = await _one(conn, user_id, attachment_id)
    if deleting and not may_delete(user_id, uploader=row.created_by, task_owner=row.owner_id):
        raise AttachmentForbidden
    return cast(AttachmentRow, dict(row))


async def delete_attachment(
    conn: Connection, user_id: uuid.UUID, attachment_id: uuid.UUID
) -> AttachmentRow:
    """Delete the file's row, by its uploader or the task's owner; returns it (its bytes are
    the caller's to remove, once this has committed). Raises AttachmentNotFound,
    AttachmentForbidden."""
    async with conn.transaction():
        row = await _one(conn, user_id, attachment_id)
        if not may_delete(user_id, uploader=row.created_by, task_owner=row.owner_id):
            raise AttachmentForbidden
        watchers = await events.watchers_of_task(conn, row.task_id)
        await conn.execute(_DELETE, {"attachment_id": attachment_id})
        await conn.execute(_NEW_VERSION, {"task_id": row.task_id})
        task = await access.task_for(conn, user_id, row.task_id)
        found = dict(row)
        await _record(conn, "attachment.deleted", user_id, task, found, deleted=True)
        await events.record(
            conn,
            EventType.attachment_deleted,
            actor_id=user_id,
            data={"id": attachment_id, "task_id": row.task_id},
            watchers=watchers,
        )
    return cast(AttachmentRow, found)


async def _record(
    conn: Connection,
    action: str,
    actor_id: uuid.UUID,
    task: Row,
    row: dict[str, Any],
    *,
    deleted: bool = False,
) -> None:
    """The file's activity item, in the task's list (or its owner's inbox)."""
    changes = {"attachment_id": [row["id"], None], "name": [row["name"], None]}
    if not deleted:
        changes = {key: [None, value] for key, (value, _) in changes.items()}
    await activity.record_on_task(conn, action, actor_id=actor_id, task=task, changes=changes)
