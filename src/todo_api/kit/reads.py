"""Which database answers a request: a read replica for one that only reads, else the primary.

With DATABASE_READ_URLS set (todo_api.db.replicas), a request that only reads takes its
connections from a replica: the API's GET and HEAD, the web app's pages, CalDAV's PROPFIND,
REPORT and GET, MCP's reading tools (`reads_only`), and a live stream's catch-up. Every other
request, whatever checks a credential, and the sign-in, account and authorization flows
(PRIMARY_PREFIXES) use the primary. The choice is made once per request, at its first
connection (`database(request)` in todo_api.kit.deps gives the request's `Routed`), and holds
for all its statements.

Read your writes, and what one was told: after a request of a person's that the primary
answered (a write, or a read that fell to the primary), the primary's WAL position at the
answer is kept for the person (`Positions`: in Redis when REDIS_URL is set, else in the
primary's `read_positions`; while Redis fails, or after it came back empty, the primary
answers until a floor under every position is raised), before the answer leaves. A replica
answers the person only once it has replayed that far, by its own position: as the watch
last saw it, else asked on the connection the request would use (one round trip on the
replica). So whatever the primary
showed a person (their write, an ETag, a sync token) is never followed by an older answer,
whichever instance they reach next. A position older than the most a usable replica may lag
is met by every usable replica, so Redis keeps one that long and no longer. A change feed
token names its own position: a replica behind it refuses it (`ReplicaBehind`). Background
work that tells people of a change (a live update, a webhook, a notification's email or push)
keeps their positions first (`told`).

A replica that fails a request (its connection refused, a statement failing) is left out,
and the request is answered again by the primary before anything of it was sent (the
request context drops the first answer: `retry`), so no request fails because of a replica.
What cannot be answered again reads again (`again`): an MCP tool that reads is run again on
the primary, and an answer already under way (the export, a live stream's catch-up) reads its
next part there (`reading`).
"""

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import BigInteger, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from starlette.types import Message, Receive, Scope

from todo_api.config import Settings
from todo_api.db import Connection, Database, DatabaseFailure, IntegrityViolation, Query
from todo_api.db.database import _Lease
from todo_api.db.replicas import WAL_POSITION, Replica, ReplicaBehind, Replicas
from todo_api.kit.ids import utcnow
from todo_api.kit.redis_outage import client as redis_client
from todo_api.tables.read_positions import read_positions

log = logging.getLogger("todo_api.kit.reads")
T = TypeVar("T")
P = ParamSpec("P")

ROUTE = "todo_api.route"
PERSON = "todo_api.person"
# Requests that only read, by method; on /dav, PROPFIND and REPORT too.
READ_METHODS = frozenset({"GET", "HEAD"})
DAV_READ_METHODS = frozenset({"GET", "HEAD", "PROPFIND", "REPORT"})
# Reads that must see the primary whatever the replicas say: the readiness check, and the
# sign-in, account and authorization flows, whose links and codes (a reset link, an
# invitation, a provider's code, redeemed by a GET) are credentials made a moment before.
PRIMARY_PATHS = frozenset({"/ready", "/health", "/metrics"})
PRIMARY_PREFIXES = (
    "/api/auth/",
    "/account/",
    "/oauth/",
    "/app/signin",
    "/app/signup",
    "/app/invitations/",
    "/app/reset",
    "/app/verify",
    "/app/forgot",
)
KEEP_MARGIN_SECONDS = 10
UNKNOWN = 1 << 62  # a position no replica reaches: Redis did not answer
# In Redis beside the positions: a floor under every person's position (raised after Redis
# failed), and a key whose absence says that Redis lost what it kept (`Positions`).
FLOOR = "todo-api:read-position-floor"
EPOCH = "todo-api:read-positions-kept"
REPAIR_SECONDS = 0.25

_REPLAYED = Query(
    text("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn").columns(lsn=BigInteger)
)
_RECORD = Query(
    pg_insert(read_positions)
    .values(
        user_id=bindparam("user_id"),
        lsn=text(WAL_POSITION),
        recorded_at=bindparam("now"),
    )
    .on_conflict_do_update(
        index_elements=["user_id"],
        set_={
            "lsn": func.greatest(read_positions.c.lsn, text("excluded.lsn")),
            "recorded_at": text("excluded.recorded_at"),
        },
    )
)
_POSITION = Query(
    select(read_positions.c.lsn).where(
        read_positions.c.user_id == bindparam("user_id"),
        read_positions.c.recorded_at > bindparam("since"),
    )
)
# Raise a person's position, never lower it (two answers may finish out of order).
_RAISE = """
local kept = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > kept then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
"""


class Positions:
    """Each person's position: the primary's WAL position their reads must start at.

    In Redis, positions can be lost: a keeping that failed while Redis was away, or all of
    them when Redis restarts empty. So a process that saw Redis fail (`_lose`) answers
    UNKNOWN (the primary reads) until it has raised the floor, a position every person's reads
    start at for the keeping time, to the primary's position once Redis answers again
    (`_repair`, every REPAIR_SECONDS): at or past every position that was lost. A Redis that
    came back empty (the `EPOCH` key gone) is a loss for every process that reads it."""

    def __init__(self, primary: Database, redis_url: str | None, keep_seconds: int) -> None:
        self._primary = primary
        self._keep = keep_seconds
        self._redis = (
            redis_client(redis_url, socket_timeout=1, socket_connect_timeout=1)
            if (redis_url)
            else None
        )
        self._lost = False  # positions may have been lost since Redis last answered
        self._repairing: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Looks at Redis once at the start: an empty one (its first use, or a restart) has
        the floor raised now, while the replicas are likely caught up, rather than at a
        person's first read."""
        if self._redis is not None:
            self._repairing = asyncio.get_running_loop().create_task(
                self._kept(), name="read positions"
            )

    async def _kept(self) -> None:
        assert self._redis is not None
        try:
            kept = await self._redis.exists(EPOCH)
        except Exception:
            kept = False
        if not kept or self._lost:  # (lost meanwhile: `_lose` left the repair to this task)
            self._lost = True
            await self._repair()

    async def of(self, user_id: uuid.UUID) -> int:
        """The person's position (0: none kept; UNKNOWN when it cannot be read)."""
        if self._redis is not None:
            if self._lost:
                return UNKNOWN  # the primary answers until the floor is raised
            try:
                kept, floor, epoch = await self._redis.mget(_key(user_id), FLOOR, EPOCH)
            except Exception:  # Redis away: the primary answers, as for a fresh write
                self._lose()
                return UNKNOWN
            if epoch is None:  # Redis came back empty: every position kept there is gone
                self._lose()
                return UNKNOWN
            return max(int(kept or 0), int(floor or 0))
        since = utcnow() - timedelta(seconds=self._keep)
        async with self._primary.connection() as conn:
            found = await conn.execute(_POSITION, {"user_id": user_id, "since": since})
        lsn = found.scalar()
        return int(lsn) if lsn is not None else 0

    async def record(self, user_id: uuid.UUID) -> None:
        """Keeps the primary's position now for the person."""
        async with self._primary.connection() as conn:
            if self._redis is None:
                await conn.execute(_RECORD, {"user_id": user_id, "now": utcnow()})
                return
            lsn = await conn.driver.fetchval(f"SELECT {WAL_POSITION}")
        try:
            await self._redis.eval(_RAISE, 1, _key(user_id), int(lsn), self._keep)
        except Exception:  # lost: see `of`
            self._lose()

    def _lose(self) -> None:
        self._lost = True
        if self._repairing is None or self._repairing.done():
            self._repairing = asyncio.get_running_loop().create_task(
                self._repair(), name="read positions"
            )

    async def _repair(self) -> None:
        """Raises the floor to the primary's position once Redis answers again (then every
        position lost meanwhile is at or below it), and only then trusts Redis again."""
        assert self._redis is not None
        while True:
            try:
                async with self._primary.connection() as conn:
                    lsn = await conn.driver.fetchval(f"SELECT {WAL_POSITION}")
                await self._redis.eval(_RAISE, 1, FLOOR, int(lsn), self._keep)
                await self._redis.set(EPOCH, 1)
            except Exception:
                await asyncio.sleep(REPAIR_SECONDS)
                continue
            self._lost = False
            log.info("read replicas: Redis answers again; reads start at %d", lsn)
            return

    async def close(self) -> None:
        if self._repairing is not None:
            self._repairing.cancel()
            await asyncio.wait([self._repairing])
        if self._redis is not None:
            await self._redis.aclose()


def _key(user_id: uuid.UUID) -> str:
    return f"todo-api:read-position:{user_id}"


class Route:
    """One request's way to the databases (made by `ReadRouting.begin` for a request that only
    reads): where its connections come from once chosen, and who is asking."""

    __slots__ = ("behind", "body", "replica", "retried", "routed", "target")

    def __init__(self) -> None:
        self.behind = False  # the replica was behind a position the request named
        self.target: Database | None = None  # chosen at the first connection
        self.replica: Replica | None = None
        self.retried = False
        self.routed: Routed | None = None
        self.body: list[Message] = []  # what the request sent, for an answer again


def failing_replica(scope: Scope) -> str | None:
    """The name of the replica a request failed on, when the primary is to answer the request
    again (`ReadRouting.retry`: on a replica, the first time); else None."""
    route: Route | None = scope.get(ROUTE)
    if route is None or route.replica is None or route.retried:
        return None
    return route.replica.name


def reading_as(scope: Scope, user_id: uuid.UUID) -> None:
    """Names who asks, for a request whose person is known other than by its token (a
    browser's sign-in cookie, one just signed in)."""
    scope[PERSON] = user_id


def person_of(scope: Scope) -> uuid.UUID | None:
    person: uuid.UUID | None = scope.get(PERSON) or scope.get("state", {}).get("user_id")
    return person


class ReadRouting:
    """The replicas, each person's position, and the rules of which request reads where."""

    def __init__(self, primary: Database, replicas: Replicas, positions: Positions) -> None:
        self.primary = primary
        self.replicas = replicas
        self.positions = positions

    def start(self) -> None:
        self.replicas.start()
        self.positions.start()
        _RUNNING.append(self)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            _RUNNING.remove(self)
        await self.replicas.close()
        await self.positions.close()

    def reads_only(self, scope: Scope, only: bool) -> None:
        """Marks a request the request context took for a write as one that only reads (an
        MCP tool that reads), before its first connection: a replica may answer it; or, `only`
        false, as one that writes from here on (the primary's, whatever it read before)."""
        route: Route | None = scope.get(ROUTE)
        if only and route is None:
            scope[ROUTE] = Route()
        elif not only and route is not None:
            route.target, route.replica = self.primary, None

    def begin(self, scope: Scope) -> Route | None:
        """The request's route when it only reads, else None (the primary's, as without
        replicas)."""
        method, path = scope["method"], scope["path"]
        if path in PRIMARY_PATHS or path.startswith(PRIMARY_PREFIXES):
            return None
        if method in READ_METHODS or (
            method in DAV_READ_METHODS and (path == "/dav" or path.startswith("/dav/"))
        ):
            route = scope[ROUTE] = Route()
            return route
        return None

    def routed(self, route: Route, scope: Scope) -> "Routed":
        if route.routed is None:
            route.routed = Routed(self, route, scope)
        return route.routed

    async def choose(self, route: Route, scope: Scope) -> Connection | None:
        """The request's database, at its first connection: a usable replica that has replayed
        the person's position, else the primary. Returns the connection taken to ask a replica
        that far, when one was (the request's first)."""
        route.target = self.primary
        person = person_of(scope)
        position = await self.positions.of(person) if person is not None else 0
        for replica in self.replicas.in_turn():
            if replica.lsn >= position:
                route.target, route.replica = replica.db, replica
                return None
            try:
                conn = await replica.db._acquire()
            except DatabaseFailure as exc:
                self.replicas.failed(replica, f"a connection failed ({exc})")
                continue
            try:
                replayed = (await conn.execute(_REPLAYED)).scalar()
            except DatabaseFailure as exc:
                await replica.db._release(conn.driver)
                self.replicas.failed(replica, f"a statement failed ({exc})")
                continue
            except BaseException:  # cancelled: the pool ends the statement (or the connection)
                await replica.db._release(conn.driver)
                raise
            replica.lsn = max(replica.lsn, replayed or -1)
            if replica.lsn >= position:
                route.target, route.replica = replica.db, replica
                return conn
            await replica.db._release(conn.driver, clean=True)
        return None

    async def answered(self, scope: Scope, status: int) -> None:
        """Before an answer leaves: keeps the person's position when the primary answered them
        (any request but one a replica answered, or that used no database)."""
        person = person_of(scope)
        route: Route | None = scope.get(ROUTE)
        if route is not None:
            if route.target is None or route.replica is not None:
                return  # no database read, or a replica's
        elif scope["method"] in READ_METHODS:
            return  # PRIMARY_PATHS, PRIMARY_PREFIXES: what they read is checked on the primary
        if person is None or status >= 500:
            return
        try:
            await self.positions.record(person)
        except (DatabaseFailure, IntegrityViolation) as exc:  # (a person just deleted)
            log.warning("read replicas: a read position was not kept (%s)", exc)

    def counted(self, scope: Scope) -> None:
        """Once a request has ended: counts where a request that only read read (a stream's
        catch-up included, which reads after its answer has started)."""
        route: Route | None = scope.get(ROUTE)
        if route is not None and route.target is not None:
            self.replicas.reads["primary" if route.replica is None else "replica"] += 1

    def retry(self, scope: Scope, status: int) -> bool:
        """Whether an answer about to leave is to be dropped and the request answered by the
        primary instead: a replica's failure (503), the first time."""
        return status == 503 and self.again(scope)

    def again(self, scope: Scope) -> bool:
        """A request's replica failed it (or was behind what it names): the primary answers it
        from here on. Whether it was on a replica, the first time (what failed is to be read
        again, on the primary)."""
        route: Route | None = scope.get(ROUTE)
        if route is None or route.replica is None or route.retried:
            return False
        if not route.behind:
            self.replicas.failed(route.replica, "a request failed there")
        route.retried = True
        route.target, route.replica = self.primary, None
        return True

    @staticmethod
    def recording(scope: Scope, receive: Receive) -> Receive:
        """`receive`, keeping what the request sends for an answer again (`replaying`)."""
        route: Route | None = scope.get(ROUTE)
        if route is None:
            return receive

        async def kept() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                route.body.append(message)
            return message

        return kept

    @staticmethod
    def replaying(scope: Scope, receive: Receive) -> Receive:
        route: Route = scope[ROUTE]
        sent = list(route.body) or [{"type": "http.request", "body": b"", "more_body": False}]

        async def again() -> Message:
            return sent.pop(0) if sent else await receive()

        return again


# The process's routing while its app runs (more than one only in tests, all keeping positions
# in the same place): what background work tells people through (`told`).
_RUNNING: list[ReadRouting] = []


async def told(user_ids: Iterable[uuid.UUID]) -> None:
    """Before the service tells people of a change other than in an answer to them (a live
    update, a webhook, a notification's email or push): keeps each one's position, so that
    what they read next is no older than what they were told. Nothing without replicas."""
    if not _RUNNING:
        return
    positions = _RUNNING[-1].positions
    for user_id in set(user_ids):
        try:
            await positions.record(user_id)
        except (DatabaseFailure, IntegrityViolation) as exc:  # (a person just deleted)
            log.warning("read replicas: a read position was not kept (%s)", exc)


def read_routing(primary: Database, settings: Settings) -> ReadRouting | None:
    """The routing of DATABASE_READ_URLS, or None when it is unset."""
    if not settings.database_read_urls:
        return None
    # A usable replica has all the primary had this long ago (its lag, its last check).
    keep = math.ceil(settings.database_read_max_lag_seconds) + KEEP_MARGIN_SECONDS
    return ReadRouting(
        primary, Replicas(primary, settings), Positions(primary, settings.redis_url, keep)
    )


async def reading(
    db: Database,
    read: Callable[Concatenate[Connection, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`read(conn, *args)` on a connection of `db`; when `db` is a request's replica and it fails
    there (gone, or behind what the request names), once again on the primary, which answers
    the rest of the request: for an answer that has started already (a streamed export, live
    updates' catch-up), which the request context cannot give again."""
    try:
        async with db.connection() as conn:
            return await read(conn, *args, **kwargs)
    except DatabaseFailure:
        if not (isinstance(db, Routed) and db._reads.again(db._scope)):
            raise
    async with db.connection() as conn:
        return await read(conn, *args, **kwargs)


class Routed(Database):
    """A request's view of the databases, as a `Database`: its connections come from the
    route's target, chosen at the first (`ReadRouting.choose`); a replica that cannot give one
    is left out and the primary gives it."""

    def __init__(self, reads: ReadRouting, route: Route, scope: Scope) -> None:  # (no pool)
        primary = reads.primary
        self.settings = primary.settings
        self.dialect = primary.dialect
        self.is_sqlite = primary.is_sqlite
        self._size = primary.max_size
        self._reads = reads
        self._route = route
        self._leases: dict[int, Database] = {}
        self._scope = scope

    async def _acquire(self) -> Connection:
        route, reads = self._route, self._reads
        conn = None
        if route.target is None:
            conn = await reads.choose(route, self._scope)
        target = route.target
        assert target is not None
        if conn is None:
            try:
                conn = await target._acquire()
            except DatabaseFailure as exc:
                if route.replica is None:
                    raise
                reads.replicas.failed(route.replica, f"a connection failed ({exc})")
                target = route.target = reads.primary
                route.replica = None
                conn = await target._acquire()
        self._leases[id(conn.driver)] = target
        return conn

    async def _release(self, driver: Any, *, clean: bool = False) -> None:
        target = self._leases.pop(id(driver), self._reads.primary)
        await target._release(driver, clean=clean)

    def connection(self) -> _Lease:
        return _RoutedLease(self, transaction=False)

    def transaction(self) -> _Lease:
        return _RoutedLease(self, transaction=True)

    async def close(self) -> None:  # the pools are the app's
        return


class _RoutedLease(_Lease):
    """A lease of the request's database, which notes a replica behind the request."""

    __slots__ = ()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, ReplicaBehind):
            self._db._route.behind = True  # type: ignore[attr-defined]
        await super().__aexit__(kind, exc, tb)
