"""A task's files as its calendar object lists them (ATTACH): read with the task's row, in the
statement that reads the objects (`COLUMN`: CalDAV's, todo_api.dav.store, and the ics export's,
todo_api.yourdata.export), written under the service's absolute URL (`base_url`, `attached`),
and the files a client's PUT is compared with."""

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, bindparam, cast, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from starlette.requests import Request

from todo_api.config import Settings
from todo_api.db import Connection, Query, Row
from todo_api.files.schemas import content_url
from todo_api.kit.deps import held
from todo_api.kit.http import public_base
from todo_api.tables.attachments import attachments
from todo_api.tables.tasks import tasks

# A task's files (written as ATTACH), in the row: each `id type name` (a type has no space, a
# name is last), the record separator (U+001E, which no name keeps) between them. One lookup of
# the task's entries in ix_attachments_task_id_created_at_id within the statement: no
# statement per task.
_RECORD = "\x1e"

if TYPE_CHECKING:
    from todo_api.ical import Attached


class _Joined(FunctionElement[str]):
    """Texts joined by _RECORD: string_agg on PostgreSQL, group_concat on SQLite, the separator
    written in the SQL (SQLAlchemy's aggregate_strings would bind it at each execution)."""

    type = String()
    inherit_cache = True
    name = "joined"


@compiles(_Joined, "postgresql")
def _joined_postgresql(element: _Joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, chr(30))"


@compiles(_Joined, "sqlite")
def _joined_sqlite(element: _Joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, char(30))"


_A = attachments.c
COLUMN = (
    select(_Joined(cast(_A.id, String) + " " + _A.content_type + " " + _A.name))
    .where(_A.task_id == tasks.c.id)
    .scalar_subquery()
)


@dataclass(frozen=True)
class TaskFile:
    id: uuid.UUID
    content_type: str
    name: str


def files_of(row: Row) -> list[TaskFile]:
    """The task's files an object row holds (its `files`, COLUMN), oldest first (their ids
    are made in time order)."""
    if not row.files:
        return []
    parts = (entry.split(" ", 2) for entry in row.files.split(_RECORD))
    return sorted((TaskFile(uuid.UUID(i), kind, name) for i, kind, name in parts), key=_by_id)


def _by_id(file: TaskFile) -> uuid.UUID:
    return file.id


def base_url(request: Request) -> str:
    """Where the service is, for the absolute URLs of a task's files: PUBLIC_URL, else the
    request's own base."""
    return public_base(request, held(request.app, Settings).public_url)


def attached(row: Row, base: str) -> "list[Attached]":
    """The task's files (`files_of`) as its calendar object writes them, under `base`
    (`base_url`)."""
    from todo_api.ical import Attached  # icalendar, with the first calendar object written

    return [
        Attached(base + content_url(file.id), file.content_type, file.name)
        for file in files_of(row)
    ]


_FILE_IDS = Query(select(_A.id).where(_A.task_id == bindparam("task_id")))


async def file_ids(conn: Connection, task_id: uuid.UUID) -> frozenset[uuid.UUID]:
    return frozenset(row.id for row in (await conn.execute(_FILE_IDS, {"task_id": task_id})).rows)
