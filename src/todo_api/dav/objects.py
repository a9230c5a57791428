"""Calendar objects: GET and HEAD (a task as a VTODO, with its ETag), PUT (a task made,
changed or moved from another calendar, with what the client gave kept beside it) and DELETE
(of an object; a calendar's is todo_api.dav.calendars).

Every change goes through the tasks service with the caller as actor."""

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from starlette.responses import Response

from todo_api import ical
from todo_api.dav import filters, kept, resources, store
from todo_api.dav.calendars import delete_calendar
from todo_api.dav.call import Call, cursors, invalid
from todo_api.dav.errors import VALID_DATA, DavError, forbidden, not_found
from todo_api.dav.resources import CONTENT_TYPE, MAX_RESOURCE_BYTES, Path
from todo_api.dav.store import Collection
from todo_api.dav.xml import CALDAV, Name
from todo_api.db import Connection, Query, Row
from todo_api.files import in_calendar
from todo_api.kit import activity, ordering, quota
from todo_api.kit.conditional import etag, if_match
from todo_api.kit.errors import ApiError
from todo_api.tables import keys
from todo_api.tables.dav import NAME_MAX_LENGTH, UID_MAX_LENGTH
from todo_api.tables.sections import sections
from todo_api.tables.tasks import TaskRow
from todo_api.tasks import schedule
from todo_api.tasks import service as tasks_service
from todo_api.tasks.schemas import TaskCreate, TaskUpdate


async def get(call: Call, path: Path) -> Response:
    if path.kind not in ("object", "filter_object"):
        raise DavError(405, "Only calendar objects can be read with GET")
    async with call.connection() as conn:
        if path.kind == "filter_object":
            cal = await filters.calendar(conn, call.user_id, path.segment)
            row = await filters.member(conn, call.user_id, cal, cursors(call), path.name or "")
        else:
            coll = await call.collection(conn, path.segment)
            row = await store.object_named(conn, call.user_id, coll, path.name or "")
    if row is None:
        raise not_found()
    tag = etag(row.version)
    inm = call.request.headers.get("if-none-match")
    if inm is not None and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")]):
        return Response(status_code=304, headers={"ETag": tag})
    body = resources.object_body(row, in_calendar.base_url(call.request))
    if call.request.method == "HEAD":
        body = b""
    return Response(body, media_type=CONTENT_TYPE, headers={"ETag": tag})


_FILTER_READ_ONLY = "A saved filter's calendar is read-only: change its tasks in their lists"


async def put(call: Call, path: Path) -> Response:
    if path.kind == "filter_object":
        raise forbidden(_FILTER_READ_ONLY)
    if path.kind != "object" or not path.name:
        raise DavError(405, "PUT makes calendar objects only")
    name = path.name
    if len(name) > NAME_MAX_LENGTH:
        raise DavError(403, f"An object's name is at most {NAME_MAX_LENGTH} characters")
    body = await call.body(MAX_RESOURCE_BYTES)  # no pooled connection held while it comes
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
        if not coll.writable:
            raise forbidden()
        zone = await schedule.user_zone(conn, call.user_id)
        try:
            read = ical.read(body, user_zone=zone)
        except ical.CalendarDataError as exc:
            raise DavError(403, str(exc), Name(CALDAV, exc.condition)) from None
        if len(read.uid) > UID_MAX_LENGTH:
            raise DavError(403, f"A UID is at most {UID_MAX_LENGTH} characters", VALID_DATA)
    fields = dict(read.fields)
    # The task and what the client gave for it (name, UID, what the mapping does not cover)
    # in one transaction: never a task without its object, nor an object's data without the
    # task as it sent it. The collection's writes take turns there, so what is checked first
    # (the name, the UID) stays so until it is written: two PUTs of one new name, or of one
    # UID, make one object.
    async with call.connection() as conn, conn.transaction():
        await ordering.serialise(conn, call.user_id, lists=[coll.list_id])
        existing, parent_id = await _checked(call, conn, coll, name, read)
        moving = None if existing is not None else await _moving(call, conn, coll, read.uid)
        if read.section is not None and parent_id is None:
            # The section it names, of the list it is in (a subtask is in its parent's); one
            # the list does not have leaves the task's as it is.
            section_id = await _section_named(conn, coll.list_id, read.section)
            if section_id is not None:
                fields["section_id"] = str(section_id)
        if moving is not None:  # the same task, where it went (its old href: 204 to DELETE)
            source, existing = moving
            await store.mark_moved(conn, call.user_id, source, existing)
            to = {"list_id": coll.list_id} if parent_id is None else {}
            task = await _update(call, conn, existing, {**fields, **to}, parent_id, read)
            created = True
        elif existing is None:
            task, created = await _create(call, conn, coll, fields, parent_id, read), True
        else:
            task, created = await _update(call, conn, existing, fields, parent_id, read), False
        # Completing a repeating task moves it to its next occurrence: the object is then not
        # what the client sent (its next DUE, open again), and the client reads it back.
        # So is an object whose ATTACH values name other files than the task has (files come
        # and go through the API only; the object's are the task's).
        moved_on = read.fields.get("is_completed") and not task["is_completed"]
        as_sent = not moved_on and read.attached == await in_calendar.file_ids(conn, task["id"])
        await store.keep(
            conn,
            task_id=task["id"],
            name=name,
            uid=read.uid,
            extra=read.extra,
            sent=body.decode() if as_sent else None,
            sent_version=task["version"] if as_sent else None,
        )
    answer_headers = {"ETag": etag(task["version"])} if as_sent else {}
    return Response(status_code=201 if created else 204, headers=answer_headers)


async def _checked(
    call: Call, conn: Connection, coll: Collection, name: str, read: ical.ReadTodo
) -> tuple[Row | None, uuid.UUID | None]:
    """The object a PUT replaces (None: it makes one) and the task its parent UID names, once
    the preconditions and the calendar's one object per UID hold."""
    existing = await store.object_named(conn, call.user_id, coll, name)
    headers = call.request.headers
    if existing is not None and headers.get("if-none-match", "").strip() == "*":
        raise DavError(412, "This object exists already")
    if existing is None and headers.get("if-match") is not None:
        raise DavError(412, "No such object to change")
    other = await store.object_with_uid(conn, call.user_id, coll, read.uid)
    if other is not None and (existing is None or other.id != existing.id):
        raise DavError(
            403,
            f"Another object of this calendar has the UID {read.uid}",
            Name(CALDAV, "no-uid-conflict"),
        )
    if read.parent_uid is None:
        return existing, None
    parent = await store.object_with_uid(conn, call.user_id, coll, read.parent_uid)
    return existing, parent.id if parent is not None else None


async def _moving(
    call: Call, conn: Connection, coll: Collection, uid: str
) -> tuple[Collection, Row] | None:
    """The task a PUT of a new object moves into `coll`, and the collection it leaves: the
    caller's task with this UID in another collection of theirs that they may write (a client
    moving it PUTs it into the new collection, then DELETEs the old object: Thunderbird)."""
    writable = [c for c in await call.collections(conn) if c.writable]
    others = [c for c in writable if c.segment != coll.segment]
    found = await store.objects_with_uid(conn, call.user_id, others, uid)
    return found[0] if found else None


async def _create(
    call: Call,
    conn: Connection,
    coll: Collection,
    fields: dict[str, Any],
    parent_id: uuid.UUID | None,
    read: ical.ReadTodo,
) -> TaskRow:
    moved = await store.recently_deleted(conn, call.user_id, read.uid)
    data_fields = {k: v for k, v in fields.items() if k != "timezone" or v is not None}
    if parent_id is None:
        data_fields["list_id"] = coll.list_id
    else:
        data_fields["parent_id"] = parent_id
    task_id, made = None, None
    if moved is not None and moved.deleted_task:  # a move: the same task, where it went
        task_id = uuid.UUID(moved.deleted_task["id"])
        creator, born = moved.deleted_task.get("created_by"), moved.deleted_task.get("created_at")
        if born:
            made = (uuid.UUID(creator) if creator else None, datetime.fromisoformat(born))
        assignee = moved.deleted_task.get("assignee_id")
        if assignee is not None:
            data_fields["assignee_id"] = assignee
    try:
        data = TaskCreate.model_validate(data_fields)
    except ValidationError as exc:
        raise invalid(exc) from None

    def create(data: TaskCreate) -> Awaitable[TaskRow]:
        return call.caller.with_user_row(
            conn,
            lambda: tasks_service.create_task(
                conn,
                call.user_id,
                data=data,
                task_id=task_id,
                made=made,
                completed_at=read.completed_at,
            ),
        )

    try:
        task: TaskRow = await create(data)
    except ApiError as exc:
        if exc.status == 400 and "assignee_id" in str(exc.details or ""):
            # Where it went, its assignee cannot see it: unassigned, as a move through /api.
            task = await create(TaskCreate.model_validate({**data_fields, "assignee_id": None}))
        elif exc.status == 400:
            raise DavError(403, _sentence(exc), VALID_DATA) from None
        else:
            raise
    if task_id is not None and moved is not None:  # one `task.moved`, as a move through /api
        await activity.record_recreated_as_moved(conn, task, moved.deleted_task)
        await kept.put_back_comments(conn, task, moved.deleted_task.get("comments") or [])
        await kept.put_back_files(conn, task, moved.deleted_task.get("files") or [])
        await quota.files_came(conn, task)  # where it went, its owner's quota (raising undoes it)
    return task


def _sentence(exc: ApiError) -> str:
    details = "; ".join(f"{d.field}: {d.message}" for d in exc.details or [])
    return f"{exc.message}: {details}" if details else exc.message


async def _update(
    call: Call,
    conn: Connection,
    existing: Row,
    fields: dict[str, Any],
    parent_id: uuid.UUID | None,
    read: ical.ReadTodo,
) -> TaskRow:
    data_fields = {k: v for k, v in fields.items() if k != "timezone" or v is not None}
    if parent_id != existing.parent_id:
        data_fields["parent_id"] = parent_id
    try:
        data = TaskUpdate.model_validate(data_fields)
    except ValidationError as exc:
        raise invalid(exc) from None
    versions = if_match(call.request.headers.get("if-match"))
    try:
        task: TaskRow = await tasks_service.update_task(
            conn,
            call.user_id,
            task_id=existing.id,
            data=data,
            if_match=versions,
            completed_at=read.completed_at,
        )
    except ApiError as exc:
        if exc.status == 400:
            raise DavError(403, _sentence(exc), VALID_DATA) from None
        if exc.status == 412:
            raise DavError(412, "The object changed since that ETag") from None
        raise
    return task


async def delete(call: Call, path: Path) -> Response:
    if path.kind in ("filter", "filter_object"):
        raise forbidden(_FILTER_READ_ONLY)
    if path.kind == "collection":
        return await delete_calendar(call, path)
    if path.kind != "object":
        raise DavError(405, "This cannot be deleted")
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
        row = await store.object_named(conn, call.user_id, coll, path.name or "")
        if row is None and await store.moved_away(conn, call.user_id, coll, path.name or ""):
            return Response(status_code=204)  # the client's move, whose PUT came first
        if row is None:
            raise not_found()
        if not coll.writable:
            raise forbidden()
        comments = await kept.comments_of(conn, row.id) if row.comment_count else []
        files = await kept.files_of(conn, row.id) if row.files else []
    versions = if_match(call.request.headers.get("if-match"))
    # The deletion and its note in one transaction: the files' bytes are named all along (by
    # their rows, then by the note) for the storage's sweep.
    try:
        async with call.connection() as conn, conn.transaction():
            await tasks_service.delete_task(conn, call.user_id, task_id=row.id, if_match=versions)
            await store.mark_deleted(conn, call.user_id, row, _snapshot(row, comments, files))
    except ApiError as exc:
        if exc.status == 412:
            raise DavError(412, "The object changed since that ETag") from None
        raise
    return Response(status_code=204)


def _snapshot(
    row: Row, comments: list[dict[str, Any]], files: list[dict[str, Any]]
) -> dict[str, Any]:
    """What a move brings back of a deleted task: its id, assignee, creator, birth, comments
    and files (its activity stays where it is, by its id; its files' bytes in the storage)."""
    return {
        "id": str(row.id),
        "assignee_id": str(row.assignee_id) if row.assignee_id else None,
        "created_by": str(row.created_by) if row.created_by else None,
        "created_at": row.created_at.isoformat(),
        "comments": comments,
        "files": files,
    }


_SECTION_NAMED = Query(
    select(sections.c.id).where(
        sections.c.list_id == bindparam("list_id"), sections.c.name_key == bindparam("name_key")
    )
)


async def _section_named(
    conn: Connection, list_id: uuid.UUID | None, name: str
) -> uuid.UUID | None:
    """The section of the list with that name, ignoring case (None: none, or the inbox)."""
    if list_id is None:
        return None
    params = {"list_id": list_id, "name_key": keys.name_key(name)}
    found: uuid.UUID | None = (await conn.execute(_SECTION_NAMED, params)).scalar()
    return found
