"""The /dav endpoint: one ASGI app answering every WebDAV and CalDAV method itself (FastAPI's
routing knows no PROPFIND), errors in WebDAV's shape (a status, and a `DAV:error` body where a
precondition applies).

Every change goes through the tasks and lists services with the caller as actor, so it
reaches the change feed, webhooks and live updates as /api's changes do, and an If-Match here
races /api's (a task's ETag is its version, on both).
"""

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from todo_api.auth.dependencies import Caller
from todo_api.auth.tokens import Identity
from todo_api.dav import filters, reports, resources, store
from todo_api.dav.credentials import NoCredentials, identify
from todo_api.dav.errors import (
    VALID_DATA,
    XML_TYPE,
    DavError,
    forbidden,
    not_found,
)
from todo_api.dav.resources import (
    CALENDAR_COLOR,
    CALENDAR_ORDER,
    CONTENT_TYPE,
    DISPLAYNAME,
    GETCTAG,
    MAX_RESOURCE_BYTES,
    SUPPORTED_COMPONENTS,
    SYNC_TOKEN,
    Path,
    answer,
    requested,
    text_of,
)
from todo_api.dav.store import Collection
from todo_api.dav.xml import (
    CALDAV,
    DAV,
    Answer,
    BadXml,
    Name,
    multistatus,
    parse,
    propstat_response,
)
from todo_api.dav.xml import element as xml_element
from todo_api.db import Connection, RefusedText, Row
from todo_api.kit import changes, ical, ordering
from todo_api.kit.conditional import etag, if_match
from todo_api.kit.deps import held
from todo_api.kit.errors import ApiError
from todo_api.lists import service as lists_service
from todo_api.lists.errors import ListNameTaken
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.tables.dav import NAME_MAX_LENGTH, UID_MAX_LENGTH
from todo_api.tables.tasks import TaskRow
from todo_api.tasks import schedule
from todo_api.tasks import service as tasks_service
from todo_api.tasks.listing import CursorCodec
from todo_api.tasks.schemas import TaskCreate, TaskUpdate

DAV_HEADER = "1, 3, calendar-access"


_CHALLENGE = {"WWW-Authenticate": 'Basic realm="todo-api", charset="UTF-8"'}


def _from_api_error(exc: ApiError) -> Response:
    if exc.status == 401:
        return DavError(401, exc.message, headers=_CHALLENGE).response()
    if exc.status == 403:
        return forbidden(exc.message).response()
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"}
    return DavError(exc.status, exc.message, headers=headers).response()


class WellKnown:
    """`/.well-known/caldav` (RFC 6764): the root of the calendars, whatever the method."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await RedirectResponse(resources.ROOT, status_code=301)(scope, receive, send)


class DavApp:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except DavError as exc:
            response = exc.response()
        except NoCredentials:
            response = DavError(401, "Sign in with a token", headers=_CHALLENGE).response()
        except BadXml as exc:
            response = DavError(400, str(exc)).response()
        except ApiError as exc:
            response = _from_api_error(exc)
        except RefusedText as exc:
            response = DavError(400, str(exc)).response()
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        method = request.method
        if method == "OPTIONS" and not request.headers.get("authorization", "").strip():
            # Unsigned: what the path's kind of resource answers, whoever's it is.
            shape = resources.parse_path(request.url.path, None)
            if shape is None:
                raise not_found()
            return _options(resources.allowed(shape.kind))
        identity = await identify(request)
        path = resources.parse_path(request.url.path, identity.user_id)
        if path is None:
            raise not_found()
        call = Call(request, identity)
        handler = _HANDLERS.get(method)
        try:
            if handler is None:
                raise DavError(405, f"{method} is not allowed here")
            return await handler(call, path)
        except DavError as exc:
            if exc.status == 405:  # RFC 9110 §15.5.6: with what the resource does answer
                exc.headers["Allow"] = await _allow(call, path)
            raise


class Call:
    """One request: who asks, and a connection for each step."""

    def __init__(self, request: Request, identity: Identity) -> None:
        self.request = request
        self.identity = identity
        self.caller = Caller(request, identity)

    @property
    def user_id(self) -> uuid.UUID:
        return self.identity.user_id

    def connection(self) -> Any:
        return self.caller.connection()

    async def body(self, limit: int | None = None) -> bytes:
        data = bytearray()
        async for chunk in self.request.stream():
            data += chunk
            if limit is not None and len(data) > limit:
                raise DavError(
                    403,
                    f"A calendar object is at most {limit} bytes",
                    Name(CALDAV, "max-resource-size"),
                )
        return bytes(data)

    async def xml(self) -> etree._Element | None:
        return parse(await self.body())

    async def collection(self, conn: Connection, segment: str | None) -> Collection:
        coll = await store.collection(conn, self.user_id, segment or "")
        if coll is None:
            raise not_found()
        return coll


def _options(allow: str) -> Response:
    return Response(status_code=200, headers={"DAV": DAV_HEADER, "Allow": allow})


async def options(call: Call, path: Path) -> Response:
    return _options(await _allow(call, path))


async def _allow(call: Call, path: Path) -> str:
    """The methods `path` answers (any but 405): MKCALENDAR only where a calendar may be
    made."""
    free = False
    if path.kind == "collection":
        async with call.connection() as conn:
            free = not await store.segment_taken(conn, call.user_id, path.segment or "")
    return resources.allowed(path.kind, mkcalendar=free)


# --- PROPFIND -------------------------------------------------------------------------------


async def propfind(call: Call, path: Path) -> Response:
    depth = call.request.headers.get("depth", "0").strip().lower()
    if depth not in ("0", "1"):
        raise DavError(403, "Depth infinity is not supported", Name(DAV, "propfind-finite-depth"))
    root = await call.xml()
    if root is not None and Name.of(root.tag) != Name(DAV, "propfind"):
        raise DavError(400, "A PROPFIND body is a DAV:propfind")
    wanted, names_only = requested(root)
    user_id = call.user_id
    async with call.connection() as conn:
        email = await store.email_of(conn, user_id)
    tokens = held(call.request.app, changes.SyncTokens)

    def single(props: dict[Name, resources.Value], href: str) -> etree._Element:
        return answer(href, props, wanted, names_only=names_only)

    if path.kind in ("root", "principals", "calendars", "principal"):
        href = call.request.url.path
        if not href.endswith("/"):
            href += "/"
        node = single(resources.root_props(user_id, email, path.kind), href)
        return _multistatus(_one(node))
    if path.kind in ("home", "filters"):
        async with call.connection() as conn:
            colls = await store.collections(conn, user_id) if path.kind == "home" else []
            cals = await filters.calendars(conn, user_id)
        props = resources.root_props(user_id, email, "home")
        after = max((c.position for c in colls if c.list_id is not None), default=0) + 1

        async def home() -> AsyncIterator[etree._Element]:
            here = resources.home_path(user_id)
            yield single(props, here if path.kind == "home" else f"{here}{store.FILTERS}/")
            if depth == "1":
                for coll in colls:
                    order = _order_of(colls, coll)
                    yield await _collection_answer(call, tokens, coll, order, single, email)
                # The filters' calendars too: clients look for calendars one level down.
                for index, cal in enumerate(cals):
                    yield await _filter_answer(call, cal, after + index, single, email, wanted)

        return _multistatus(home())
    if path.kind in ("filter", "filter_object"):
        return await _propfind_filter(call, path, depth, single, email, wanted, names_only)
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
        if path.kind == "object":
            row = await store.object_named(conn, user_id, coll, path.name or "")
            if row is None:
                raise not_found()
            node = single(
                resources.object_props(row, lambda: resources.object_body(row)),
                resources.object_path(user_id, coll, store.object_name(row)),
            )
            return _multistatus(_one(node))
        order = _order_of(await store.collections(conn, user_id), coll)

    async def listing() -> AsyncIterator[Answer]:
        yield await _collection_answer(call, tokens, coll, order, single, email)
        if depth == "1":
            async for row in _objects(call, coll):
                body = functools.partial(resources.object_body, row)
                href = resources.object_path(user_id, coll, store.object_name(row))
                if names_only:
                    yield single(resources.object_props(row, body), href)
                else:
                    yield resources.object_answer(href, row, body, wanted)

    return _multistatus(listing())


def _order_of(colls: list[Collection], coll: Collection) -> int:
    """`calendar-order`: the list's position in the caller's own order; the inbox before
    every list."""
    if coll.list_id is not None:
        return coll.position
    return min((c.position for c in colls if c.list_id is not None), default=1) - 1


async def _collection_answer(
    call: Call,
    tokens: changes.SyncTokens,
    coll: Collection,
    order: int,
    single: Any,
    email: str | None,
) -> etree._Element:
    """A collection's response; its ctag and sync-token read only when asked for."""
    async with call.connection() as conn:
        tag = await store.ctag(conn, call.user_id, coll)
        position = await changes.current_position(conn)
    token = reports.sync_token(tokens, call.user_id, coll, position)
    props = resources.collection_props(
        call.user_id,
        email,
        coll,
        order,
        ctag=lambda: tag,
        sync_token=lambda: token,
    )
    node: etree._Element = single(props, resources.collection_path(call.user_id, coll))
    return node


async def _filter_answer(
    call: Call,
    cal: filters.FilterCalendar,
    order: int,
    single: Any,
    email: str | None,
    wanted: list[Name] | None,
) -> etree._Element:
    """A filter's calendar's response; what it holds read only for its ctag or sync-token."""
    tag = token = ""
    if wanted is not None and (GETCTAG in wanted or SYNC_TOKEN in wanted):
        async with call.connection() as conn:
            rows = await filters.members(conn, call.user_id, cal, _cursors(call))
            tag = filters.digest(rows)
            if SYNC_TOKEN in wanted:
                token = await filters.sync_token(conn, cal, rows)
    coll = cal.collection(call.user_id)
    props = resources.collection_props(
        call.user_id, email, coll, order, ctag=lambda: tag, sync_token=lambda: token
    )
    node: etree._Element = single(props, resources.collection_path(call.user_id, coll))
    return node


async def _propfind_filter(
    call: Call,
    path: Path,
    depth: str,
    single: Any,
    email: str | None,
    wanted: list[Name] | None,
    names_only: bool,
) -> Response:
    user_id = call.user_id
    async with call.connection() as conn:
        cal = await filters.calendar(conn, user_id, path.segment)
        if path.kind == "filter_object":
            row = await filters.member(conn, user_id, cal, _cursors(call), path.name or "")
            if row is None:
                raise not_found()
            node = single(
                resources.object_props(row, lambda: resources.object_body(row)),
                _filter_object_path(call, cal, row),
            )
            return _multistatus(_one(node))
        lists = [c for c in await store.collections(conn, user_id) if c.list_id is not None]
        others = await filters.calendars(conn, user_id)
        rows = await filters.members(conn, user_id, cal, _cursors(call)) if depth == "1" else []
    after = max((c.position for c in lists), default=0) + 1
    order = after + [c.filter_id for c in others].index(cal.filter_id)

    async def listing() -> AsyncIterator[Answer]:
        yield await _filter_answer(call, cal, order, single, email, wanted)
        for row in rows:
            body = functools.partial(resources.object_body, row)
            href = _filter_object_path(call, cal, row)
            if names_only:
                yield single(resources.object_props(row, body), href)
            else:
                yield resources.object_answer(href, row, body, wanted)

    return _multistatus(listing())


def _filter_object_path(call: Call, cal: filters.FilterCalendar, row: Row) -> str:
    coll = cal.collection(call.user_id)
    return resources.object_path(call.user_id, coll, filters.object_name(row.id))


def _cursors(call: Call) -> CursorCodec:
    return held(call.request.app, CursorCodec)


async def _objects(call: Call, coll: Collection) -> AsyncIterator[Row]:
    """The collection's objects, a page (one statement) at a time."""
    after = store.FIRST_PAGE
    while True:
        async with call.connection() as conn:
            page = await store.objects_page(conn, call.user_id, coll, after)
        for row in page:
            yield row
        if len(page) < store.PAGE:
            return
        after = store.page_end(page)


async def _one(node: etree._Element) -> AsyncIterator[etree._Element]:
    yield node


def _multistatus(
    nodes: AsyncIterator[Answer], tail: list[etree._Element] | None = None
) -> Response:
    tail = tail if tail is not None else []
    return StreamingResponse(multistatus(nodes, tail), status_code=207, media_type=XML_TYPE)


# --- Objects --------------------------------------------------------------------------------


async def get(call: Call, path: Path) -> Response:
    if path.kind not in ("object", "filter_object"):
        raise DavError(405, "Only calendar objects can be read with GET")
    async with call.connection() as conn:
        if path.kind == "filter_object":
            cal = await filters.calendar(conn, call.user_id, path.segment)
            row = await filters.member(conn, call.user_id, cal, _cursors(call), path.name or "")
        else:
            coll = await call.collection(conn, path.segment)
            row = await store.object_named(conn, call.user_id, coll, path.name or "")
    if row is None:
        raise not_found()
    tag = etag(row.version)
    inm = call.request.headers.get("if-none-match")
    if inm is not None and (inm.strip() == "*" or tag in [t.strip() for t in inm.split(",")]):
        return Response(status_code=304, headers={"ETag": tag})
    body = resources.object_body(row)
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
        # Completing a recurring task makes its next occurrence: the object is then not what
        # the client sent (it lost its RRULE), and the client reads it back.
        as_sent = not (
            task["next_occurrence_id"] is not None
            and (existing is None or existing.next_occurrence_id is None)
        )
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
    writable = [c for c in await store.collections(conn, call.user_id) if c.writable]
    others = [c for c in writable if c.segment != coll.segment]
    found = await store.objects_with_uid(conn, call.user_id, others, uid)
    return found[0] if found else None


def _invalid(exc: ValidationError) -> DavError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'object'}: {error['msg']}"
        for error in exc.errors()[:5]
    )
    return DavError(403, f"The task cannot be kept: {problems}", VALID_DATA)


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
        raise _invalid(exc) from None

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
        raise _invalid(exc) from None
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
        return await _delete_collection(call, path)
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
    versions = if_match(call.request.headers.get("if-match"))
    try:
        await call.caller.run(tasks_service.delete_task, task_id=row.id, if_match=versions)
    except ApiError as exc:
        if exc.status == 412:
            raise DavError(412, "The object changed since that ETag") from None
        raise
    async with call.connection() as conn:
        await store.mark_deleted(conn, call.user_id, row, _snapshot(row))
    return Response(status_code=204)


def _snapshot(row: Row) -> dict[str, Any]:
    """What a move brings back of a deleted task: its id, assignee, creator and birth."""
    return {
        "id": str(row.id),
        "assignee_id": str(row.assignee_id) if row.assignee_id else None,
        "created_by": str(row.created_by) if row.created_by else None,
        "created_at": row.created_at.isoformat(),
    }


async def _delete_collection(call: Call, path: Path) -> Response:
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    if coll.list_id is None:
        raise forbidden("The inbox cannot be deleted")
    if not coll.owned:
        raise forbidden("Only the list's owner deletes it")
    await call.caller.run(lists_service.delete_list, coll.list_id)
    return Response(status_code=204)


# --- Collections ----------------------------------------------------------------------------


async def mkcalendar(call: Call, path: Path) -> Response:
    if path.kind != "collection" or not path.segment:
        raise DavError(405, "Calendars are made in the calendar home")
    segment = path.segment
    if len(segment) > NAME_MAX_LENGTH:
        raise DavError(403, f"A calendar's name is at most {NAME_MAX_LENGTH} characters")
    async with call.connection() as conn:
        if await store.segment_taken(conn, call.user_id, segment):
            # No two collections of a home ever share an href (RFC 4791 §5.3.1.2).
            raise DavError(
                405,
                "This path is taken: choose another name for the calendar",
                Name(DAV, "resource-must-be-null"),
            )
    root = await call.xml()
    props = _set_props(root)
    components = props.get(SUPPORTED_COMPONENTS)
    if components is not None and "VTODO" not in {c.get("name") for c in components}:
        # A calendar here holds tasks only: one for events or journals alone is refused,
        # rather than made and then refusing every object put in it (RFC 4791 §5.3.1.1).
        raise DavError(
            403,
            "Calendars here hold tasks (VTODO) only",
            Name(CALDAV, "supported-calendar-component"),
        )
    name = text_of(props.get(DISPLAYNAME)) or segment
    color = _color(text_of(props.get(CALENDAR_COLOR))) if CALENDAR_COLOR in props else None
    try:
        data = ListCreate.model_validate({"name": name, "color": color})
    except ValidationError as exc:
        raise _invalid(exc) from None
    try:
        created = await call.caller.create(lists_service.create_list, data)
    except ListNameTaken:
        raise DavError(
            403, f"You have a list named {name} already", Name(DAV, "resource-must-be-null")
        ) from None
    if segment != str(created["id"]):
        async with call.connection() as conn:
            await conn.execute(
                store.SET_COLLECTION_NAME, {"list_id": created["id"], "name": segment}
            )
    return Response(status_code=201)


def _set_props(root: etree._Element | None) -> dict[Name, etree._Element]:
    """The properties a MKCALENDAR or PROPPATCH body sets."""
    found: dict[Name, etree._Element] = {}
    if root is None:
        return found
    for node in root.iter(Name(DAV, "set").tag):
        for prop in node.iter(Name(DAV, "prop").tag):
            for value in prop:
                if isinstance(value.tag, str):
                    found[Name.of(value.tag)] = value
    return found


def _color(text: str) -> str | None:
    """Apple's `#RRGGBBAA` (or `#RRGGBB`) as a list's `#rrggbb`."""
    text = text.strip()
    if not text:
        return None
    return text[:7].lower()


async def proppatch(call: Call, path: Path) -> Response:
    """All or nothing (RFC 4918 §9.2): when one property cannot be set or removed, none is,
    and the others are answered 424 Failed Dependency."""
    if path.kind != "collection":
        raise forbidden("Only a calendar's properties can be changed")
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    root = await call.xml()
    if root is None or Name.of(root.tag) != Name(DAV, "propertyupdate"):
        raise DavError(400, "A PROPPATCH body is a DAV:propertyupdate")
    props = _set_props(root)
    removed = [
        Name.of(value.tag)
        for node in root.iter(Name(DAV, "remove").tag)
        for prop in node.iter(Name(DAV, "prop").tag)
        for value in prop
        if isinstance(value.tag, str)
    ]
    owner = coll.owned and coll.list_id is not None
    change: dict[str, Any] = {}
    place: int | None = None
    refused: list[Name] = []  # 403: not the caller's to change, or not a property here
    conflicts: list[Name] = []  # 409: a value the property cannot take
    for name, value in props.items():
        if name == DISPLAYNAME and owner:
            change["name"] = text_of(value)
        elif name == CALENDAR_COLOR and owner:
            change["color"] = _color(text_of(value))
        elif name == CALENDAR_ORDER:
            place = _position(text_of(value))
            if place is None:
                conflicts.append(name)
            elif coll.list_id is None:
                place = None  # the inbox always comes first
        else:
            refused.append(name)
    for name in removed:
        if name == CALENDAR_COLOR and owner:
            change["color"] = None
        else:
            refused.append(name)
    every = [*props, *removed]
    href = resources.collection_path(call.user_id, coll)
    if refused or conflicts:
        failed = [name for name in every if name not in refused and name not in conflicts]
        outcome = {403: refused, 409: conflicts, 424: failed}
        outcome = {status: names for status, names in outcome.items() if names}
        return _multistatus(_one(propstat_response(href, _elements(outcome))))
    try:
        update = ListUpdate.model_validate(change) if change else None
    except ValidationError as exc:
        raise _invalid(exc) from None
    if coll.list_id is not None and (update is not None or place is not None):
        try:
            async with call.connection() as conn, conn.transaction():
                if update is not None:
                    await lists_service.update_list(conn, call.user_id, coll.list_id, update)
                if place is not None:
                    await lists_service.set_list_position(conn, call.user_id, coll.list_id, place)
        except ListNameTaken:
            raise DavError(409, "You have a list with that name already") from None
    return _multistatus(_one(propstat_response(href, _elements({200: every}))))


def _elements(outcome: dict[int, list[Name]]) -> dict[int, list[etree._Element]]:
    return {status: [xml_element(name) for name in names] for status, names in outcome.items()}


def _position(text: str) -> int | None:
    """A `calendar-order` as a position (None: not an integer a position can be)."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if abs(number) < 2**62 else None


# --- REPORT ---------------------------------------------------------------------------------


async def report(call: Call, path: Path) -> Response:
    root = await call.xml()
    if root is None:
        raise DavError(400, "A REPORT needs a body")
    if path.kind in ("root", "principals", "principal") and Name.of(root.tag) == Name(
        DAV, "principal-property-search"
    ):
        return await _principal_search(call, root)
    kind = Name.of(root.tag)
    if path.kind in ("filter", "filter_object"):
        async with call.connection() as conn:
            cal = await filters.calendar(conn, call.user_id, path.segment)
        if kind == Name(CALDAV, "free-busy-query"):
            return _free_busy(root)
        nodes, tail = await reports.filter_report(call.caller, cal, root)
        return _multistatus(nodes, tail)
    if path.kind not in ("collection", "object"):
        raise DavError(403, "Reports are made on calendars", Name(DAV, "supported-report"))
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    tokens = held(call.request.app, changes.SyncTokens)
    if kind == Name(DAV, "sync-collection"):
        nodes, tail = await reports.sync_collection(call.caller, tokens, coll, root)
        return _multistatus(nodes, tail)
    if kind == Name(CALDAV, "calendar-multiget"):
        return _multistatus(reports.multiget(call.caller, coll, root))
    if kind == Name(CALDAV, "calendar-query"):
        return _multistatus(reports.calendar_query(call.caller, coll, root))
    if kind == Name(CALDAV, "free-busy-query"):
        return _free_busy(root)
    raise DavError(403, "This report is not supported", Name(DAV, "supported-report"))


async def _principal_search(call: Call, root: etree._Element) -> Response:
    """`principal-property-search` (RFC 3744 §9.4): the caller's own principal when it
    matches (a caseless substring of its display name or address); no one else's, as other
    users' paths are 404."""
    async with call.connection() as conn:
        email = await store.email_of(conn, call.user_id)
    props = resources.root_props(call.user_id, email, "principal")
    found = {
        DISPLAYNAME: text_of(props[DISPLAYNAME]()),
        Name(CALDAV, "calendar-user-address-set"): f"mailto:{email}" if email else "",
    }
    for search in root.iterchildren(Name(DAV, "property-search").tag):
        match = text_of(search.find(Name(DAV, "match").tag)).casefold()
        names = [Name.of(p.tag) for p in search.iterfind(f"{Name(DAV, 'prop').tag}/*")]
        if not any(match in found.get(name, "").casefold() for name in names if name in found):
            return _multistatus(_nothing())
    wanted, _ = requested(root)
    # The `caldav` library puts the properties it wants beside an empty DAV:prop.
    wanted = (wanted or []) + [
        name
        for name in (Name.of(node.tag) for node in root if isinstance(node.tag, str))
        if name in props
    ]
    return _multistatus(_one(answer(resources.principal_path(call.user_id), props, wanted)))


async def _nothing() -> AsyncIterator[etree._Element]:
    return
    yield


def _free_busy(root: etree._Element) -> Response:
    """`free-busy-query` (RFC 4791 §7.10): busy time comes from events alone, and a calendar
    here holds tasks, so the answer is a VFREEBUSY for the range with no busy period."""
    node = root.find(Name(CALDAV, "time-range").tag)
    edges = [node.get(edge) or "" for edge in ("start", "end")] if node is not None else []
    try:
        start, end = (
            datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) for text in edges
        )
    except ValueError:
        raise DavError(
            400, "A free-busy-query needs a time-range with a UTC start and end"
        ) from None
    return Response(ical.free_busy(start, end), media_type=CONTENT_TYPE)


_HANDLERS = {
    "OPTIONS": options,
    "PROPFIND": propfind,
    "GET": get,
    "HEAD": get,
    "PUT": put,
    "DELETE": delete,
    "MKCALENDAR": mkcalendar,
    "PROPPATCH": proppatch,
    "REPORT": report,
}
