"""Comments on tasks: written by whoever may change the task, read by whoever sees it (the
access rule of todo_api.kit.access, written into each statement), changed by their author,
deleted by their author or the owner of the task's list. Each write is an event for the
task's watchers (todo_api.kit.events) in its own transaction; the change feed and the task's
`comment_count` follow from the database's triggers (migration 0033), whichever way the
comment came.

Mentions: `@` and an email, or `@[Name](user id)`, naming someone who can see the task."""

import re
import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Uuid, bindparam, delete, func, or_, select, tuple_, update

from todo_api.collaboration.errors import CommentForbidden, CommentNotFound
from todo_api.collaboration.schemas import CommentCreate, CommentUpdate, comment_body
from todo_api.db import Connection, IntegrityViolation, Query, Row, UTCDateTime, insert_bound
from todo_api.kit import access, activity, events
from todo_api.kit.errors import InvalidField, TaskNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.paging import page_by_created
from todo_api.tables.attachments import attachments
from todo_api.tables.comments import CommentRow, task_comments
from todo_api.tables.users import users

DEFAULT_PAGE = 50
MAX_PAGE = 100

_C = task_comments.c
_ONE = Query(
    select(task_comments).where(
        _C.id == bindparam("comment_id"), _C.task_id == bindparam("task_id")
    )
)
_OLDEST_FIRST = (_C.task_id, _C.created_at, _C.id)
_PAGE = Query(
    select(task_comments)
    .where(_C.task_id == bindparam("task_id"))
    .order_by(*_OLDEST_FIRST)
    .limit(bindparam("limit"))
)
_PAGE_AFTER = Query(
    select(task_comments)
    .where(
        _C.task_id == bindparam("task_id"),
        tuple_(_C.created_at, _C.id)
        > tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id", type_=Uuid)),
    )
    .order_by(*_OLDEST_FIRST)
    .limit(bindparam("limit"))
)
_INSERT = Query(
    insert_bound(
        task_comments,
        *("id", "task_id", "user_id", "list_id", "author_id", "body", "mentions"),
        *("version", "created_at", "updated_at"),
    )
)
_DELETE = Query(delete(task_comments).where(_C.id == bindparam("comment_id")))

# `@` then an email (not inside a word), or `@[Name](id)`.
_MENTION_EMAIL = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_MENTION_ID = re.compile(r"@\[[^\]\n]{0,200}\]\(([0-9A-Fa-f-]{32,36})\)")
# At most this many names are looked up in one body; the rest are plain text.
MAX_MENTIONS = 50


def mentioned_names(body: str) -> tuple[list[str], list[uuid.UUID]]:
    """The emails (lower case) and ids a body names after `@`, in order, at most MAX_MENTIONS."""
    emails = list(dict.fromkeys(m.lower().rstrip(".") for m in _MENTION_EMAIL.findall(body)))
    ids: list[uuid.UUID] = []
    for text in _MENTION_ID.findall(body):
        try:
            ids.append(uuid.UUID(text))
        except ValueError:
            continue
    return emails[:MAX_MENTIONS], list(dict.fromkeys(ids))[:MAX_MENTIONS]


async def mentions_in(
    conn: Connection, body: str, owner_id: uuid.UUID, list_id: uuid.UUID | None
) -> list[str]:
    """The ids of the people the body mentions who can see a task of `owner_id` in `list_id`
    (None: the inbox), in the order the body names them."""
    if "@" not in body:
        return []
    emails, ids = mentioned_names(body)
    if not emails and not ids:
        return []
    sees = access.sees_task_of(users.c.id, owner_id, list_id)
    named = []
    if emails:
        named.append(func.lower(users.c.email).in_(emails))
    if ids:
        named.append(users.c.id.in_(ids))
    statement = select(users.c.id, users.c.email).where(or_(*named), sees)
    found = (await conn.execute(statement)).rows
    by_email = {(row.email or "").lower(): row.id for row in found}
    by_id = {row.id for row in found}
    order: list[uuid.UUID] = [by_email[e] for e in emails if e in by_email]
    order += [i for i in ids if i in by_id]
    return [str(i) for i in dict.fromkeys(order)]


async def create_comment(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    data: CommentCreate,
    *,
    created_at: datetime | None = None,
) -> CommentRow:
    """A new comment of the caller's on the task. Raises TaskNotFound, CommentForbidden (the
    caller may only read the task)."""
    now = utcnow()
    async with conn.transaction():
        task = await access.task_for(conn, user_id, task_id)
        if not task.writable:
            raise CommentForbidden
        row: dict[str, Any] = {
            "id": new_id(),
            "task_id": task_id,
            "user_id": task.user_id,
            "list_id": task.list_id,
            "author_id": user_id,
            "body": data.body,
            "mentions": await mentions_in(conn, data.body, task.user_id, task.list_id),
            "version": 1,
            "created_at": created_at or now,
            "updated_at": created_at or now,
        }
        watchers = await events.watchers_of_task(conn, task_id)
        try:
            async with conn.savepoint():
                await conn.execute(_INSERT, row)
        except IntegrityViolation:  # the task went meanwhile
            raise TaskNotFound from None
        await _attach(conn, task_id, row["id"], data.attachment_ids)
        await activity.record_on_task(
            conn,
            "comment.created",
            actor_id=user_id,
            task=task,
            changes={"comment_id": [None, row["id"]]},
        )
        await events.record(
            conn,
            EventType.comment_created,
            actor_id=user_id,
            data=lambda: comment_body(row),
            watchers=watchers,
        )
    return cast(CommentRow, row)


async def _attach(
    conn: Connection, task_id: uuid.UUID, comment_id: uuid.UUID, ids: list[uuid.UUID]
) -> None:
    """Give the comment the files `ids`; raises InvalidField naming `attachment_ids` when one
    is not a file of the task, or is on another comment already."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return
    # Files of the task not yet on a comment.
    statement = (
        update(attachments)
        .where(
            attachments.c.id.in_(wanted),
            attachments.c.task_id == task_id,
            attachments.c.comment_id.is_(None),
        )
        .values(comment_id=comment_id)
    )
    done = await conn.execute(statement)
    if done.rowcount != len(wanted):
        raise InvalidField(
            "attachment_ids",
            "names a file that was not uploaded for this task, or is on another comment",
        )


async def list_comments(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> tuple[list[Row], str | None]:
    """A page of the task's comments, oldest first, and the next page's cursor. Raises
    TaskNotFound, InvalidField naming `cursor`."""
    await access.task_for(conn, user_id, task_id)
    params = {"task_id": task_id}
    return await page_by_created(conn, _PAGE, _PAGE_AFTER, params, limit=limit, cursor=cursor)


async def _comment(conn: Connection, task_id: uuid.UUID, comment_id: uuid.UUID) -> Row:
    row = (await conn.execute(_ONE, {"task_id": task_id, "comment_id": comment_id})).first()
    if row is None:
        raise CommentNotFound
    return row


async def update_comment(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    comment_id: uuid.UUID,
    data: CommentUpdate,
) -> CommentRow:
    """The comment with its new body, by its author while they may change the task. Raises
    TaskNotFound, CommentNotFound, CommentForbidden."""
    async with conn.transaction():
        task = await access.task_for(conn, user_id, task_id)
        comment = await _comment(conn, task_id, comment_id)
        if comment.author_id != user_id or not task.writable:
            raise CommentForbidden
        mentions = await mentions_in(conn, data.body, task.user_id, task.list_id)
        statement = (
            update(task_comments)
            .where(_C.id == comment_id, _C.task_id == task_id)
            .values(body=data.body, mentions=mentions, updated_at=utcnow(), version=_C.version + 1)
            .returning(*task_comments.c)
        )
        watchers = await events.watchers_of_task(conn, task_id)
        row = (await conn.execute(statement)).first()
        if row is None:
            raise CommentNotFound
        changed = dict(row)
        await events.record(
            conn,
            EventType.comment_updated,
            actor_id=user_id,
            data=lambda: comment_body(changed),
            watchers=watchers,
        )
    return cast(CommentRow, changed)


async def delete_comment(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID, comment_id: uuid.UUID
) -> None:
    """Delete the comment: its author, or the owner of the task's list (the inbox's user).
    Raises TaskNotFound, CommentNotFound, CommentForbidden."""
    async with conn.transaction():
        task = await access.task_for(conn, user_id, task_id)
        comment = await _comment(conn, task_id, comment_id)
        if comment.author_id != user_id and task.user_id != user_id:
            raise CommentForbidden
        watchers = await events.watchers_of_task(conn, task_id)
        result = await conn.execute(_DELETE, {"comment_id": comment_id})
        if result.rowcount == 0:
            raise CommentNotFound
        await activity.record_on_task(
            conn,
            "comment.deleted",
            actor_id=user_id,
            task=task,
            changes={"comment_id": [comment_id, None]},
        )
        await events.record(
            conn,
            EventType.comment_deleted,
            actor_id=user_id,
            data={"id": comment_id, "task_id": task_id},
            watchers=watchers,
        )


async def comments_of_tasks(
    conn: Connection, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Row]]:
    """The comments of each of the tasks (the caller has checked who sees them), oldest
    first: an export's."""
    found: dict[uuid.UUID, list[Row]] = {}
    if task_ids:
        statement = select(task_comments).where(_C.task_id.in_(task_ids)).order_by(*_OLDEST_FIRST)
        for row in (await conn.execute(statement)).rows:
            found.setdefault(row.task_id, []).append(row)
    return found


async def add_imported(
    conn: Connection,
    user_id: uuid.UUID,
    made: list[tuple[dict[str, Any], list[tuple[str, datetime]]]],
) -> list[uuid.UUID]:
    """Comments of an import on the user's tasks just made (each task's row, and its
    comments' bodies and times), the importer their author, in the import's transaction;
    each a `comment.created`, as the import's tasks are each a `task.created`; returns their
    ids, in the order given (the import puts the files that were on them back on them)."""
    rows = []
    for task, comments in made:
        for body, at in comments:
            mentions = await mentions_in(conn, body, task["user_id"], task["list_id"])
            rows.append(
                {
                    "id": new_id(),
                    "task_id": task["id"],
                    "user_id": task["user_id"],
                    "list_id": task["list_id"],
                    "author_id": user_id,
                    "body": body,
                    "mentions": mentions,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
            )
    if rows:
        await conn.execute_many(_INSERT, rows)
    for row in rows:
        await activity.record(
            conn,
            "comment.created",
            actor_id=user_id,
            list_id=row["list_id"],
            owner_id=row["user_id"],
            task_id=row["task_id"],
            changes={"comment_id": [None, row["id"]]},
        )
    if rows:  # the tasks are the importer's own: their watchers are the importer's
        await events.record_each(
            conn,
            EventType.comment_created,
            actor_id=user_id,
            data=[comment_body(row) for row in rows],
            watchers=await events.watchers_of_user(conn, user_id),
        )
    return [row["id"] for row in rows]
