"""Discovery: OPTIONS (the methods a resource answers) and PROPFIND (the principal, the
calendar home, each calendar, a saved filter's calendar and their objects, with the properties
asked for), each answer streamed."""

import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any

from lxml import etree
from starlette.responses import Response

from todo_api.config import Settings
from todo_api.dav import filters, reports, resources, store
from todo_api.dav.call import Call, cursors, multistatus_response, objects, one_answer
from todo_api.dav.errors import DavError, not_found
from todo_api.dav.resources import GETCTAG, SYNC_TOKEN, Path, answer, requested
from todo_api.dav.store import Collection
from todo_api.dav.xml import DAV, Answer, Name
from todo_api.db import Connection, Row
from todo_api.files import in_calendar
from todo_api.kit import changes
from todo_api.kit.deps import held
from todo_api.tasks.listing import CursorCodec

DAV_HEADER = "1, 3, calendar-access"


def options_response(allow: str) -> Response:
    return Response(status_code=200, headers={"DAV": DAV_HEADER, "Allow": allow})


async def options(call: Call, path: Path) -> Response:
    return options_response(await allowed_methods(call, path))


async def allowed_methods(call: Call, path: Path) -> str:
    """The methods `path` answers (any but 405): MKCALENDAR only where a calendar may be
    made."""
    free = False
    if path.kind == "collection":
        async with call.connection() as conn:
            free = not await store.segment_taken(
                conn, await call.collections(conn), path.segment or ""
            )
    return resources.allowed(path.kind, mkcalendar=free)


async def propfind(call: Call, path: Path) -> Response:
    depth = call.request.headers.get("depth", "0").strip().lower()
    if depth not in ("0", "1"):
        raise DavError(403, "Depth infinity is not supported", Name(DAV, "propfind-finite-depth"))
    root = await call.xml()
    if root is not None and Name.of(root.tag) != Name(DAV, "propfind"):
        raise DavError(400, "A PROPFIND body is a DAV:propfind")
    wanted, names_only = requested(root)
    user_id = call.user_id
    base = in_calendar.base_url(call.request)
    async with call.connection() as conn:
        email = await store.email_of(conn, user_id)
    tokens = held(call.request.app, changes.SyncTokens)
    app_name = held(call.request.app, Settings).app_name

    def single(props: dict[Name, resources.Value], href: str) -> etree._Element:
        return answer(href, props, wanted, names_only=names_only)

    if path.kind in ("root", "principals", "calendars", "principal"):
        href = call.request.url.path
        if not href.endswith("/"):
            href += "/"
        node = single(resources.root_props(user_id, email, path.kind, app_name), href)
        return multistatus_response(one_answer(node))
    if path.kind in ("home", "filters"):
        async with call.connection() as conn:
            colls = await call.collections(conn) if path.kind == "home" else []
            cals = await filters.calendars(conn, user_id)
        props = resources.root_props(user_id, email, "home", app_name)
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

        return multistatus_response(home())
    if path.kind in ("filter", "filter_object"):
        return await _propfind_filter(call, path, depth, single, email, wanted, names_only)
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
        if path.kind == "object":
            row = await store.object_named(conn, user_id, coll, path.name or "")
            if row is None:
                raise not_found()
            node = single(
                resources.object_props(row, lambda: resources.object_body(row, base)),
                resources.object_path(user_id, coll, store.object_name(row)),
            )
            return multistatus_response(one_answer(node))
        order = _order_of(await call.collections(conn), coll)

    async def listing() -> AsyncIterator[Answer]:
        yield await _collection_answer(call, tokens, coll, order, single, email)
        if depth == "1":
            # Only an object's text needs the whole task: ETags and names need a few columns.
            whole = wanted is not None and resources.CALENDAR_DATA in wanted
            async for row in objects(call.caller, coll, whole=whole):
                body = functools.partial(resources.object_body, row, base)
                href = resources.object_path(user_id, coll, store.object_name(row))
                if names_only:
                    yield single(resources.object_props(row, body), href)
                else:
                    yield resources.object_answer(href, row, body, wanted)

    return multistatus_response(listing())


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
    tag, position = await call.caller.streamed(_tag_and_position, coll)
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


# The reads of a streamed answer's parts (`Caller.streamed`: on the primary again when the
# replica fails once the answer has started).
async def _tag_and_position(
    conn: Connection, user_id: uuid.UUID, coll: Collection
) -> tuple[str, changes.Position]:
    return await store.ctag(conn, user_id, coll), await changes.current_position(conn)


async def _filter_tag_and_token(
    conn: Connection,
    user_id: uuid.UUID,
    cal: filters.FilterCalendar,
    codec: CursorCodec,
    with_token: bool,
) -> tuple[str, str]:
    rows = await filters.members(conn, user_id, cal, codec)
    token = await filters.sync_token(conn, cal, rows) if with_token else ""
    return filters.digest(rows), token


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
        tag, token = await call.caller.streamed(
            _filter_tag_and_token, cal, cursors(call), SYNC_TOKEN in wanted
        )
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
    base = in_calendar.base_url(call.request)
    async with call.connection() as conn:
        cal = await filters.calendar(conn, user_id, path.segment)
        if path.kind == "filter_object":
            row = await filters.member(conn, user_id, cal, cursors(call), path.name or "")
            if row is None:
                raise not_found()
            node = single(
                resources.object_props(row, lambda: resources.object_body(row, base)),
                _filter_object_path(call, cal, row),
            )
            return multistatus_response(one_answer(node))
        lists = [c for c in await call.collections(conn) if c.list_id is not None]
        others = await filters.calendars(conn, user_id)
        rows = await filters.members(conn, user_id, cal, cursors(call)) if depth == "1" else []
    after = max((c.position for c in lists), default=0) + 1
    order = after + [c.filter_id for c in others].index(cal.filter_id)

    async def listing() -> AsyncIterator[Answer]:
        yield await _filter_answer(call, cal, order, single, email, wanted)
        for row in rows:
            body = functools.partial(resources.object_body, row, base)
            href = _filter_object_path(call, cal, row)
            if names_only:
                yield single(resources.object_props(row, body), href)
            else:
                yield resources.object_answer(href, row, body, wanted)

    return multistatus_response(listing())


def _filter_object_path(call: Call, cal: filters.FilterCalendar, row: Row) -> str:
    coll = cal.collection(call.user_id)
    return resources.object_path(call.user_id, coll, filters.object_name(row.id))
