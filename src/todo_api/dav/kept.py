"""What a task a calendar app deleted keeps in its note (`dav_objects.deleted_task`) for the
move window, and puts back when the client's move ends with a PUT of the same UID elsewhere: its
comments and its files, as they were (ids, authors, times; the files' bytes stay in the storage
under their key)."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select

from todo_api.db import Connection, Query
from todo_api.tables.attachments import attachments
from todo_api.tables.comments import task_comments
from todo_api.tables.users import users

# A deleted task's comments, kept in its note (`deleted_task`) for the move window, so that a
# client's move (a DELETE, then a PUT of the same UID elsewhere) brings them back with it, as
# they were (ids, authors, times); the housekeeping forgets them once the window is over.
_COMMENT_COLUMNS = ("id", "author_id", "body", "mentions", "version", "created_at", "updated_at")
_COMMENTS = Query(
    select(*(task_comments.c[name] for name in _COMMENT_COLUMNS))
    .where(task_comments.c.task_id == bindparam("task_id"))
    .order_by(task_comments.c.created_at, task_comments.c.id)
)
_PUT_BACK_COLUMNS = (*_COMMENT_COLUMNS, "task_id", "user_id", "list_id")
# Each comment whose author is still a user (one whose account went meanwhile took theirs).
_PUT_BACK = Query(
    insert(task_comments).from_select(
        _PUT_BACK_COLUMNS,
        select(
            *(bindparam(name, type_=task_comments.c[name].type) for name in _PUT_BACK_COLUMNS)
        ).where(exists().where(users.c.id == bindparam("author_id"))),
    )
)


async def comments_of(conn: Connection, task_id: uuid.UUID) -> list[dict[str, Any]]:
    """The task's comments as its note keeps them (JSON values)."""
    return [
        {
            "id": str(row.id),
            "author_id": str(row.author_id),
            "body": row.body,
            "mentions": list(row.mentions or []),
            "version": row.version,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        for row in (await conn.execute(_COMMENTS, {"task_id": task_id})).rows
    ]


async def put_back_comments(
    conn: Connection, task: Mapping[str, Any], kept: list[dict[str, Any]]
) -> None:
    """The comments a deleted task's note kept, on the task made again where it went."""
    await conn.execute_many(
        _PUT_BACK,
        [
            {
                **comment,
                "id": uuid.UUID(comment["id"]),
                "author_id": uuid.UUID(comment["author_id"]),
                "created_at": datetime.fromisoformat(comment["created_at"]),
                "updated_at": datetime.fromisoformat(comment["updated_at"]),
                "task_id": task["id"],
                "user_id": task["user_id"],
                "list_id": task["list_id"],
            }
            for comment in kept
        ],
    )


# A deleted task's files (their rows; the bytes stay in the storage under their key, which the
# storage's sweep leaves alone while a note names it: todo_api.files.scheduled), kept and put
# back as its comments are, after them: a file on a comment that did not come back stays on
# the task (as when a comment is deleted); one whose uploader's account went meanwhile went
# with it.
_FILE_COLUMNS = (
    *("id", "comment_id", "name", "size", "content_type", "sha256", "created_by"),
    *("storage_key", "created_at"),
)
_FILES = Query(
    select(*(attachments.c[name] for name in _FILE_COLUMNS))
    .where(attachments.c.task_id == bindparam("task_id"))
    .order_by(attachments.c.created_at, attachments.c.id)
)
_PUT_BACK_FILE = Query(
    insert(attachments).from_select(
        (*_FILE_COLUMNS, "task_id"),
        select(
            *(
                bindparam(name, type_=attachments.c[name].type)
                if name != "comment_id"
                else select(task_comments.c.id)
                .where(task_comments.c.id == bindparam("comment_id"))
                .scalar_subquery()
                for name in _FILE_COLUMNS
            ),
            bindparam("task_id", type_=attachments.c.task_id.type),
        ).where(exists().where(users.c.id == bindparam("created_by"))),
    )
)


async def files_of(conn: Connection, task_id: uuid.UUID) -> list[dict[str, Any]]:
    """The task's files as its note keeps them (JSON values, as `comments_of`)."""
    return [
        {
            **row,
            "id": str(row.id),
            "comment_id": str(row.comment_id) if row.comment_id else None,
            "created_by": str(row.created_by),
            "created_at": row.created_at.isoformat(),
        }
        for row in (await conn.execute(_FILES, {"task_id": task_id})).rows
    ]


async def put_back_files(
    conn: Connection, task: Mapping[str, Any], kept: list[dict[str, Any]]
) -> None:
    """The files a deleted task's note kept, on the task made again where it went (its
    comments put back first)."""
    await conn.execute_many(
        _PUT_BACK_FILE,
        [
            {
                **file,
                "id": uuid.UUID(file["id"]),
                "comment_id": uuid.UUID(file["comment_id"]) if file["comment_id"] else None,
                "created_by": uuid.UUID(file["created_by"]),
                "created_at": datetime.fromisoformat(file["created_at"]),
                "task_id": task["id"],
            }
            for file in kept
        ],
    )
