"""CalDAV's reads: the caller's collections (their lists and the inbox), the objects in one (a
task with what a client gave for it, `dav_objects`), and writes of `dav_objects` and
`dav_collections`. Task and list changes themselves go through the services.

A collection's objects are read a page at a time in creation order, and its changes in the
feed's order, each page a statement or three on the collection's own indexes; objects by name
are one indexed lookup of the names and one read of the tasks by id, a page at a time.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    any_,
    bindparam,
    delete,
    func,
    literal,
    select,
    tuple_,
)

from todo_api.db import Connection, Query, Row, insert_bound
from todo_api.files import in_calendar
from todo_api.kit import access, changes
from todo_api.kit.access import Role
from todo_api.kit.changes import Position
from todo_api.kit.ids import utcnow
from todo_api.lists import tree
from todo_api.tables.dav import dav_collections, dav_objects
from todo_api.tables.lists import lists
from todo_api.tables.sections import sections
from todo_api.tables.tasks import departures, task_counts, tasks, tombstones
from todo_api.tables.users import users

INBOX = "inbox"
FILTERS = "filters"  # the folder of the saved filters' calendars (todo_api.dav.filters)
PAGE = 200
# How long a task deleted by a client waits for the PUT that would make its DELETE a move.
MOVE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Collection:
    """One of the caller's calendars: a list (or the inbox, `list_id` None)."""

    list_id: uuid.UUID | None
    segment: str  # its path segment: `inbox`, the MKCALENDAR name, or the list's id
    name: str
    color: str | None
    position: int
    role: Role
    owner_id: uuid.UUID
    version: int
    change_seq: int
    # The names of the lists it is inside that the caller sees, outermost first: calendars
    # stay flat, each named `Parent / Child`.
    parents: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return " / ".join((*self.parents, self.name))

    def own_name(self, display_name: str) -> str:
        """A display name a client set, without the names of the lists this one is inside."""
        prefix = "".join(f"{parent} / " for parent in self.parents)
        return display_name.removeprefix(prefix) if prefix else display_name

    @property
    def writable(self) -> bool:
        return self.role in access.WRITERS

    @property
    def owned(self) -> bool:
        return self.role is Role.owner


_EMAIL = Query(select(users.c.email).where(users.c.id == bindparam("user_id")))


async def email_of(conn: Connection, user_id: uuid.UUID) -> str | None:
    """The user's email (their calendar user address), whatever token they signed in with."""
    email: str | None = (await conn.execute(_EMAIL, {"user_id": user_id})).scalar()
    return email


# --- Collections ----------------------------------------------------------------------------

_LISTS = (
    select(
        *access.SERVED,
        access.CALLER_JOINED_AT,
        dav_collections.c.name.label("dav_name"),
    )
    .select_from(
        access.seen_lists().outerjoin(dav_collections, dav_collections.c.list_id == lists.c.id)
    )
    .order_by(*access.CALLERS_ORDER)
)
ALL_LISTS = Query(_LISTS)


def _collection(row: Row, segment: str, parents: tuple[str, ...]) -> Collection:
    return Collection(
        list_id=row.id,
        segment=segment,
        name=row.name,
        color=row.color,
        position=row.position,
        role=Role(row.role),
        owner_id=row.user_id,
        version=row.version,
        change_seq=row.change_seq,
        parents=parents,
    )


def inbox(user_id: uuid.UUID) -> Collection:
    return Collection(None, INBOX, "Inbox", None, 0, Role.owner, user_id, 0, 0)


def _segments(rows: list[Row]) -> dict[uuid.UUID, str]:
    """Each list's path segment in this home, no two alike: `inbox` is the inbox's, `filters`
    the saved filters' folder's; a list's
    id is that list's alone (a name given elsewhere that equals it yields); a MKCALENDAR name
    is its list's unless another list of the home holds it: the one longest in the home (the
    caller's own, made before any list shared later; a client keeps seeing at a path what it
    saw there). A list that yields its name is at its id. Lists shared with the caller bring
    their owners' names, which may be anything, so this holds whatever data a home is made of
    (made before MKCALENDAR refused such names, too), whatever order the caller gives them."""
    ids = {str(row.id) for row in rows}
    taken = {INBOX, FILTERS} | ids
    segments: dict[uuid.UUID, str] = {}
    named = [row for row in rows if row.dav_name is not None]
    named.sort(key=lambda row: (row.joined_at, row.id))
    for row in named:
        if row.dav_name not in taken:
            taken.add(row.dav_name)
            segments[row.id] = row.dav_name
    return {row.id: segments.get(row.id, str(row.id)) for row in rows}


async def collections(conn: Connection, user_id: uuid.UUID) -> list[Collection]:
    rows = (await conn.execute(ALL_LISTS, {"user_id": user_id})).rows
    segments = _segments(rows)
    names = {row.id: row.name for row in rows}
    parents = tree.parents_of(rows)
    return [
        inbox(user_id),
        *(
            _collection(
                row,
                segments[row.id],
                tuple(names[above] for above in reversed(tree.ancestry(parents, row.id)[1:])),
            )
            for row in rows
        ),
    ]


def collection_at(colls: list[Collection], segment: str) -> Collection | None:
    """The collection of the home (`colls`, read whole: which list a segment names depends on
    the others, `_segments`) at `segment` (None: nothing the caller sees)."""
    found = [coll for coll in colls if coll.segment == segment]
    return found[0] if found else None


_LIST_EXISTS = Query(select(lists.c.id).where(lists.c.id == bindparam("list_id")))


async def segment_taken(conn: Connection, colls: list[Collection], segment: str) -> bool:
    """Whether a new calendar may not take `segment`: it is the inbox's, the filters' folder,
    another collection's of the home (`colls`), or the id of any list at all (a list shared
    with the caller later would otherwise find its own path taken)."""
    if segment in (INBOX, FILTERS) or collection_at(colls, segment) is not None:
        return True
    list_id = _uuid(segment)
    if list_id is None:
        return False
    return (await conn.execute(_LIST_EXISTS, {"list_id": list_id})).first() is not None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


SET_COLLECTION_NAME = Query(insert_bound(dav_collections, "list_id", "name"))


def _scope(inbox: bool) -> ColumnElement[bool]:
    """The tasks of a collection: the caller's inbox, or the list `list_id`."""
    if inbox:
        return and_(tasks.c.user_id == access.caller(), tasks.c.list_id.is_(None))
    return tasks.c.list_id == bindparam("list_id")


def _last_seq(source: Any, *where: Any) -> Any:
    return select(func.coalesce(func.max(source.c.change_seq), 0)).where(*where).scalar_subquery()


def _ctag_query(inbox_scope: bool) -> Query:
    if inbox_scope:
        gone = [tombstones.c.user_id == access.caller(), tombstones.c.list_id.is_(None)]
        left: list[Any] = [literal(False)]
        scope_id = access.caller()
    else:
        gone = [tombstones.c.list_id == bindparam("list_id")]
        left = [departures.c.list_id == bindparam("list_id")]
        scope_id = bindparam("list_id")
    counted = (
        select(func.coalesce(func.sum(task_counts.c.open_count + task_counts.c.done_count), 0))
        .where(task_counts.c.scope_id == scope_id)
        .scalar_subquery()
    )
    return Query(
        select(
            _last_seq(tasks, _scope(inbox_scope)).label("tasks"),
            _last_seq(tombstones, *gone).label("gone"),
            _last_seq(departures, *left).label("left"),
            counted.label("count"),
        )
    )


_CTAG = {True: _ctag_query(True), False: _ctag_query(False)}


async def ctag(conn: Connection, user_id: uuid.UUID, coll: Collection) -> str:
    """A tag that changes whenever anything in the collection does: the newest stamps of what is
    in it, was deleted from it or left it, the list's own, and how many tasks it holds."""
    params = {"user_id": user_id, "list_id": coll.list_id}
    row = (await conn.execute(_CTAG[coll.list_id is None], params)).one()
    return f"{row.tasks}-{row.gone}-{row.left}-{coll.change_seq}-{row.count}"


# --- Objects --------------------------------------------------------------------------------

_parent_dav = dav_objects.alias("parent_dav")
_OBJECT_COLUMNS = (
    *tasks.c,
    dav_objects.c.name.label("dav_name"),
    dav_objects.c.uid.label("dav_uid"),
    dav_objects.c.extra.label("dav_extra"),
    dav_objects.c.sent.label("dav_sent"),
    dav_objects.c.sent_version.label("dav_sent_version"),
    _parent_dav.c.uid.label("parent_uid"),
    sections.c.name.label("section_name"),  # written as X-TODO-API-SECTION
    in_calendar.COLUMN.label("files"),  # written as ATTACH
)
_OBJECTS_FROM = (
    tasks.outerjoin(dav_objects, dav_objects.c.task_id == tasks.c.id)
    .outerjoin(_parent_dav, _parent_dav.c.task_id == tasks.c.parent_id)
    .outerjoin(sections, sections.c.id == tasks.c.section_id)
)


def objects_select(*where: Any) -> Any:
    return select(*_OBJECT_COLUMNS).select_from(_OBJECTS_FROM).where(*where)


# A collection's objects in creation order (id breaking ties), a page from where the last
# ended: a list's walk ix_tasks_list_id_created_at_id, so each page reads a page of rows.
_PAGE_AFTER = tuple_(
    bindparam("after_at", type_=tasks.c.created_at.type),
    bindparam("after_id", type_=tasks.c.id.type),
)
FIRST_PAGE = (datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0))


# What a response without the object's text needs of it (its ETag and name): a page of these
# holds a fraction of whole objects' memory (their text, columns and joins).
_ETAG_COLUMNS = (
    tasks.c.id,
    tasks.c.user_id,
    tasks.c.list_id,
    tasks.c.version,
    tasks.c.change_txid,
    tasks.c.change_seq,
    dav_objects.c.name.label("dav_name"),
)
_NAMED_TASKS = tasks.outerjoin(dav_objects, dav_objects.c.task_id == tasks.c.id)


def _etags_select(*where: Any) -> Any:
    return select(*_ETAG_COLUMNS, tasks.c.created_at).select_from(_NAMED_TASKS).where(*where)


@functools.cache
def _page_query(inbox_scope: bool, whole: bool = True) -> Query:
    """A page of the collection's objects: whole, or what their ETags and names need."""
    return Query(
        (objects_select if whole else _etags_select)(
            _scope(inbox_scope),
            tuple_(tasks.c.created_at, tasks.c.id) > _PAGE_AFTER,
        )
        .order_by(tasks.c.created_at, tasks.c.id)
        .limit(bindparam("limit"))
    )


async def objects_page(
    conn: Connection,
    user_id: uuid.UUID,
    coll: Collection,
    after: tuple[datetime, uuid.UUID] = FIRST_PAGE,
    limit: int = PAGE,
    *,
    whole: bool = True,
) -> list[Row]:
    """The collection's objects after `after` (the last one's creation time and id), at most
    `limit`: the next page after `page_end(...)` of the previous. Not `whole`: only what their
    ETags and names need."""
    params = {
        "user_id": user_id,
        "list_id": coll.list_id,
        "after_at": after[0],
        "after_id": after[1],
        "limit": limit,
    }
    return (await conn.execute(_page_query(coll.list_id is None, whole), params)).rows


def page_end(page: list[Row]) -> tuple[datetime, uuid.UUID]:
    return page[-1].created_at, page[-1].id


def object_name(row: Row) -> str:
    """An object's resource name: the client's, or the task's id for tasks made elsewhere."""
    name: str = row.dav_name or f"{row.id}.ics"
    return name


def object_uid(row: Row) -> str:
    uid: str = row.dav_uid or str(row.id)
    return uid


def parent_uid(row: Row) -> str | None:
    if row.parent_id is None:
        return None
    uid: str = row.parent_uid or str(row.parent_id)
    return uid


_NAMED = Query(
    select(dav_objects.c.task_id).where(
        dav_objects.c.name == bindparam("name"), dav_objects.c.deleted_at.is_(None)
    )
)
_WITH_UID = Query(
    select(dav_objects.c.task_id).where(
        dav_objects.c.uid == bindparam("uid"), dav_objects.c.deleted_at.is_(None)
    )
)


# Objects by id or by name, a page at a time: on PostgreSQL one array parameter (`= ANY`), a
# lookup in the key's index per value whatever the statistics say; on SQLite an IN list, padded
# to a power of two (a statement per few lengths, each compiled once).


def _padded(values: list[Any]) -> list[Any]:
    size = 1 << (len(values) - 1).bit_length()
    return values + [values[-1]] * (size - len(values))


def _one_of(dialect: str, column: Any, count: int) -> Any:
    if dialect == "postgresql":
        return column == any_(bindparam("values", type_=ARRAY(column.type)))
    return column.in_([bindparam(f"v{n}", type_=column.type) for n in range(count)])


def _lookup(conn: Connection, values: list[Any]) -> tuple[int, dict[str, Any]]:
    """The count a statement of `_one_of` is made for, and its parameters."""
    if conn.name == "postgresql":
        return 0, {"values": values}
    padded = _padded(values)
    return len(padded), {f"v{n}": value for n, value in enumerate(padded)}


@functools.cache
def _ids_query(dialect: str, count: int) -> Query:
    return Query(objects_select(_one_of(dialect, tasks.c.id, count)))


@functools.cache
def _names_query(dialect: str, count: int) -> Query:
    return Query(
        select(dav_objects.c.task_id).where(
            _one_of(dialect, dav_objects.c.name, count), dav_objects.c.deleted_at.is_(None)
        )
    )


def _in(coll: Collection, user_id: uuid.UUID, row: Row) -> bool:
    if coll.list_id is None:
        return row.list_id is None and row.user_id == user_id
    return bool(row.list_id == coll.list_id)


async def by_ids(conn: Connection, ids: list[uuid.UUID]) -> list[Row]:
    """The tasks `ids` (looked up by id alone, which the key's index always serves). On SQLite
    a page of ids a statement: a name many objects share (names are the clients') stays within
    its limit of parameters."""
    step = PAGE if conn.name == "sqlite" else max(len(ids), 1)  # PostgreSQL: one array
    found = []
    for start in range(0, len(ids), step):
        count, params = _lookup(conn, ids[start : start + step])
        found += (await conn.execute(_ids_query(conn.name, count), params)).rows
    return found


async def _in_collection(
    conn: Connection, user_id: uuid.UUID, coll: Collection, ids: list[uuid.UUID]
) -> list[Row]:
    """The tasks `ids` in the collection."""
    return [row for row in await by_ids(conn, ids) if _in(coll, user_id, row)]


async def object_named(
    conn: Connection, user_id: uuid.UUID, coll: Collection, name: str
) -> Row | None:
    """The object the collection holds under `name`."""
    ids = [row.task_id for row in (await conn.execute(_NAMED, {"name": name})).rows]
    stem = _uuid(name.removesuffix(".ics")) if name.endswith(".ics") else None
    if stem is not None:
        ids.append(stem)
    for row in await _in_collection(conn, user_id, coll, ids):
        if object_name(row) == name:
            return row
    return None


async def objects_named(
    conn: Connection, user_id: uuid.UUID, coll: Collection, names: list[str]
) -> dict[str, Row]:
    """The objects the collection holds under `names` (those it holds), in two statements."""
    if not names:
        return {}
    count, params = _lookup(conn, names)
    ids = [row.task_id for row in (await conn.execute(_names_query(conn.name, count), params)).rows]
    for name in names:
        stem = _uuid(name.removesuffix(".ics")) if name.endswith(".ics") else None
        if stem is not None:
            ids.append(stem)
    wanted = set(names)
    rows = await _in_collection(conn, user_id, coll, ids)
    return {object_name(row): row for row in rows if object_name(row) in wanted}


async def _uid_ids(conn: Connection, uid: str) -> list[uuid.UUID]:
    ids = [row.task_id for row in (await conn.execute(_WITH_UID, {"uid": uid})).rows]
    as_id = _uuid(uid)
    if as_id is not None:
        ids.append(as_id)
    return ids


async def object_with_uid(
    conn: Connection, user_id: uuid.UUID, coll: Collection, uid: str
) -> Row | None:
    """The object of the collection whose UID is `uid`."""
    for row in await _in_collection(conn, user_id, coll, await _uid_ids(conn, uid)):
        if object_uid(row) == uid:
            return row
    return None


async def objects_with_uid(
    conn: Connection, user_id: uuid.UUID, colls: list[Collection], uid: str
) -> list[tuple[Collection, Row]]:
    """The objects whose UID is `uid` in any of `colls`, each with its collection."""
    rows = [row for row in await by_ids(conn, await _uid_ids(conn, uid)) if object_uid(row) == uid]
    return [(coll, row) for coll in colls for row in rows if _in(coll, user_id, row)]


# --- A collection's changes (sync-collection) -------------------------------------------------
# Read from the collection's own rows in change order, each source on its index (a list's:
# ix_tasks_list_id_change, ix_task_tombstones_list_id_change, ix_task_departures_list_id_change;
# the inbox's: the caller's ix_tasks_user_id_change and ix_task_tombstones_user_id_change), a
# page long: a sync costs a page's rows, whatever else the caller has.

_AFTER = tuple_(bindparam("txid", type_=BigInteger), bindparam("seq", type_=BigInteger))
_BELOW = bindparam("bound", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)


def _stamp(source: Any) -> tuple[Any, Any]:
    return source.c.change_txid, source.c.change_seq


def _in_feed_order(query: Any, source: Any) -> Query:
    """`query` of the rows of `source` stamped after the start and under the bound, in stamp
    order, a page (and one more) long."""
    txid, seq = _stamp(source)
    return Query(
        query.where(tuple_(txid, seq) > _AFTER, txid < _BELOW).order_by(txid, seq).limit(_LIMIT)
    )


def _gone_from(source: Any, *scope: Any) -> Query:
    """The tasks that left the collection (`source`: tombstones or departures), with the name
    a client knew each by."""
    named = source.outerjoin(dav_objects, dav_objects.c.task_id == source.c.task_id)
    query = select(
        source.c.task_id.label("id"),
        dav_objects.c.name.label("dav_name"),
        *_stamp(source),
    ).select_from(named)
    return _in_feed_order(query.where(*scope), source)


@functools.cache
def _changed_query(inbox_scope: bool, whole: bool) -> Query:
    """The collection's tasks changed after the start: whole objects, or what their ETags and
    names need."""
    scope = _scope(inbox_scope)
    if whole:
        return _in_feed_order(objects_select(scope), tasks)
    return _in_feed_order(select(*_ETAG_COLUMNS).select_from(_NAMED_TASKS).where(scope), tasks)


# A move out of the inbox leaves no departure: the caller's tasks in a list that arrived there
# after the start left the inbox then, each gone at its arrival (a later change would page it
# past the start of the next page, and it would never be told). Its changes since come after
# its arrival, so they are stamped after the start too, and the caller's ix_tasks_user_id_change
# reads only their tasks changed since then. (Not quite on PostgreSQL, where a transaction older
# than the move's that writes the task after it stamps it with its older id: an index on the
# arrival, led by the user, would need no change stamp.)
_arrived = (tasks.c.arrived_txid, tasks.c.arrived_seq)
_MOVED_OUT = Query(
    select(
        tasks.c.id,
        dav_objects.c.name.label("dav_name"),
        tasks.c.arrived_txid.label("change_txid"),
        tasks.c.arrived_seq.label("change_seq"),
    )
    .select_from(tasks.outerjoin(dav_objects, dav_objects.c.task_id == tasks.c.id))
    .where(
        tasks.c.user_id == access.caller(),
        tasks.c.list_id.is_not(None),
        tuple_(*_stamp(tasks)) > _AFTER,
        tuple_(*_arrived) > _AFTER,
        _arrived[0] < _BELOW,
    )
    .order_by(*_arrived)
    .limit(_LIMIT)
)

_GONE = {
    True: [
        _gone_from(
            tombstones, tombstones.c.user_id == access.caller(), tombstones.c.list_id.is_(None)
        ),
        _MOVED_OUT,
    ],
    False: [
        _gone_from(tombstones, tombstones.c.list_id == bindparam("list_id")),
        _gone_from(departures, departures.c.list_id == bindparam("list_id")),
    ],
}


@dataclass(frozen=True)
class CollectionChanges:
    """A page of a collection's changes: the objects in it that changed, and the tasks gone
    from it (`id` and `dav_name`), each once, at its latest place; where the page ends."""

    objects: list[Row]
    gone: list[Row]
    position: Position
    has_more: bool


async def collection_changes(
    conn: Connection,
    user_id: uuid.UUID,
    coll: Collection,
    since: Position | None,
    limit: int,
    *,
    whole: bool,
) -> CollectionChanges:
    """The collection's changes after `since` (None: a first sync, everything in it); the
    objects `whole`, or only what their ETags and names need."""
    bound = await changes.read_bound(conn, since)
    start = since or Position()
    inbox_scope = coll.list_id is None
    params = {
        "user_id": user_id,
        "list_id": coll.list_id,
        "txid": start.txid,
        "seq": start.seq,
        "bound": bound,
        "limit": limit + 1,
    }
    merged: list[tuple[tuple[int, int], Row]] = []
    changed = _changed_query(inbox_scope, whole)
    for query in [changed, *(_GONE[inbox_scope] if since is not None else [])]:
        merged += [
            ((r.change_txid, r.change_seq), r) for r in (await conn.execute(query, params)).rows
        ]
    merged.sort(key=lambda item: item[0])
    page = merged[:limit]
    latest = {row.id: index for index, (_, row) in enumerate(page)}
    objects: list[Row] = []
    gone: list[Row] = []
    for index, (_, row) in enumerate(page):
        if latest[row.id] != index:
            continue  # a later place in the page says what it is now
        here = "version" in row and (row.list_id == coll.list_id)
        (objects if here else gone).append(row)
    if len(merged) > limit:
        return CollectionChanges(objects, gone, Position(*page[-1][0]), has_more=True)
    # Caught up: everything of the collection under the bound has come.
    return CollectionChanges(objects, gone, max(changes.position_at(bound), start), has_more=False)


# --- What clients gave ----------------------------------------------------------------------

_FORGET = Query(delete(dav_objects).where(dav_objects.c.task_id == bindparam("task_id")))
# What every remembered object names: the task, its object's name and UID, the properties kept.
_OBJECT = ("task_id", "name", "uid", "extra")
_KEEP = Query(insert_bound(dav_objects, *_OBJECT, "sent", "sent_version"))


async def keep(
    conn: Connection,
    *,
    task_id: uuid.UUID,
    name: str,
    uid: str,
    extra: str,
    sent: str | None,
    sent_version: int | None,
) -> None:
    """Remember what the client gave for the task (replacing what was remembered)."""
    async with conn.transaction():
        await conn.execute(_FORGET, {"task_id": task_id})
        await conn.execute(
            _KEEP,
            {
                "task_id": task_id,
                "name": name,
                "uid": uid,
                "extra": extra,
                "sent": sent,
                "sent_version": sent_version,
            },
        )


async def mark_deleted(
    conn: Connection, user_id: uuid.UUID, row: Row, snapshot: dict[str, Any]
) -> None:
    """Remember that the caller deleted the object, and the task as it was, for a move."""
    async with conn.transaction():
        await conn.execute(_FORGET, {"task_id": row.id})
        await conn.execute(
            _REMEMBER_DELETED,
            {
                "task_id": row.id,
                "name": object_name(row),
                "uid": object_uid(row),
                "extra": row.dav_extra,
                "now": utcnow(),
                "user_id": user_id,
                "task": snapshot,
            },
        )


_REMEMBER_DELETED = Query(
    insert_bound(
        dav_objects,
        *_OBJECT,
        deleted_at=bindparam("now"),
        deleted_by=bindparam("user_id"),
        deleted_task=bindparam("task"),
    )
)


# A task a client moved by a PUT into another collection before its DELETE from the old one
# (Thunderbird's order): a row of its own (no task has its id; no UID), naming the old object,
# so that the DELETE that follows finds what it deletes already gone (204) and deletes nothing.
_REMEMBER_MOVED = Query(
    insert_bound(
        dav_objects,
        "task_id",
        "name",
        uid=literal(""),
        deleted_at=bindparam("now"),
        deleted_by=bindparam("user_id"),
        deleted_task=bindparam("moved"),
    )
)
_MOVED_AWAY = Query(
    select(dav_objects.c.task_id, dav_objects.c.deleted_task).where(
        dav_objects.c.name == bindparam("name"),
        dav_objects.c.uid == "",
        dav_objects.c.deleted_by == bindparam("user_id"),
        dav_objects.c.deleted_at > bindparam("since"),
    )
)
_FORGET_MOVED = Query(
    delete(dav_objects).where(dav_objects.c.task_id == bindparam("marker"), dav_objects.c.uid == "")
)


def _place(coll: Collection) -> str:
    return str(coll.list_id) if coll.list_id is not None else INBOX


async def mark_moved(conn: Connection, user_id: uuid.UUID, source: Collection, row: Row) -> None:
    """Remember that the caller moved the task of `row` out of `source` by a PUT elsewhere."""
    moved = {"id": str(row.id), "from": _place(source)}
    params = {"task_id": uuid.uuid4(), "name": object_name(row), "now": utcnow()}
    await conn.execute(_REMEMBER_MOVED, {**params, "user_id": user_id, "moved": moved})


async def moved_away(conn: Connection, user_id: uuid.UUID, coll: Collection, name: str) -> bool:
    """Whether the caller moved the object `name` out of the collection by a PUT elsewhere
    within the move window; forgets it (the client's DELETE of it comes once)."""
    params = {"name": name, "user_id": user_id, "since": utcnow() - MOVE_WINDOW}
    for row in (await conn.execute(_MOVED_AWAY, params)).rows:
        if (row.deleted_task or {}).get("from") == _place(coll):
            await conn.execute(_FORGET_MOVED, {"marker": row.task_id})
            return True
    return False


_RECENTLY_DELETED = Query(
    select(dav_objects)
    .where(
        dav_objects.c.uid == bindparam("uid"),
        dav_objects.c.deleted_by == bindparam("user_id"),
        dav_objects.c.deleted_at > bindparam("since"),
    )
    .order_by(dav_objects.c.deleted_at.desc())
    .limit(1)
)


async def recently_deleted(conn: Connection, user_id: uuid.UUID, uid: str) -> Row | None:
    """What the caller deleted with this UID within the move window (None: nothing)."""
    params = {"uid": uid, "user_id": user_id, "since": utcnow() - MOVE_WINDOW}
    return (await conn.execute(_RECENTLY_DELETED, params)).first()


def now() -> datetime:
    return utcnow()
