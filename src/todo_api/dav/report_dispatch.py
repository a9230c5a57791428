"""REPORT: which report a body asks for, on which resource. principal-property-search and
free-busy-query are answered here; sync-collection, calendar-multiget and calendar-query, on a
calendar or a saved filter's, are todo_api.dav.reports."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from lxml import etree
from starlette.responses import Response

from todo_api import ical
from todo_api.config import Settings
from todo_api.dav import filters, reports, resources, store
from todo_api.dav.call import Call, multistatus_response, one_answer
from todo_api.dav.errors import DavError
from todo_api.dav.resources import CONTENT_TYPE, DISPLAYNAME, Path, answer, requested, text_of
from todo_api.dav.xml import CALDAV, DAV, Name
from todo_api.kit import changes
from todo_api.kit.deps import held


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
        return multistatus_response(nodes, tail)
    if path.kind not in ("collection", "object"):
        raise DavError(403, "Reports are made on calendars", Name(DAV, "supported-report"))
    async with call.connection() as conn:
        coll = await call.collection(conn, path.segment)
    tokens = held(call.request.app, changes.SyncTokens)
    if kind == Name(DAV, "sync-collection"):
        nodes, tail = await reports.sync_collection(call.caller, tokens, coll, root)
        return multistatus_response(nodes, tail)
    if kind == Name(CALDAV, "calendar-multiget"):
        return multistatus_response(reports.multiget(call.caller, coll, root))
    if kind == Name(CALDAV, "calendar-query"):
        return multistatus_response(reports.calendar_query(call.caller, coll, root))
    if kind == Name(CALDAV, "free-busy-query"):
        return _free_busy(root)
    raise DavError(403, "This report is not supported", Name(DAV, "supported-report"))


async def _principal_search(call: Call, root: etree._Element) -> Response:
    """`principal-property-search` (RFC 3744 §9.4): the caller's own principal when it
    matches (a caseless substring of its display name or address); no one else's, as other
    users' paths are 404."""
    async with call.connection() as conn:
        email = await store.email_of(conn, call.user_id)
    props = resources.root_props(
        call.user_id, email, "principal", held(call.request.app, Settings).app_name
    )
    found = {
        DISPLAYNAME: text_of(props[DISPLAYNAME]()),
        Name(CALDAV, "calendar-user-address-set"): f"mailto:{email}" if email else "",
    }
    for search in root.iterchildren(Name(DAV, "property-search").tag):
        match = text_of(search.find(Name(DAV, "match").tag)).casefold()
        names = [Name.of(p.tag) for p in search.iterfind(f"{Name(DAV, 'prop').tag}/*")]
        if not any(match in found.get(name, "").casefold() for name in names if name in found):
            return multistatus_response(_nothing())
    wanted, _ = requested(root)
    # The `caldav` library puts the properties it wants beside an empty DAV:prop.
    wanted = (wanted or []) + [
        name
        for name in (Name.of(node.tag) for node in root if isinstance(node.tag, str))
        if name in props
    ]
    return multistatus_response(
        one_answer(answer(resources.principal_path(call.user_id), props, wanted))
    )


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
