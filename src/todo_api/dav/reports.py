"""CalDAV's REPORTs: sync-collection (RFC 6578) on the change feed, calendar-multiget and
calendar-query (RFC 4791 §7.8, §7.9).

sync-collection reads the collection's own changes from the token's place, in the change feed's
order (todo_api.kit.changes; store.collection_changes): a task in it is a change; a task
deleted from it or moved out of it is a 404 response (a list the caller lost is no collection
of theirs). A token is a feed position, as on /api. `DAV:limit` truncates the answer
at a page of the feed, with a 507 for the collection and a token from which the rest follows.

Each answer is produced a page at a time (one or two statements a page) and streamed.
"""

import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from dateutil import rrule
from icalendar import Calendar, Component
from lxml import etree

from todo_api.auth import Caller
from todo_api.dav import filters, resources, store
from todo_api.dav.call import objects
from todo_api.dav.errors import DavError
from todo_api.dav.resources import requested
from todo_api.dav.store import Collection
from todo_api.dav.xml import CALDAV, DAV, Answer, Name, element, status_bytes
from todo_api.db import Row
from todo_api.files import in_calendar
from todo_api.kit import changes
from todo_api.kit.deps import held
from todo_api.tasks.listing import CursorCodec

SYNC_PREFIX = "urn:todo-api:sync:"
FEED_PAGE = 500
MAX_LIMIT = 10_000


class ReportError(Exception):
    def __init__(self, status: int, message: str, condition: Name | None) -> None:
        super().__init__(message)
        self.status, self.message, self.condition = status, message, condition


def sync_token(
    tokens: changes.SyncTokens,
    user_id: uuid.UUID,
    coll: Collection,
    position: changes.Position,
    as_of: float | None = None,
) -> str:
    """A collection's sync token: valid for that collection only (RFC 6578 §3.2)."""
    issued = time.time() if as_of is None else as_of
    return SYNC_PREFIX + tokens.issue(user_id, position, issued, _token_scope(coll))


def _token_scope(coll: Collection) -> str:
    return f":{coll.list_id or 'inbox'}"


def _props_of(root: etree._Element) -> list[Name] | None:
    prop = root.find(Name(DAV, "prop").tag)
    if prop is None:
        return [resources.GETETAG]
    wanted, _ = requested(element(Name(DAV, "propfind"), None, prop))
    return wanted


def _object_answer(caller: Caller, coll: Collection, row: Row, wanted: list[Name] | None) -> Answer:
    path = resources.object_path(caller.user_id, coll, store.object_name(row))
    request = caller.request  # (the files' base is made only for an object's text)
    return resources.object_answer(
        path, row, lambda: resources.object_body(row, in_calendar.base_url(request)), wanted
    )


# --- sync-collection ------------------------------------------------------------------------


async def sync_collection(
    caller: Caller, tokens: changes.SyncTokens, coll: Collection, root: etree._Element
) -> tuple[AsyncIterator[Answer], list[etree._Element]]:
    text = resources.text_of(root.find(Name(DAV, "sync-token").tag))
    since: tuple[changes.Position, float] | None = None
    if text:
        try:
            since = tokens.read(caller.user_id, text.removeprefix(SYNC_PREFIX), _token_scope(coll))
        except (changes.InvalidSyncToken, changes.ExpiredSyncToken):
            raise DavError(
                403, "This sync token is not valid here", Name(DAV, "valid-sync-token")
            ) from None
    limit = _limit(root)
    wanted = _props_of(root)
    if since is not None:
        # A read replica that has not replayed as far as the token refuses it here, before the
        # answer starts streaming, so that the primary answers instead (todo_api.kit.reads).
        async with caller.connection() as conn:
            await changes.read_bound(conn, since[0])
    tail: list[etree._Element] = []
    return _sync(caller, tokens, coll, since, limit, wanted, tail), tail


async def _sync(
    caller: Caller,
    tokens: changes.SyncTokens,
    coll: Collection,
    since: tuple[changes.Position, float] | None,
    limit: int | None,
    wanted: list[Name] | None,
    tail: list[etree._Element],
) -> AsyncIterator[Answer]:
    user_id = caller.user_id
    position, as_of = since if since is not None else (None, None)
    whole = wanted is not None and resources.CALENDAR_DATA in wanted  # else ETags and names
    while True:
        page = await caller.streamed(
            store.collection_changes, coll, position, limit or FEED_PAGE, whole=whole
        )
        for row in page.objects:
            yield _object_answer(caller, coll, row, wanted)
        for row in page.gone:
            name = row.dav_name or f"{row.id}.ics"
            yield status_bytes(resources.object_path(user_id, coll, name), 404)
        as_of = tokens.age_after(page.has_more, as_of)
        position, more = page.position, page.has_more
        del page  # let it go before the next is read
        if not more:
            break
        if limit is not None:
            yield status_bytes(resources.collection_path(user_id, coll), 507)
            break
    token = sync_token(tokens, user_id, coll, position, as_of)
    tail.append(element(Name(DAV, "sync-token"), token))


def _limit(root: etree._Element) -> int | None:
    """A sync-collection's `DAV:limit` (None: none)."""
    node = root.find(f"{Name(DAV, 'limit').tag}/{Name(DAV, 'nresults').tag}")
    if node is None:
        return None
    try:
        return max(1, min(int(resources.text_of(node)), MAX_LIMIT))
    except ValueError:
        raise DavError(400, "DAV:nresults is a number") from None


# --- calendar-multiget ----------------------------------------------------------------------


async def multiget(caller: Caller, coll: Collection, root: etree._Element) -> AsyncIterator[Answer]:
    wanted = _props_of(root)
    prefix = resources.collection_path(caller.user_id, coll)
    paths = [resources.text_of(node) for node in root.iter(Name(DAV, "href").tag)]
    for start in range(0, len(paths), store.PAGE):
        chunk = paths[start : start + store.PAGE]
        names = {}
        for path in chunk:
            local = _local(path)
            if local.startswith(prefix) and "/" not in local[len(prefix) :]:
                names[path] = unquote(local[len(prefix) :])
        found = await caller.streamed(store.objects_named, coll, [n for n in names.values() if n])
        for path in chunk:
            row = found.get(names.get(path, ""))
            if row is None:
                yield status_bytes(path, 404)
            else:
                yield _object_answer(caller, coll, row, wanted)
        del found  # let the batch go before the next is read


def _local(path: str) -> str:
    """An href as a path of this service (clients may send absolute URLs)."""
    if "://" in path:
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    return unquote(path) if "%" in path else path


# --- calendar-query -------------------------------------------------------------------------

Test = Callable[[Component], bool]


def calendar_query(caller: Caller, coll: Collection, root: etree._Element) -> AsyncIterator[Answer]:
    wanted = _props_of(root)
    return _query(
        objects(caller, coll),
        _query_test(root),
        lambda row: _object_answer(caller, coll, row, wanted),
        in_calendar.base_url(caller.request),
    )


def _query_test(root: etree._Element) -> Test | None:
    """The test of a calendar-query's filter (None: nothing can match)."""
    node = root.find(Name(CALDAV, "filter").tag)
    if node is None:
        raise DavError(403, "calendar-query needs a filter", Name(CALDAV, "valid-filter"))
    try:
        return _calendar_filter(node)
    except ReportError as exc:
        raise DavError(exc.status, exc.message, exc.condition) from None


async def _query(
    rows: AsyncIterator[Row], test: Test | None, answer: Callable[[Row], Answer], base: str
) -> AsyncIterator[Answer]:
    if test is None:
        return
    async for row in rows:
        calendar = Calendar.from_ical(resources.object_body(row, base))
        todo = next((c for c in calendar.subcomponents if c.name == "VTODO"), None)
        if todo is not None and test(todo):
            yield answer(row)


def _unsupported(what: str) -> ReportError:
    return ReportError(
        403, f"This filter is not supported: {what}", Name(CALDAV, "supported-filter")
    )


def _children(node: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in node if isinstance(c.tag, str) and Name.of(c.tag) == Name(CALDAV, local)]


def _calendar_filter(node: etree._Element) -> Test | None:
    """The test a filter makes of a VTODO; None: no VTODO can match."""
    outer = _children(node, "comp-filter")
    if len(outer) != 1 or outer[0].get("name", "").upper() != "VCALENDAR":
        raise ReportError(403, "A filter starts with VCALENDAR", Name(CALDAV, "valid-filter"))
    calendar = outer[0]
    if _children(calendar, "is-not-defined"):
        return None
    if _children(calendar, "time-range") or _children(calendar, "prop-filter"):
        raise _unsupported("a VCALENDAR's own properties")
    tests: list[Test] = []
    for comp in _children(calendar, "comp-filter"):
        name = comp.get("name", "").upper()
        if name != "VTODO":
            if _children(comp, "is-not-defined"):
                continue  # no object here has one
            return None  # only VTODOs here
        if _children(comp, "is-not-defined"):
            return None
        tests.append(_todo_filter(comp))
    return lambda todo: all(test(todo) for test in tests)


def _todo_filter(comp: etree._Element) -> Test:
    tests: list[Test] = []
    for range_node in _children(comp, "time-range"):
        tests.append(functools.partial(_todo_in_range_of, _range(range_node)))
    for prop in _children(comp, "prop-filter"):
        tests.append(_prop_filter(prop))
    for sub in _children(comp, "comp-filter"):
        if sub.get("name", "").upper() != "VALARM":
            return lambda todo: False
        if _children(sub, "is-not-defined") and len(sub) == 1:
            tests.append(lambda todo: not any(c.name == "VALARM" for c in todo.subcomponents))
        elif len(sub) == 0:
            tests.append(lambda todo: any(c.name == "VALARM" for c in todo.subcomponents))
        else:
            raise _unsupported("filters inside VALARM")
    return lambda todo: all(test(todo) for test in tests)


def _range(node: etree._Element) -> tuple[datetime, datetime]:
    def moment(name: str, default: datetime) -> datetime:
        text = node.get(name)
        if text is None:
            return default
        try:
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ReportError(
                403, f"time-range {name} is a UTC date-time", Name(CALDAV, "valid-filter")
            ) from None

    start = moment("start", datetime.min.replace(tzinfo=UTC))
    end = moment("end", datetime.max.replace(tzinfo=UTC))
    if node.get("start") is None and node.get("end") is None:
        raise ReportError(403, "time-range needs a start or an end", Name(CALDAV, "valid-filter"))
    return start, end


def _utc(value: Any) -> datetime | None:
    moment = getattr(value, "dt", value)
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if isinstance(moment, date):
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return None


def _todo_in_range_of(bounds: tuple[datetime, datetime], todo: Component) -> bool:
    return _todo_in_range(todo, *bounds)


def _todo_in_range(todo: Component, start: datetime, end: datetime) -> bool:
    """RFC 4791 §9.9 for a VTODO, over each of its occurrences."""
    dtstart, due = _utc(todo.get("DTSTART")), _utc(todo.get("DUE"))
    duration = getattr(todo.get("DURATION"), "dt", None)
    completed, created = _utc(todo.get("COMPLETED")), _utc(todo.get("CREATED"))
    anchor = dtstart or due
    for shift in _shifts(todo, anchor, end):
        s = dtstart + shift if dtstart else None
        d = due + shift if due else None
        if s is not None and isinstance(duration, timedelta):
            if start <= s + duration and (end > s or end >= s + duration):
                return True
        elif s is not None and d is not None:
            if (start < d or start <= s) and (end > s or end >= d):
                return True
        elif s is not None:
            if start <= s < end:
                return True
        elif d is not None:
            if start < d <= end:
                return True
        elif completed is not None and created is not None:
            if (start <= created or start <= completed) and (end >= created or end >= completed):
                return True
        elif completed is not None:
            if start <= completed <= end:
                return True
        elif created is not None:
            if end > created:
                return True
        else:
            return True
    return False


MAX_OCCURRENCES = 1000


def _shifts(todo: Component, anchor: datetime | None, end: datetime) -> Iterator[timedelta]:
    """How far each occurrence is from the first (a task that does not recur: one, none)."""
    yield timedelta(0)
    rule = todo.get("RRULE")
    if rule is None or anchor is None:
        return
    try:
        occurrences = rrule.rrulestr(rule.to_ical().decode(), dtstart=anchor)
    except (ValueError, TypeError):
        return
    with contextlib.suppress(ValueError, OverflowError):  # a series that passes year 9999
        for count, occurrence in enumerate(occurrences):
            if count >= MAX_OCCURRENCES or occurrence > end:
                return
            if count:
                yield occurrence - anchor


_COLLATIONS = {"i;ascii-casemap", "i;unicode-casemap", "i;octet"}


def _prop_filter(node: etree._Element) -> Test:
    name = node.get("name", "").upper()
    if not name:
        raise ReportError(403, "prop-filter needs a name", Name(CALDAV, "valid-filter"))
    if _children(node, "param-filter"):
        raise _unsupported("param-filter")
    if _children(node, "is-not-defined"):
        return lambda todo: name not in todo
    tests: list[Callable[[Any], bool]] = []
    for range_node in _children(node, "time-range"):
        tests.append(functools.partial(_value_in_range, _range(range_node)))
    for match in _children(node, "text-match"):
        collation = match.get("collation", "i;ascii-casemap")
        if collation not in _COLLATIONS:
            raise ReportError(
                403, f"Collation {collation} is not supported", Name(CALDAV, "supported-collation")
            )
        negate = match.get("negate-condition", "no") == "yes"
        needle = "".join(match.itertext())
        tests.append(
            functools.partial(_text_match, needle=needle, collation=collation, negate=negate)
        )

    def test(todo: Component) -> bool:
        values = todo.get(name)
        if values is None:
            return False
        values = values if isinstance(values, list) else [values]
        return all(any(check(value) for value in values) for check in tests)

    return test


def _value_in_range(bounds: tuple[datetime, datetime], value: Any) -> bool:
    moment = _utc(value)
    return moment is not None and bounds[0] <= moment < bounds[1]


def _texts(value: Any) -> list[str]:
    cats = getattr(value, "cats", None)
    if cats is not None:
        return [str(cat) for cat in cats]
    if hasattr(value, "to_ical") and not isinstance(value, str):
        return [value.to_ical().decode()]
    return [str(value)]


def _fold(text: str, collation: str) -> str:
    if collation == "i;unicode-casemap":
        return text.casefold()
    if collation == "i;ascii-casemap":
        return "".join(c.lower() if c.isascii() else c for c in text)
    return text


def _text_match(value: Any, *, needle: str, collation: str, negate: bool) -> bool:
    wanted = _fold(needle, collation)
    found = any(wanted in _fold(text, collation) for text in _texts(value))
    return found != negate


# --- A saved filter's calendar (todo_api.dav.filters) -----------------------------------------


async def filter_report(
    caller: Caller, cal: filters.FilterCalendar, root: etree._Element
) -> tuple[AsyncIterator[Answer], list[etree._Element]]:
    """sync-collection, calendar-multiget or calendar-query on a filter's calendar: the same
    answers as on a list's, of the tasks the filter holds."""
    kind = Name.of(root.tag)
    cursors = held(caller.request.app, CursorCodec)
    wanted = _props_of(root)
    coll = cal.collection(caller.user_id)
    request = caller.request

    def answer(row: Row) -> Answer:
        path = resources.object_path(caller.user_id, coll, filters.object_name(row.id))
        return resources.object_answer(
            path, row, lambda: resources.object_body(row, in_calendar.base_url(request)), wanted
        )

    if kind == Name(DAV, "sync-collection"):
        return await _filter_sync(caller, cal, root, cursors, answer)
    if kind == Name(CALDAV, "calendar-multiget"):
        return _filter_multiget(caller, cal, root, cursors, answer), []
    if kind == Name(CALDAV, "calendar-query"):
        rows = _filter_rows(caller, cal, cursors)
        return _query(rows, _query_test(root), answer, in_calendar.base_url(request)), []
    raise DavError(403, "This report is not supported", Name(DAV, "supported-report"))


async def _filter_rows(
    caller: Caller, cal: filters.FilterCalendar, cursors: CursorCodec
) -> AsyncIterator[Row]:
    async with caller.connection() as conn:
        rows = await filters.members(conn, caller.user_id, cal, cursors)
    for row in rows:
        yield row


async def _filter_sync(
    caller: Caller,
    cal: filters.FilterCalendar,
    root: etree._Element,
    cursors: CursorCodec,
    answer: Callable[[Row], Answer],
) -> tuple[AsyncIterator[Answer], list[etree._Element]]:
    """What entered, changed or left the filter since the token's snapshot (a first sync:
    all it holds); `DAV:limit` below that is 507 (RFC 6578 §3.6: the client syncs without)."""
    text = resources.text_of(root.find(Name(DAV, "sync-token").tag))
    limit = _limit(root)
    async with caller.connection() as conn:
        before = await filters.snapshot(conn, cal, text) if text else {}
        rows = await filters.members(conn, caller.user_id, cal, cursors)
        token = await filters.sync_token(conn, cal, rows)
    changed = [row for row in rows if before.get(str(row.id)) != row.version]
    now = {str(row.id) for row in rows}
    gone = [task_id for task_id in before if task_id not in now]
    if limit is not None and len(changed) + len(gone) > limit:
        raise DavError(
            507,
            f"{len(changed) + len(gone)} changes are more than the limit asks",
            Name(DAV, "number-of-matches-within-limits"),
        )
    coll = cal.collection(caller.user_id)

    async def nodes() -> AsyncIterator[Answer]:
        for row in changed:
            yield answer(row)
        for task_id in gone:
            path = resources.object_path(caller.user_id, coll, f"{task_id}.ics")
            yield status_bytes(path, 404)

    return nodes(), [element(Name(DAV, "sync-token"), token)]


async def _filter_multiget(
    caller: Caller,
    cal: filters.FilterCalendar,
    root: etree._Element,
    cursors: CursorCodec,
    answer: Callable[[Row], Answer],
) -> AsyncIterator[Answer]:
    prefix = resources.collection_path(caller.user_id, cal.collection(caller.user_id))
    paths = [resources.text_of(node) for node in root.iter(Name(DAV, "href").tag)]
    named: dict[str, uuid.UUID] = {}
    async with caller.connection() as conn:
        held_now = set(await filters.member_ids(conn, caller.user_id, cal, cursors))
        for path in paths:
            local = _local(path)
            task_id = filters.task_of(local[len(prefix) :]) if local.startswith(prefix) else None
            if task_id in held_now:
                named[path] = task_id
        rows = {row.id: row for row in await store.by_ids(conn, list(set(named.values())))}
    for path in paths:
        row = rows.get(named[path]) if path in named else None
        yield status_bytes(path, 404) if row is None else answer(row)
