"""Wake-ups across processes and instances: a channel every process listens on.

Who sends them, and why not the database: NOTIFY serialises the commits of the transactions
that send it (PostgreSQL takes one lock for the whole cluster at commit to order the queue),
which undoes group commit. Measured here (PostgreSQL 15, 8 clients updating one row each):
1 900 transactions a second without it, 730 to 950 with it. A trigger would make every write
pay that, streams or none. So the application sends them, after a write has committed
(`RequestContextMiddleware.after_write`), and only for a user someone is listening to: each
process hosting streams announces on the channel, every few seconds, the users whose writes
its streams can see (each stream's user and everyone sharing a list with them); writes by
anyone else cost a set look-up and nothing more. Sends are batched per process.

Messages are short text: `w:<ids>` (these users wrote: streams that can see their writes
read their feed), `a:<ids>` (an announcement: writes by these users are worth sending) and
`r:<ids>` (these credentials stopped working: personal or OAuth access tokens revoked,
built-in sign-ins ended, users deleted; forget them and end the streams they opened: see
todo_api.auth.credentials), ids as 32 hex digits,
comma-separated, at most `MAX_IDS` a message (NOTIFY takes 8000 bytes).

A revocation holds from the next request on every process, so its answer waits until every
process listening has forgotten the tokens: its `r:` message carries `ack-<nonce>` among the
ids (a process of an earlier version skips it as an id that does not parse), each process
that hears it answers `k:<nonce>` once it has forgotten them, and the revoking process waits
for as many answers as the channel counted listeners when it sent (`Channel.broadcast`: Redis
counts its subscribers; PostgreSQL's listeners name their sessions `LISTENER_NAME`). The
revocation is sent through the database's pool (PostgreSQL) or Redis itself, not the process's
own listening connection, so that it goes out while that connection is still connecting.

The channel: Redis pub/sub when REDIS_URL is set; else PostgreSQL LISTEN/NOTIFY on a direct
connection (DATABASE_DIRECT_URL, or DATABASE_URL when it is no pooler: PgBouncer in
transaction mode drops LISTEN), one per process; else none (SQLite, or a pooler alone). A
message can be lost (a channel down, an announcement not heard yet): each process also polls
the feed's clock (todo_api.kit.changes.Clock), which keeps streams correct without a channel.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy

from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.db.database import PG_FAILURES
from todo_api.kit.redis_outage import client as redis_client
from todo_api.kit.redis_outage import outage_of
from todo_api.kit.throttle import TracebackThrottle

log = logging.getLogger("todo_api")

CHANNEL = "todo_api_live"
WROTE, AUDIENCE = "w", "a"
# Credentials revoked (their ids; a deleted user's id): every process forgets them
# (todo_api.auth.hashed_tokens), ends the streams they opened (todo_api.live.hub) and, when the
# message asks (`ack-<nonce>`), confirms it with `k:<nonce>`. A deleted user's id comes once
# more as `user-<id>` (which a reader of ids alone skips): it is known deleted from then on.
REVOKED, CONFIRMED = "r", "k"
ASK, USER = "ack-", "user-"
# How PostgreSQL's listening sessions are named (the revoking process counts them).
LISTENER_NAME = "todo_api live"
# Delivered by a channel when it (re)connects: what was sent meanwhile may be lost.
CONNECTED = ""
MAX_IDS = 200
# Seconds between two checks that an idle channel is still there, and before a reconnection.
HEALTH_SECONDS = 10.0
RETRY_SECONDS = 2.0

_tracebacks = TracebackThrottle()


def messages(kind: str, users: Iterable[uuid.UUID]) -> Iterator[str]:
    """`users` in as many messages of `kind` as it takes."""
    ids = [user.hex for user in users]
    for start in range(0, len(ids), MAX_IDS):
        yield f"{kind}:{','.join(ids[start : start + MAX_IDS])}"


def revocations(
    token_ids: Iterable[uuid.UUID], deleted_users: Iterable[uuid.UUID] = ()
) -> Iterator[tuple[uuid.UUID, str]]:
    """`token_ids` and `deleted_users` in as many `r:` messages as it takes, each asking for
    confirmation with a nonce of its own."""
    users = [user.hex for user in deleted_users]
    ids = [token_id.hex for token_id in token_ids] + users + [USER + user for user in users]
    for start in range(0, len(ids), MAX_IDS):
        nonce = uuid.uuid4()
        yield nonce, f"{REVOKED}:{ASK}{nonce.hex},{','.join(ids[start : start + MAX_IDS])}"


def confirmation_asked(message: str) -> uuid.UUID | None:
    """The nonce an `r:` message asks to be confirmed with, if any."""
    first = message.partition(":")[2].split(",", 1)[0]
    if not first.startswith(ASK):
        return None
    try:
        return uuid.UUID(hex=first.removeprefix(ASK))
    except ValueError:
        return None


def deleted_users(message: str) -> list[uuid.UUID]:
    """The users an `r:` message says were deleted."""
    users = []
    for item in message.partition(":")[2].split(","):
        if item.startswith(USER):
            with contextlib.suppress(ValueError):
                users.append(uuid.UUID(hex=item.removeprefix(USER)))
    return users


def parse(message: str) -> tuple[str, list[uuid.UUID]]:
    """A message's kind and users (those that do not parse are left out)."""
    kind, _, text = message.partition(":")
    users = []
    for item in text.split(","):
        with contextlib.suppress(ValueError):
            users.append(uuid.UUID(hex=item))
    return kind, users


class Channel(Protocol):
    async def listen(self, deliver: Callable[[str], None]) -> None:
        """Deliver every message heard (and CONNECTED on each connection), for ever,
        reconnecting after failures."""

    async def send(self, message: str) -> None:
        """Send to every process listening, this one included (dropped while disconnected)."""

    async def broadcast(self, message: str) -> int:
        """Send to every process listening, whether this one listens yet or not, and say how
        many processes listen (this one included when it does)."""

    @property
    def connected(self) -> bool:
        """Whether it listens now (what is sent is heard)."""

    async def close(self) -> None: ...


def _lost(where: str, exc: BaseException) -> None:
    message = "live updates: %s failed (%s); streams poll meanwhile"
    _tracebacks.log(log, logging.WARNING, exc, message, where)


# One statement: the listeners counted are those that hear the notification (a session names
# itself only once it listens).
_BROADCAST = Query(
    sqlalchemy.text(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = :listener) AS listeners FROM pg_notify(:channel, :message)"
    ).columns(sqlalchemy.column("listeners"))
)


_NAME_LISTENER = "SELECT set_config('application_name', $1, false)"


class PostgresChannel:
    """LISTEN on one connection of its own, outside the pool; NOTIFY on the same one (and
    revocations through the pool: `broadcast`)."""

    def __init__(self, dsn: str, connect_args: dict[str, Any], db: Database) -> None:
        self._dsn = dsn
        self._args = connect_args
        self._db = db
        self._conn: Any = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection

    async def listen(self, deliver: Callable[[str], None]) -> None:
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn, timeout=HEALTH_SECONDS, **self._args)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                # Named before it listens: a revoker counts named sessions and waits for that
                # many confirmations, so a session that could confirm must already be counted.
                await conn.execute(_NAME_LISTENER, LISTENER_NAME)
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, text: deliver(text))
                self._conn = conn
                deliver(CONNECTED)
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):  # not wait_for: see kit/jobs.py
                        async with asyncio.timeout(HEALTH_SECONDS):
                            await lost.wait()
                    if not lost.is_set():  # a connection cut silently answers nothing
                        async with self._lock:
                            await conn.execute("SELECT 1", timeout=HEALTH_SECONDS)
            except (*PG_FAILURES, TimeoutError) as exc:
                _lost("listening on PostgreSQL", exc)
            finally:
                self._conn = None
                if conn is not None:
                    conn.terminate()
            await asyncio.sleep(RETRY_SECONDS)

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def send(self, message: str) -> None:
        conn = self._conn
        if conn is None:
            return
        async with self._lock:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, message)

    async def broadcast(self, message: str) -> int:
        params = {"channel": CHANNEL, "message": message, "listener": LISTENER_NAME}
        async with self._db.connection() as conn:
            row = (await conn.execute(_BROADCAST, params)).one()
        return int(row["listeners"])

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.terminate()


class RedisChannel:
    """A Redis pub/sub channel (the instances share REDIS_URL). Redis going away is said once
    (todo_api.kit.redis_outage), not each time a listener, a send or a revocation meets it:
    meanwhile nothing is heard (streams poll, tokens are looked up: `connected` is False) and
    nothing is sent; once it answers, the listener subscribes again within RETRY_SECONDS."""

    def __init__(self, url: str) -> None:
        from redis.exceptions import RedisError  # imported where REDIS_URL is set

        self._failures = (RedisError, OSError)
        self._redis = redis_client(
            url, socket_connect_timeout=HEALTH_SECONDS, health_check_interval=HEALTH_SECONDS
        )
        self._outage = outage_of(url)
        self._connected = False

    async def listen(self, deliver: Callable[[str], None]) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                self._outage.answered()
                self._connected = True
                deliver(CONNECTED)
                while True:
                    message = await pubsub.get_message(timeout=HEALTH_SECONDS)
                    if message is not None and message["type"] == "message":
                        deliver(message["data"].decode())
            except self._failures as exc:
                self._outage.failed(exc)
            finally:
                self._connected = False
                with contextlib.suppress(*self._failures):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(RETRY_SECONDS)

    @property
    def connected(self) -> bool:
        return self._connected

    async def send(self, message: str) -> None:
        if not self._connected:
            return
        try:
            await self._redis.publish(CHANNEL, message)
        except self._failures as exc:  # lost: the streams' polling covers it
            self._outage.failed(exc)

    async def broadcast(self, message: str) -> int:
        """0 listeners while Redis is away: no process hears the channel then, so each looks
        its tokens up (and forgets what it knew when it hears the channel again)."""
        try:
            listeners = int(await self._redis.publish(CHANNEL, message))
        except self._failures as exc:
            self._outage.failed(exc)
            return 0
        self._outage.answered()
        return listeners

    async def close(self) -> None:
        await self._redis.aclose()


def channel_for(settings: Settings, db: Database) -> Channel | None:
    """Redis when configured; else PostgreSQL on a direct connection; else none (polling)."""
    if settings.redis_url:
        return RedisChannel(settings.redis_url)
    if settings.is_sqlite:
        return None
    pooled = settings.connect_args().get("statement_cache_size") == 0
    if pooled and not settings.database_direct_url:
        return None  # behind PgBouncer in transaction mode, LISTEN would hear nothing
    direct = settings.for_migrations()
    dsn = direct.sqlalchemy_url.set(drivername="postgresql").render_as_string(hide_password=False)
    args = {k: v for k, v in direct.connect_args().items() if k != "statement_cache_size"}
    return PostgresChannel(dsn, args, db)
