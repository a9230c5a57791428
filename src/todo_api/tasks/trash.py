"""Deleted tasks kept for `restore` (`deleted_tasks`, see todo_api.tables.deleted_tasks).

Deleting a task keeps, in the deletion's own transaction, the rows that go with it: the task,
its subtasks, their comments and files (the bytes stay in the storage) and the occurrences a
repeating task completed. `restore` inserts the
same rows again, within DELETED_TASK_GRACE_SECONDS: the same ids, position, creator and times,
its activity (kept by its id) with a `task.restored` item, its CalDAV object (kept by its id,
the tombstone that named it deleted removed), its reminders scheduled again from the task. The
database's triggers stamp the rows again for the change feed, which then shows the task again;
webhooks hear a `task.created` for each task, as for any task that appears.

The rows are kept as JSON values, read back by their columns' types, so a column added later to
one of these tables is kept and restored with the rest."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Table,
    TypeDecorator,
    and_,
    bindparam,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    update,
)

from todo_api.db import Connection, Query
from todo_api.kit import access, events, kept_tasks, ordering, quota, reminders
from todo_api.kit.errors import Conflict, TaskNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import utcnow
from todo_api.tables.activity import activity
from todo_api.tables.attachments import attachment_tombstones, attachments
from todo_api.tables.comments import comment_tombstones, task_comments
from todo_api.tables.completions import task_completions
from todo_api.tables.dav import dav_objects
from todo_api.tables.deleted_tasks import deleted_tasks
from todo_api.tables.lists import lists
from todo_api.tables.sections import sections
from todo_api.tables.tasks import TaskRow, tasks, tombstones
from todo_api.tables.users import users
from todo_api.tasks import announcements
from todo_api.tasks.rows import ROWS

# Put back without these: the triggers stamp the rows again for the change feed, and the
# comments' triggers count `comment_count` again.
_STAMPED = frozenset({"change_txid", "change_seq", "arrived_txid", "arrived_seq"})
_RECOUNTED = frozenset({"comment_count"})

_ID: Any = bindparam("task_id")
_FORGET = kept_tasks.FORGET
# The kept task the caller may bring back within the grace, taken (the restore's own
# transaction puts it back if anything fails): its owner, or an editor of its list.
_TAKE = Query(
    delete(deleted_tasks)
    .where(
        deleted_tasks.c.task_id == _ID,
        deleted_tasks.c.deleted_at >= bindparam("since"),
        or_(
            deleted_tasks.c.user_id == access.caller(),
            and_(
                deleted_tasks.c.list_id.is_not(None),
                access.member_of(deleted_tasks.c.list_id, *access.WRITERS),
            ),
        ),
    )
    .returning(deleted_tasks.c.kept, deleted_tasks.c.deleted_at)
)
_LIST_EXISTS = Query(select(lists.c.id).where(lists.c.id == bindparam("list_id")))
_TASK_EXISTS = Query(select(tasks.c.id).where(tasks.c.id == bindparam("parent_id")))
_SECTIONS = Query(select(sections.c.id).where(sections.c.id == _ID))
_USERS = Query(select(users.c.id).where(users.c.id == _ID))
# The tombstones the deletion left: the feed has the rows again instead.
_NO_TOMBSTONES = (
    Query(delete(tombstones).where(tombstones.c.task_id == _ID)),
    Query(delete(comment_tombstones).where(comment_tombstones.c.comment_id == _ID)),
    Query(delete(attachment_tombstones).where(attachment_tombstones.c.attachment_id == _ID)),
)
# A calendar app's DELETE noted the object as deleted: it is its task's again.
_DAV_BACK = Query(
    update(dav_objects)
    .where(dav_objects.c.task_id == _ID)
    .values(deleted_at=None, deleted_by=None, deleted_task=null())
)
# The `task.created` item the insert's trigger wrote becomes the restore's.
_RESTORED_ITEM = Query(
    update(activity)
    .where(
        activity.c.seq
        == select(func.max(activity.c.seq))
        .where(activity.c.task_id == _ID, activity.c.action == "task.created")
        .scalar_subquery()
    )
    .values(action="task.restored", actor_id=bindparam("actor_id", type_=activity.c.actor_id.type))
)


def _typed(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A kept row's values as its columns take them (ids and times from their text)."""
    typed = {}
    for name, value in row.items():
        if name not in table.c:
            continue  # a column dropped since it was kept
        if isinstance(value, str):
            column_type = table.c[name].type
            if isinstance(column_type, TypeDecorator):  # (UTCDateTime: a datetime)
                column_type = column_type.impl_instance
            kind = column_type.python_type
            if kind is uuid.UUID:
                value = uuid.UUID(value)
            elif kind is datetime:
                value = datetime.fromisoformat(value)
            elif kind is date:
                value = date.fromisoformat(value)
        typed[name] = value
    return typed


keep = kept_tasks.keep  # (deleting a task keeps it; a section deleted, its tasks)


async def restore(
    conn: Connection, user_id: uuid.UUID, *, task_id: uuid.UUID, grace: timedelta
) -> TaskRow:
    """Bring back the task deleted within `grace`, as it was; TaskNotFound if there is none
    the caller may restore (a task that is not deleted: the task, as a retried restore gets
    it). Conflict when it was a subtask of a task that is deleted itself."""
    async with conn.transaction():
        live = await ROWS.find(conn, user_id, task_id)
        if live is not None:  # not deleted, or made again with its id (a calendar app's move)
            await conn.execute(_FORGET, {"task_id": task_id})
            return live
        params = {"task_id": task_id, "user_id": user_id, "since": utcnow() - grace}
        taken = (await conn.execute(_TAKE, params)).first()
        if taken is None:  # (restored meanwhile by another request: as a retry)
            return await ROWS.get(conn, user_id, task_id)
        kept: dict[str, list[dict[str, Any]]] = taken["kept"]
        # The task first, then its subtasks (which refer to it).
        rows = sorted(
            (_typed(tasks, row) for row in kept["tasks"]), key=lambda r: r["id"] != task_id
        )
        await _check_place(conn, next(row for row in rows if row["id"] == task_id))
        gone_sections = await _missing(conn, _SECTIONS, (r["section_id"] for r in rows))
        now = utcnow()
        for row in rows:  # a change like any other: a new version, moved `updated_at`
            row.update(version=row["version"] + 1, changed_by=user_id, updated_at=now)
            if row["section_id"] in gone_sections:
                row["section_id"] = None
        await _put_back(conn, tasks, rows)
        comments = await _by_live_users(conn, task_comments, kept["task_comments"], "author_id")
        await _put_back(conn, task_comments, comments)
        files = await _by_live_users(conn, attachments, kept["attachments"], "created_by")
        back = {c["id"] for c in comments}
        for file in files:  # on a comment that did not come back: on the task
            if file["comment_id"] not in back:
                file["comment_id"] = None
        await _put_back(conn, attachments, files)
        # The files come back to the task's owner as a move brings them: counted against their
        # quota, in their turn (raising undoes the restore; the task stays in the trash).
        top = next(row for row in rows if row["id"] == task_id)
        await ordering.serialise(conn, user_id, lists=[top["list_id"]])
        await quota.files_came(conn, top)
        # A repeating task's completed occurrences (none kept before they were recorded).
        done = [_typed(task_completions, row) for row in kept.get("task_completions", [])]
        await _put_back(conn, task_completions, done)
        for statement, back_rows in zip(_NO_TOMBSTONES, (rows, comments, files), strict=True):
            for back_row in back_rows:
                await conn.execute(statement, {"task_id": back_row["id"]})
        for row in rows:
            await conn.execute(_DAV_BACK, {"task_id": row["id"]})
        restored = []
        for task_row in rows:
            await conn.execute(_RESTORED_ITEM, {"task_id": task_row["id"], "actor_id": user_id})
            task = await ROWS.get(conn, user_id, task_row["id"])
            restored.append(task)
            if task["reminders"]:  # (one whose time came while it was deleted fires now)
                await reminders.schedule(conn, task, missed_since=taken["deleted_at"])
        watchers = await events.watchers_of_task(conn, task_id)
        await announcements.announce_each(conn, EventType.task_created, user_id, restored, watchers)
        return restored[[t["id"] for t in restored].index(task_id)]


async def _by_live_users(
    conn: Connection, table: Table, kept: list[dict[str, Any]], author: str
) -> list[dict[str, Any]]:
    """The kept rows of `table` whose author is still a user (an account that went meanwhile
    took theirs with it)."""
    rows = [_typed(table, row) for row in kept]
    gone = await _missing(conn, _USERS, (row[author] for row in rows))
    return [row for row in rows if row[author] not in gone]


async def _check_place(conn: Connection, top: Mapping[str, Any]) -> None:
    """Its list is still there (else it went with it: not found), and its parent task too."""
    if (
        top["list_id"] is not None
        and not (await conn.execute(_LIST_EXISTS, {"list_id": top["list_id"]})).first()
    ):
        raise TaskNotFound
    if (
        top["parent_id"] is not None
        and not (await conn.execute(_TASK_EXISTS, {"parent_id": top["parent_id"]})).first()
    ):
        raise Conflict("The task this one was a subtask of is deleted: restore it first")


async def _missing(
    conn: Connection, statement: Query, ids: Iterable[uuid.UUID | None]
) -> set[uuid.UUID]:
    """Those of `ids` that `statement` (rows by id) does not find any more."""
    wanted = {i for i in ids if i is not None}
    return {i for i in wanted if not (await conn.execute(statement, {"task_id": i})).first()}


async def _put_back(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        values = {k: v for k, v in row.items() if k not in _STAMPED | _RECOUNTED}
        await conn.execute(insert(table).values(values))
