"""Saved filters as read-only calendars: `/dav/calendars/{user_id}/filters/{id}/`, each holding
the open tasks its query answers (the listing's, `GET /api/filters/{id}/tasks`), at most
`MEMBERS_MAX` of them in due order, each as `{task id}.ics` (a filter gathers tasks of several
lists, whose clients' names may clash).

What a filter holds changes without any task changing (the clock moves past a due time, a list
is shared no more), so its sync-collection compares what it holds now with what it held when
the token was given: each token names a snapshot (`dav_filter_syncs`: the tasks and their
versions), and a task that entered, changed or left since is in the answer. The newest
`SNAPSHOTS_KEPT` snapshots of a filter are kept; an older token is refused as
`valid-sync-token`, and the client syncs from the start (RFC 6578 §3.2).
"""

import hashlib
import uuid
from dataclasses import dataclass, replace

from sqlalchemy import bindparam, delete, select

from todo_api.dav import store
from todo_api.dav.errors import DavError
from todo_api.dav.store import Collection
from todo_api.dav.xml import DAV, Name
from todo_api.db import Connection, Query, Row, insert_bound
from todo_api.filters import service as filters_service
from todo_api.filters.errors import FilterNotFound
from todo_api.kit.access import Role
from todo_api.kit.errors import ApiError
from todo_api.kit.ids import utcnow
from todo_api.tables.dav import dav_filter_syncs
from todo_api.tasks import pages
from todo_api.tasks.dependencies import with_filter
from todo_api.tasks.listing import MAX_LIMIT, CursorCodec, ListQuery

MEMBERS_MAX = 2000
SNAPSHOTS_KEPT = 10
SYNC_PREFIX = "urn:todo-api:sync:filter:"


@dataclass(frozen=True)
class FilterCalendar:
    filter_id: uuid.UUID
    name: str
    query: str
    color: str | None
    position: int

    def collection(self, user_id: uuid.UUID) -> Collection:
        """The calendar as a collection of the home, for its paths and properties only (a
        viewer's: nothing in it can be written)."""
        segment = f"{store.FILTERS}/{self.filter_id}"
        return Collection(
            None, segment, self.name, self.color, self.position, Role.viewer, user_id, 0, 0
        )


def _calendar(row: object) -> FilterCalendar:
    found = dict(row)  # type: ignore[call-overload]
    return FilterCalendar(
        found["id"], found["name"], found["query"], found["color"], found["position"]
    )


async def calendars(conn: Connection, user_id: uuid.UUID) -> list[FilterCalendar]:
    return [_calendar(row) for row in await filters_service.list_filters(conn, user_id)]


async def calendar(conn: Connection, user_id: uuid.UUID, segment: str | None) -> FilterCalendar:
    """The caller's filter at `segment` (its id); raises DavError 404."""
    try:
        filter_id = uuid.UUID(segment or "")
        return _calendar(await filters_service.get_filter(conn, user_id, filter_id))
    except (ValueError, FilterNotFound):
        raise DavError(404, "Not found") from None


def object_name(task_id: uuid.UUID) -> str:
    return f"{task_id}.ics"


def task_of(name: str) -> uuid.UUID | None:
    """The task an object's name in a filter calendar names (None: none)."""
    if not name.endswith(".ics"):
        return None
    try:
        return uuid.UUID(name.removesuffix(".ics"))
    except ValueError:
        return None


# --- What a filter holds --------------------------------------------------------------------


async def member_ids(
    conn: Connection, user_id: uuid.UUID, cal: FilterCalendar, cursors: CursorCodec
) -> list[uuid.UUID]:
    """The tasks the filter holds now, in due order (a query of groups: each group's in turn,
    a task once), at most MEMBERS_MAX: the listing's pages."""
    try:
        query = with_filter(ListQuery(sort="due_at", limit=MAX_LIMIT), cal.query)
    except ApiError:
        return []  # a query no longer read (saved under older rules) holds nothing
    groups = [
        replace(query, groups=(), filters=replace(query.filters, filter=g.node))
        for g in query.groups
    ]
    found: dict[uuid.UUID, None] = {}
    for one in groups or [query]:
        while len(found) < MEMBERS_MAX:
            page = await pages.list_tasks(conn, user_id, query=one, cursors=cursors)
            found.update((task["id"], None) for task in page.tasks)
            if page.next_cursor is None:
                break
            one = replace(one, cursor=page.next_cursor)
    return list(found)[:MEMBERS_MAX]


async def members(
    conn: Connection, user_id: uuid.UUID, cal: FilterCalendar, cursors: CursorCodec
) -> list[Row]:
    """The filter's tasks as calendar objects (with what clients gave for them), in due order."""
    ids = await member_ids(conn, user_id, cal, cursors)
    rows = {row.id: row for row in await store.by_ids(conn, ids)}
    return [rows[task_id] for task_id in ids if task_id in rows]


async def member(
    conn: Connection, user_id: uuid.UUID, cal: FilterCalendar, cursors: CursorCodec, name: str
) -> Row | None:
    """The object `name` of the filter's calendar, while the filter holds its task."""
    task_id = task_of(name)
    if task_id is None or task_id not in await member_ids(conn, user_id, cal, cursors):
        return None
    found = await store.by_ids(conn, [task_id])
    return found[0] if found else None


def digest(rows: list[Row]) -> str:
    """What the calendar holds, in one value (its ctag): the tasks and their versions."""
    text = "\n".join(sorted(f"{row.id}:{row.version}" for row in rows))
    return hashlib.sha256(text.encode()).hexdigest()


# --- Snapshots (sync tokens) ----------------------------------------------------------------

_NEWEST = (
    select(dav_filter_syncs.c.id)
    .where(dav_filter_syncs.c.filter_id == bindparam("filter_id"))
    .order_by(dav_filter_syncs.c.created_at.desc(), dav_filter_syncs.c.id)
)
_LATEST = Query(
    select(dav_filter_syncs.c.id, dav_filter_syncs.c.digest)
    .where(dav_filter_syncs.c.filter_id == bindparam("filter_id"))
    .order_by(dav_filter_syncs.c.created_at.desc(), dav_filter_syncs.c.id)
    .limit(1)
)
_KEEP = Query(insert_bound(dav_filter_syncs, "id", "filter_id", "digest", "members", "created_at"))
_PRUNE = Query(
    delete(dav_filter_syncs).where(
        dav_filter_syncs.c.filter_id == bindparam("filter_id"),
        dav_filter_syncs.c.id.not_in(_NEWEST.limit(SNAPSHOTS_KEPT).scalar_subquery()),
    )
)
_SNAPSHOT = Query(
    select(dav_filter_syncs.c.members).where(
        dav_filter_syncs.c.id == bindparam("id"),
        dav_filter_syncs.c.filter_id == bindparam("filter_id"),
    )
)


async def sync_token(conn: Connection, cal: FilterCalendar, rows: list[Row]) -> str:
    """A token for what the calendar holds now (`rows`): the newest snapshot's when it holds
    the same, else a new snapshot's."""
    params = {"filter_id": cal.filter_id}
    now = digest(rows)
    latest = (await conn.execute(_LATEST, params)).first()
    if latest is not None and latest.digest == now:
        return f"{SYNC_PREFIX}{latest.id}"
    token = uuid.uuid4()
    held = {str(row.id): row.version for row in rows}
    async with conn.transaction():
        await conn.execute(
            _KEEP, {**params, "id": token, "digest": now, "members": held, "created_at": utcnow()}
        )
        await conn.execute(_PRUNE, params)
    return f"{SYNC_PREFIX}{token}"


async def snapshot(conn: Connection, cal: FilterCalendar, token: str) -> dict[str, int]:
    """What the calendar held when `token` was given; raises DavError 403 valid-sync-token for
    a token not of this calendar or no longer kept."""
    try:
        snapshot_id = uuid.UUID(token.removeprefix(SYNC_PREFIX))
    except ValueError:
        snapshot_id = None
    found = None
    if token.startswith(SYNC_PREFIX) and snapshot_id is not None:
        params = {"id": snapshot_id, "filter_id": cal.filter_id}
        found = (await conn.execute(_SNAPSHOT, params)).scalar()
    if found is None:
        raise DavError(403, "This sync token is not valid here", Name(DAV, "valid-sync-token"))
    held: dict[str, int] = found
    return held
