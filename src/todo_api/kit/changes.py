"""The change feed: what changed since a sync token, oldest first, and the token to use next.

Every task write is stamped by a trigger with (writing transaction, sequence number), and a
delete leaves a tombstone stamped the same way (migration 0004); lists are stamped from the
same sequence (migration 0007), and so are memberships, the memberships that ended and the
tasks that left a list (migration 0011), so all of them are one stream.
Reading, the feed first takes a bound below which every write has finished: on PostgreSQL the
oldest transaction still running that may write to this database (one in another database of
the server holds nothing back), on SQLite (one writer at a time) one past the last stamp.
Only changes under the bound are returned, so a slow transaction that commits after a faster
one is read on the next call, not skipped.

Shared lists (see todo_api.kit.access): a user sees their own tasks and those of the lists
shared with them. Gaining a list (a membership stamped after the token) brings the list and
every task of it older than the membership, however old; losing it (a member tombstone)
takes the list away and every task that came into it before the loss (a task's arrival in
its list is stamped too, migration 0020). Such tasks come at the membership's stamp, each
then at its own stamp (a `Position`'s second half), so that paging through more of them
than one page holds neither skips nor repeats one; the tasks of a shared list stamped after
the membership come in the stream as the caller's own do.

One statement per kind (tasks, deleted tasks, lists, deleted lists), each a UNION ALL of
one branch per source, each branch walking its own index in feed order and stopping after a
page: a user with no shared lists runs the statements they ran before, plus branches that
find no membership.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    bindparam,
    case,
    exists,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)

from todo_api.db import Connection, Query, Row
from todo_api.db.replicas import ReplicaBehind
from todo_api.kit import access
from todo_api.kit.access import Role
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables.attachments import attachment_tombstones, attachments
from todo_api.tables.comments import comment_tombstones, task_comments
from todo_api.tables.lists import list_members, list_tombstones, lists, member_tombstones
from todo_api.tables.sections import section_tombstones, sections
from todo_api.tables.tasks import departures, tasks, tombstones

# The oldest transaction still running that may write to this database: the snapshot's
# running transactions, less those positively known to belong to a backend connected to
# another database (by the low 32 bits of the id, which is what pg_stat_activity shows); none
# running: the snapshot's xmax. A transaction whose backend is not seen (a prepared one, one
# that took its id after pg_stat_activity was read, another role's where the id is hidden)
# is kept, so the bound can only be lower than it need be, never higher. So a long
# transaction in another database of the server holds back no one's feed here.
#
# On a hot standby (a read replica) no transaction of the primary has a backend to look at,
# and the snapshot keeps every running transaction in its subtransactions' array, which
# pg_snapshot_xip does not show: its xmin, the oldest the standby knows to be running (every
# one the primary has started up to the WAL replayed), is the bound there.
_OLDEST_HERE = """
    CASE WHEN pg_is_in_recovery() THEN pg_snapshot_xmin(s)::text::bigint ELSE coalesce(
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x
         WHERE NOT EXISTS (
             SELECT FROM pg_stat_activity a
             WHERE a.backend_xid IS NOT NULL
               AND a.datname IS DISTINCT FROM current_database()
               AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)),
        pg_snapshot_xmax(s)::text::bigint) END
"""

# One past the newest stamp that can no longer change (see the module's docstring).
_BOUND = {
    "postgresql": Query(
        text(
            f"SELECT {_OLDEST_HERE} AS bound, pg_is_in_recovery() AS standby"  # noqa: S608 (constant text)
            " FROM pg_current_snapshot() AS s"
        ).columns(bound=BigInteger, standby=Boolean)
    ),
    "sqlite": Query(
        text("SELECT value + 1 AS bound, 0 AS standby FROM sync_counter WHERE id = 1").columns(
            bound=BigInteger, standby=Boolean
        )
    ),
}

# The feed's clock, for live updates (see `Clock`): the newest stamp handed out (committed or
# not), then, read after it, the bound and one past the newest transaction started.
_NEWEST = {
    "postgresql": Query(
        text("SELECT last_value AS newest FROM task_change_seq").columns(newest=BigInteger)
    ),
    "sqlite": Query(
        text("SELECT value AS newest FROM sync_counter WHERE id = 1").columns(newest=BigInteger)
    ),
}
_SNAPSHOT = Query(
    text(
        f"SELECT {_OLDEST_HERE} AS bound,"  # noqa: S608 (constant text)
        " pg_snapshot_xmax(s)::text::bigint AS top FROM pg_current_snapshot() AS s"
    ).columns(bound=BigInteger, top=BigInteger)
)

# What holds the feed back: each transaction of this database that has taken an id (so may
# still commit stamps below newer ones), oldest first, and how long it has been open;
# prepared transactions too (they hold the bound until committed or rolled back).
_HOLDERS = Query(
    text(
        "SELECT pid, datname AS database, application_name,"
        " (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint AS held_ms"
        " FROM pg_stat_activity"
        " WHERE backend_xid IS NOT NULL AND datname = current_database()"
        " AND pid <> pg_backend_pid()"
        " UNION ALL SELECT NULL, database, 'prepared transaction ' || gid,"
        " (extract(epoch FROM clock_timestamp() - prepared) * 1000)::bigint"
        " FROM pg_prepared_xacts WHERE database = current_database()"
        " ORDER BY held_ms DESC"
    ).columns(pid=Integer, database=String, application_name=String, held_ms=BigInteger)
)


@dataclass(frozen=True)
class Holder:
    """A transaction the feed waits for: its backend (None for a prepared transaction), its
    database and application, and the seconds it has been open."""

    pid: int | None
    database: str
    application_name: str
    held: float


async def holders(conn: Connection) -> list[Holder]:
    """The transactions that hold the feed back now, longest open first (none on SQLite,
    whose one writer at a time never holds a committed change back)."""
    if conn.name != "postgresql":
        return []
    rows = (await conn.execute(_HOLDERS)).rows
    return [
        Holder(r.pid, r.database, r.application_name or "", (r.held_ms or 0) / 1000) for r in rows
    ]


# A row's own stamp as the second half of its position: none, it is at its stamp. Below every
# stamp (tasks untouched since migration 0004 are at (0, 0)).
NONE = -1
# The second half of a lost list's own position: after every task it takes away, so that once
# it has come, what the list gains later (tasks written, deleted or moved out since) is past.
END = 2**63 - 1


class InvalidSyncToken(ValueError):
    pass


class ExpiredSyncToken(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Position:
    """A place in the feed: a stamp, and for the tasks a membership brings or takes away (all
    at the membership's stamp), the task's own stamp within it."""

    txid: int = 0
    seq: int = 0
    sub_txid: int = NONE
    sub_seq: int = NONE


@dataclass(frozen=True)
class Feed:
    changes: list[Row]
    deleted: list[uuid.UUID]
    lists: list[Row]
    deleted_lists: list[uuid.UUID]
    position: Position
    has_more: bool
    comments: list[Row]
    deleted_comments: list[uuid.UUID]
    sections: list[Row]
    deleted_sections: list[uuid.UUID]
    attachments: list[Row]
    deleted_attachments: list[uuid.UUID]


class SyncTokens:
    """Sync tokens: a position in the feed and since when the client's view is complete up to
    it, signed for one user. The age decides expiry: tombstones older than the retention are
    gone, so an older token could miss deletions."""

    def __init__(self, secret: str, retention_seconds: float) -> None:
        self._signer = Signer(secret, "todo-api sync token")
        self._retention = retention_seconds

    def issue(self, user_id: uuid.UUID, position: Position, as_of: float, scope: str = "") -> str:
        """A token for `user_id`; with `scope` (a CalDAV collection), valid there only."""
        # [txid, seq, as_of], the second half of the position after it only when there is one
        # (so tokens stay as they were for everything but a membership's tasks).
        body = [position.txid, position.seq, int(as_of)]
        if (position.sub_txid, position.sub_seq) != (NONE, NONE):
            body += [position.sub_txid, position.sub_seq]
        return self._signer.dumps(body, user_id.hex + scope)

    def read(self, user_id: uuid.UUID, token: str, scope: str = "") -> tuple[Position, float]:
        """The token's position and age (as a time); raises if invalid, expired, or issued
        for another scope."""
        try:
            txid, seq, as_of, *within = self._signer.loads(token, user_id.hex + scope)
            if len(within) not in (0, 2):
                raise ValueError
            position = Position(int(txid), int(seq), *(int(n) for n in within))
            issued = float(as_of)
        except InvalidToken as exc:
            raise InvalidSyncToken(str(exc)) from None
        except (TypeError, ValueError):
            raise InvalidSyncToken("is not a sync token") from None
        if time.time() - issued > self._retention:
            raise ExpiredSyncToken
        return position, issued

    @staticmethod
    def next_as_of(feed: "Feed", since_as_of: float | None) -> float:
        """The age of the token after a read of the feed. Caught up, the view is complete as of now;
        mid-way through pages it is only as recent as where the paging started, so it keeps
        that age."""
        return SyncTokens.age_after(feed.has_more, since_as_of)

    @staticmethod
    def age_after(has_more: bool, since_as_of: float | None) -> float:
        """`next_as_of` for a read that `has_more` to come (or not)."""
        keeps_age = has_more and since_as_of is not None
        return since_as_of if keeps_age and since_as_of is not None else time.time()


# --- The statements -------------------------------------------------------------------------
# Parameters: user_id (the caller), bound, the start position (txid, seq, sub_txid, sub_seq)
# and limit (a page and one more, to tell whether there is more).

Stamp = tuple[ColumnElement[int], ColumnElement[int]]

_START = tuple_(bindparam("txid", type_=BigInteger), bindparam("seq", type_=BigInteger))
_START_WITHIN = tuple_(
    bindparam("txid", type_=BigInteger),
    bindparam("seq", type_=BigInteger),
    bindparam("sub_txid", type_=BigInteger),
    bindparam("sub_seq", type_=BigInteger),
)
_BELOW = bindparam("bound", type_=BigInteger)
_LIMIT = bindparam("limit", type_=Integer)
_NONE = literal_column(str(NONE), BigInteger)
_END = literal_column(str(END), BigInteger)
_POSITION = ("p_txid", "p_seq", "s_txid", "s_seq")


def _stamp(source: FromClause) -> Stamp:
    return source.c.change_txid, source.c.change_seq


def _at(source: FromClause, *columns: Any) -> Select[Any]:
    """`columns` of the rows of `source` stamped after the start, at their stamps."""
    txid, seq = _stamp(source)
    return (
        select(*columns, txid.label("p_txid"), seq.label("p_seq"))
        .add_columns(_NONE.label("s_txid"), _NONE.label("s_seq"))
        .where(tuple_(txid, seq) > _START, txid < _BELOW)
        .order_by(txid, seq)
        .limit(_LIMIT)
    )


def _within(membership: FromClause, source: FromClause | None, *columns: Any) -> Select[Any]:
    """`columns` of the rows of `source` that a membership brings or takes away, at the
    membership's stamp and then their own, after the start. Without `source`, the membership's
    own row, after all of them (END)."""
    txid, seq = _stamp(membership)
    sub_txid, sub_seq = _stamp(source) if source is not None else (_END, _END)
    in_order = [txid, seq] if source is None else [txid, seq, sub_txid, sub_seq]
    return (
        select(*columns)
        .add_columns(
            txid.label("p_txid"),
            seq.label("p_seq"),
            sub_txid.label("s_txid"),
            sub_seq.label("s_seq"),
        )
        .where(
            tuple_(txid, seq, sub_txid, sub_seq) > _START_WITHIN,
            # Implied, but it lets the memberships' index find the memberships after the start.
            tuple_(txid, seq) >= _START,
            txid < _BELOW,
        )
        .order_by(*in_order)  # not by a constant: ORDER BY 9223372036854775807 is a column
        .limit(_LIMIT)
    )


def _feed_query(*branches: Select[Any]) -> Query:
    """One statement of the branches, merged in feed order, a page long."""
    merged = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    return Query(select(merged).order_by(*(merged.c[name] for name in _POSITION)).limit(_LIMIT))


def _memberships(*roles: Role) -> FromClause:
    """The caller's memberships in `roles`: the list and the stamp the membership started
    with (a move or a new role since does not send the list's tasks again)."""
    shared = access.shared_lists(*roles)
    return shared.add_columns(
        list_members.c.joined_txid.label("change_txid"),
        list_members.c.joined_seq.label("change_seq"),
    ).subquery()


def _cannot_see(task_id: ColumnElement[Any]) -> ColumnElement[bool]:
    return ~exists().where(tasks.c.id == task_id, access.can_see_task())


# Memberships of the caller that ended: left, removed, or the list deleted. The owner's (their
# list deleted) are left out: their list's tombstone and their own tasks' say it already. One
# that began again keeps its end (migration 0020): a token from before it still loses there
# what the caller had, and then gains the list again at the new membership.
_ENDED = member_tombstones.c
_LOST = (
    select(
        _ENDED.list_id, _ENDED.change_txid, _ENDED.change_seq, _ENDED.joined_txid, _ENDED.joined_seq
    )
    .where(
        _ENDED.user_id == access.caller(),
        ~exists().where(
            list_tombstones.c.list_id == _ENDED.list_id,
            list_tombstones.c.user_id == access.caller(),
        ),
    )
    .subquery()
)


def _lost_with(source: FromClause, *, went: bool = False) -> ColumnElement[bool]:
    """The rows of `source` (tasks, or with `went` what a task left when it went) in a list the
    caller lost that came into it before the loss, and went after the caller joined it: what
    the caller may have seen, and nothing made or brought since or gone before."""
    arrived = tuple_(source.c.arrived_txid, source.c.arrived_seq)
    lost = (source.c.list_id == _LOST.c.list_id) & (arrived < tuple_(*_stamp(_LOST)))
    if went:
        return lost & (tuple_(*_stamp(source)) > tuple_(_LOST.c.joined_txid, _LOST.c.joined_seq))
    return lost


def _since_joining(memberships: FromClause, source: FromClause) -> ColumnElement[bool]:
    """The rows of `source` in a list of the caller's `memberships`, stamped after they joined
    it (what left it before, they never saw; what left while they were away from it, their
    earlier membership's end names: see `_lost_with`)."""
    return (source.c.list_id == memberships.c.list_id) & (
        tuple_(*_stamp(source)) > tuple_(*_stamp(memberships))
    )


_SHARED = _memberships(Role.editor, Role.viewer)
_ANY = _memberships(*Role)

CHANGES = _feed_query(
    # The caller's own tasks (ix_tasks_user_id_change), as before shared lists.
    _at(tasks, tasks).where(tasks.c.user_id == access.caller()),
    # The tasks of the lists shared with the caller, stamped after the membership
    # (ix_tasks_list_id_change, per list).
    _at(tasks, tasks)
    .join(_SHARED, _SHARED.c.list_id == tasks.c.list_id)
    .where(tuple_(*_stamp(tasks)) > tuple_(*_stamp(_SHARED))),
    # A membership newer than the start: the list's tasks from before it.
    _within(_SHARED, tasks, tasks)
    .select_from(_SHARED.join(tasks, tasks.c.list_id == _SHARED.c.list_id))
    .where(tuple_(*_stamp(tasks)) < tuple_(*_stamp(_SHARED))),
)

DELETED = _feed_query(
    # The caller's own tasks deleted.
    _at(tombstones, tombstones.c.task_id.label("gone")).where(
        tombstones.c.user_id == access.caller()
    ),
    # Tasks deleted from the lists shared with the caller since they joined.
    _at(tombstones, tombstones.c.task_id.label("gone")).join(
        _SHARED, _since_joining(_SHARED, tombstones)
    ),
    # Tasks that left one of the caller's lists since they joined, for where the caller cannot
    # see them.
    _at(departures, departures.c.task_id.label("gone"))
    .join(_ANY, _since_joining(_ANY, departures))
    .where(_cannot_see(departures.c.task_id)),
    # A list the caller lost: its tasks, those deleted from it and those that left it, each if
    # it was in the list before the caller lost it.
    _within(_LOST, tasks, tasks.c.id.label("gone")).select_from(
        _LOST.join(tasks, _lost_with(tasks))
    ),
    _within(_LOST, tombstones, tombstones.c.task_id.label("gone")).select_from(
        _LOST.join(tombstones, _lost_with(tombstones, went=True))
    ),
    _within(_LOST, departures, departures.c.task_id.label("gone"))
    .select_from(_LOST.join(departures, _lost_with(departures, went=True)))
    .where(_cannot_see(departures.c.task_id)),
)

# A list comes when it changed or when the caller's membership did (joined, moved, a new
# role), at whichever is later.
_LIST_LATER = tuple_(*_stamp(lists)) > tuple_(*_stamp(list_members))
LISTS = Query(
    select(*access.SERVED)
    .add_columns(
        case((_LIST_LATER, lists.c.change_txid), else_=list_members.c.change_txid).label("p_txid"),
        case((_LIST_LATER, lists.c.change_seq), else_=list_members.c.change_seq).label("p_seq"),
        _NONE.label("s_txid"),
        _NONE.label("s_seq"),
    )
    .select_from(lists.join(list_members, access.membership(lists.c.id)))
    .where(
        or_(tuple_(*_stamp(lists)) > _START, tuple_(*_stamp(list_members)) > _START),
        lists.c.change_txid < _BELOW,
        list_members.c.change_txid < _BELOW,
    )
    .order_by("p_txid", "p_seq")
    .limit(_LIMIT)
)

DELETED_LISTS = _feed_query(
    # The caller's lists they deleted.
    _at(list_tombstones, list_tombstones.c.list_id.label("gone")).where(
        list_tombstones.c.user_id == access.caller()
    ),
    # The lists they lost, each after its tasks.
    _within(_LOST, None, _LOST.c.list_id.label("gone")),
)

# Comments (migration 0033) carry their task's owner and list, so they come as its tasks do:
# the caller's own, those of the lists shared with them since they joined, and, with a new
# membership, those from before it. A task that goes takes its comments with it (its id in
# `deleted` says so); a task that moves restamps its comments, which then come to whoever
# sees it where it went.
_COMMENTS = task_comments
COMMENTS = _feed_query(
    _at(_COMMENTS, _COMMENTS).where(_COMMENTS.c.user_id == access.caller()),
    _at(_COMMENTS, _COMMENTS)
    .join(_SHARED, _SHARED.c.list_id == _COMMENTS.c.list_id)
    .where(tuple_(*_stamp(_COMMENTS)) > tuple_(*_stamp(_SHARED))),
    _within(_SHARED, _COMMENTS, _COMMENTS)
    .select_from(_SHARED.join(_COMMENTS, _COMMENTS.c.list_id == _SHARED.c.list_id))
    .where(tuple_(*_stamp(_COMMENTS)) < tuple_(*_stamp(_SHARED))),
)
DELETED_COMMENTS = _feed_query(
    _at(comment_tombstones, comment_tombstones.c.comment_id.label("gone")).where(
        comment_tombstones.c.user_id == access.caller()
    ),
    _at(comment_tombstones, comment_tombstones.c.comment_id.label("gone")).join(
        _SHARED, _since_joining(_SHARED, comment_tombstones)
    ),
)

# Sections (migration 0047) come as a list's tasks do, to every member (its owner too): those
# stamped since the membership began, and with a new membership those from before it, at its
# stamp and then their own. A section deleted (alone, or with its list) leaves a tombstone for
# the list's members; a list lost or deleted says in `deleted_lists` that its sections went.
SECTIONS = _feed_query(
    _at(sections, sections)
    .join(_ANY, _ANY.c.list_id == sections.c.list_id)
    .where(tuple_(*_stamp(sections)) > tuple_(*_stamp(_ANY))),
    _within(_ANY, sections, sections)
    .select_from(_ANY.join(sections, sections.c.list_id == _ANY.c.list_id))
    .where(tuple_(*_stamp(sections)) < tuple_(*_stamp(_ANY))),
)
DELETED_SECTIONS = _feed_query(
    _at(section_tombstones, section_tombstones.c.section_id.label("gone")).join(
        _ANY, _since_joining(_ANY, section_tombstones)
    ),
)

# Attachments (migration 0049) carry their task's owner and list as comments do, and come as
# comments do: to whoever sees the task, a task that goes taking its files (its id in
# `deleted` says so), a task that moves restamping them for whoever sees it where it went.
_FILES = attachments
ATTACHMENTS = _feed_query(
    _at(_FILES, _FILES).where(_FILES.c.user_id == access.caller()),
    _at(_FILES, _FILES)
    .join(_SHARED, _SHARED.c.list_id == _FILES.c.list_id)
    .where(tuple_(*_stamp(_FILES)) > tuple_(*_stamp(_SHARED))),
    _within(_SHARED, _FILES, _FILES)
    .select_from(_SHARED.join(_FILES, _FILES.c.list_id == _SHARED.c.list_id))
    .where(tuple_(*_stamp(_FILES)) < tuple_(*_stamp(_SHARED))),
)
DELETED_ATTACHMENTS = _feed_query(
    _at(attachment_tombstones, attachment_tombstones.c.attachment_id.label("gone")).where(
        attachment_tombstones.c.user_id == access.caller()
    ),
    _at(attachment_tombstones, attachment_tombstones.c.attachment_id.label("gone")).join(
        _SHARED, _since_joining(_SHARED, attachment_tombstones)
    ),
)

FEED_KINDS = (
    "changes",
    "deleted",
    "lists",
    "deleted_lists",
    "comments",
    "deleted_comments",
    "sections",
    "deleted_sections",
    "attachments",
    "deleted_attachments",
)
_STATEMENTS = {
    "changes": CHANGES,
    "lists": LISTS,
    "deleted": DELETED,
    "deleted_lists": DELETED_LISTS,
    "comments": COMMENTS,
    "deleted_comments": DELETED_COMMENTS,
    "sections": SECTIONS,
    "deleted_sections": DELETED_SECTIONS,
    "attachments": ATTACHMENTS,
    "deleted_attachments": DELETED_ATTACHMENTS,
}
_NOUN = {
    "changes": "task",
    "deleted": "task",
    "lists": "list",
    "deleted_lists": "list",
    "comments": "comment",
    "deleted_comments": "comment",
    "sections": "section",
    "deleted_sections": "section",
    "attachments": "attachment",
    "deleted_attachments": "attachment",
}
_ROWS = ("changes", "lists", "comments", "sections", "attachments")


# A bound at most the bound, cheaper to read: on PostgreSQL the oldest transaction running
# anywhere on the server (not only here: no look at pg_stat_activity).
_LOW_BOUND = {
    "postgresql": Query(
        text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS bound").columns(
            bound=BigInteger
        )
    ),
    "sqlite": Query(
        text("SELECT value + 1 AS bound FROM sync_counter WHERE id = 1").columns(bound=BigInteger)
    ),
}


def bound_column(dialect: str) -> ColumnElement[int]:
    """A bound at most the bound (`read_bound`'s), cheap, as a column of another statement: a
    page's first statement says where its live updates start (web.common.live_pages), and a start
    too early only brings again what the page shows."""
    return _LOW_BOUND[dialect].statement.scalar_subquery()  # type: ignore[attr-defined, no-any-return]


async def read_bound(conn: Connection, since: Position | None = None) -> int:
    """The bound: every change stamped below it has finished (see the module's docstring).
    On a read replica that has not replayed as far as `since` (a position the primary gave),
    ReplicaBehind: it would answer a client with less than it was told."""
    found = (await conn.execute(_BOUND[conn.name])).one()
    bound: int = found.bound
    if found.standby and since is not None and bound <= since.txid:
        raise ReplicaBehind("the replica has not replayed as far as the sync token")
    return bound


def position_at(bound: int) -> Position:
    """After every change under `bound` and before every change above it."""
    return Position(bound - 1, END)


async def current_position(conn: Connection) -> Position:
    """Where a client that has read everything stands now: after every change under the bound
    and before every change above it (so the next read starts there, whatever it brings)."""
    return position_at(await read_bound(conn))


class Clock:
    """Whether anyone's feed may have moved since the last look, from two cheap reads that
    touch no user's rows (one process asks it for all its live streams).

    Every stamp comes from one sequence (SQLite: one counter). On SQLite a stamp is readable
    once committed, so the feed moved when the counter did. On PostgreSQL a change enters the
    feed when the bound passes its transaction: after a new stamp, every move of the bound may
    bring it, until the bound passes `top` (read after the stamp: above every transaction that
    had taken a stamp by then)."""

    def __init__(self) -> None:
        self._newest: int | None = None
        self._bound = 0
        self._pending = 0  # the bound brings the stamps seen once it has passed this

    async def moved(self, conn: Connection) -> bool:
        newest = (await conn.execute(_NEWEST[conn.name])).scalar()
        if conn.name == "postgresql":
            snapshot = (await conn.execute(_SNAPSHOT)).one()
            bound, top = snapshot.bound, snapshot.top
        else:
            bound = top = newest + 1
        moved = newest != self._newest or (bound != self._bound and self._bound < self._pending)
        if newest != self._newest:
            self._newest, self._pending = newest, top
        self._bound = bound
        return moved


async def read_changes(
    conn: Connection, user_id: uuid.UUID, *, since: Position | None, limit: int
) -> Feed:
    bound = await read_bound(conn, since)
    start = since or Position()
    params = {
        "user_id": user_id,
        "bound": bound,
        "txid": start.txid,
        "seq": start.seq,
        "sub_txid": start.sub_txid,
        "sub_seq": start.sub_seq,
        "limit": limit + 1,
    }
    # A first sync has nothing to forget.
    kinds = FEED_KINDS if since is not None else _ROWS
    merged: list[tuple[Position, str, Row]] = []
    for kind in kinds:
        for row in (await conn.execute(_STATEMENTS[kind], params)).rows:
            position = Position(row.p_txid, row.p_seq, row.s_txid, row.s_seq)
            merged.append((position, kind, row))
    merged.sort(key=lambda item: item[0])
    page = merged[:limit]
    # Each statement reads the rows as they are when it runs: should a write between two of
    # them show a task (or list) both as there and as gone, the later place in the feed says
    # what it is now (whatever the write changed comes on a later call). A task named gone
    # twice (a departure, then a tombstone) is named once.
    latest = {_identity(kind, row): index for index, (_, kind, row) in enumerate(page)}
    found: dict[str, list[Any]] = {kind: [] for kind in FEED_KINDS}
    for index, (_, kind, row) in enumerate(page):
        if latest[_identity(kind, row)] == index:
            found[kind].append(row if kind in _ROWS else row.gone)
    return Feed(
        changes=found["changes"],
        deleted=found["deleted"],
        lists=found["lists"],
        deleted_lists=found["deleted_lists"],
        comments=found["comments"],
        deleted_comments=found["deleted_comments"],
        sections=found["sections"],
        deleted_sections=found["deleted_sections"],
        attachments=found["attachments"],
        deleted_attachments=found["deleted_attachments"],
        position=page[-1][0] if page else start,
        has_more=len(merged) > limit,
    )


def _identity(kind: str, row: Row) -> tuple[str, Any]:
    return _NOUN[kind], row.id if kind in _ROWS else row.gone
