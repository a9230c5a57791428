"""Read replicas (DATABASE_READ_URLS): a pool for each, and a watch on how far behind each is.

Each process polls the primary's WAL position (`WAL_POSITION`) and each replica's
replayed position (`pg_last_wal_replay_lsn()`) every CHECK_SECONDS, each replica on a
connection of its own opened with a short timeout, so that a replica that stops answering is
seen at once and none of the requests' connections wait on it. A replica's lag is how long
ago the primary first had WAL the replica has not replayed yet (0 when it has replayed all the
primary had at the last poll), measured against the primary's positions of the last polls:
unlike `now() - pg_last_xact_replay_timestamp()`, it does not grow while the primary is idle.
One more than DATABASE_READ_MAX_LAG_SECONDS behind, or not answering, is left out until it
catches up (a log line each way, naming the replica's host, port and database, never its
password).

Which request reads where is todo_api.kit.reads' business; this module only says which
replicas may answer a position (`usable`), and counts where reads went (the metrics).
"""

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from todo_api.config import Settings
from todo_api.db.database import PG_FAILURES, Database, DatabaseFailure

log = logging.getLogger("todo_api.db.replicas")

# A replica left out is seen within this (and a second at most for a connect that hangs).
CHECK_SECONDS = 0.25
CONNECT_TIMEOUT_SECONDS = 1.0
# The primary's positions kept to measure lags with: enough to tell any lag up to the most
# allowed, and past it.
HISTORY_MARGIN_SECONDS = 5.0
# A replica the watch has not found usable for this long (the watch stalled) answers nothing.
FRESH_SECONDS = 2.0

# The primary's WAL position in bytes: where its next record goes, so at or past the end of
# every commit that has returned, even with synchronous_commit off (`pg_current_wal_lsn()`,
# what has been written, may then be short of a commit just made). Written as a replica's
# replay position is: at the start of a page, before the page's header (24 bytes, 40 at a
# segment's start), not after it, so that a replica that has replayed all is not 24 bytes
# short of an idle primary forever.
WAL_POSITION = """(SELECT at - CASE
        WHEN at % pg_size_bytes(current_setting('wal_segment_size')) = 40 THEN 40
        WHEN at % current_setting('wal_block_size')::bigint = 24 THEN 24 ELSE 0 END
    FROM (SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS at) AS here)"""
_REPLAYED = "SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"


class ReplicaBehind(DatabaseFailure):
    """A read replica is behind a position a request names (a change feed token the primary
    gave): the primary is to answer it (todo_api.kit.reads answers it again there). Not a
    failure of the replica's: it stays in use."""


class Replica:
    """One replica: its pool, and what the last poll found (`lsn`: the WAL position it has
    replayed, in bytes; `lag`: seconds, None when it did not answer)."""

    __slots__ = ("_driver", "checked", "db", "lag", "left", "lsn", "name", "usable")

    def __init__(self, settings: Settings) -> None:
        self.db = Database(settings)
        url = settings.sqlalchemy_url
        self.name = f"{url.host}:{url.port or 5432}/{url.database}"
        self.lsn = -1
        self.lag: float | None = None
        self.usable = False  # not until a poll finds it caught up
        self.checked = 0.0  # (monotonic) when a poll last found it usable
        self.left = False  # left out once (its return is logged as such)
        self._driver: asyncpg.Connection | None = None

    async def replayed(self) -> int:
        """The WAL position it has replayed, asked on the watch's own connection."""
        if self._driver is None or self._driver.is_closed():
            self._driver = await asyncpg.connect(
                self.db._pg_dsn(),
                timeout=CONNECT_TIMEOUT_SECONDS,
                **self.db.settings.connect_args(),
            )
        standby, lsn = await self._driver.fetchrow(_REPLAYED)
        if not standby or lsn is None:
            raise DatabaseFailure("not a standby")  # promoted, or not a replica at all
        return int(lsn)

    async def close(self) -> None:
        if self._driver is not None:
            with contextlib.suppress(*PG_FAILURES):
                await self._driver.close()
        await self.db.close()


class Replicas:
    """The replicas of DATABASE_READ_URLS and their watch (`start`, `close`)."""

    def __init__(self, primary: Database, settings: Settings) -> None:
        self.primary = primary
        self.max_lag = settings.database_read_max_lag_seconds
        self.all = [Replica(each) for each in settings.replica_settings()]
        self.reads = {"primary": 0, "replica": 0}  # where reading requests' statements ran
        self._history: deque[tuple[float, int]] = deque()  # (monotonic time, primary's LSN)
        self._next = 0  # the replica to try first, in turn
        self._watch: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._run(), name="replicas")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.wait([self._watch])
            self._watch = None
        for replica in self.all:
            await replica.close()

    def in_turn(self) -> Iterator[Replica]:
        """The usable replicas, each in turn first (reads spread over them)."""
        replicas = self.all
        count = len(replicas)
        start = self._next
        self._next = (start + 1) % count
        fresh = time.monotonic() - FRESH_SECONDS
        for i in range(count):
            replica = replicas[(start + i) % count]
            if replica.usable and replica.checked > fresh:
                yield replica

    def failed(self, replica: Replica, reason: str) -> None:
        """A request could not use `replica`: left out until the watch finds it back."""
        replica.lag = None
        self._leave(replica, reason)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.check()
            except Exception:  # the watch never stops for one bad turn
                log.exception("read replicas: a check failed")
            await asyncio.sleep(max(0.0, CHECK_SECONDS - (time.monotonic() - started)))

    async def check(self) -> None:
        """One poll of the primary and of every replica."""
        now = time.monotonic()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                async with self.primary.connection() as conn:
                    position = await conn.driver.fetchval(f"SELECT {WAL_POSITION}")
        except (DatabaseFailure, TimeoutError, *PG_FAILURES):
            position = None  # the replicas keep their state until the primary is back
        if position is not None:
            history = self._history
            history.append((now, int(position)))
            while history and history[0][0] < now - self.max_lag - HISTORY_MARGIN_SECONDS:
                history.popleft()
            await asyncio.gather(*(self._check_one(replica, now) for replica in self.all))

    async def _check_one(self, replica: Replica, now: float) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                lsn = await replica.replayed()
        except (DatabaseFailure, TimeoutError, *PG_FAILURES) as exc:
            if replica._driver is not None:
                replica._driver.terminate()
                replica._driver = None
            replica.lag = None
            self._leave(replica, f"not answering ({type(exc).__name__})")
            return
        replica.lsn = lsn
        replica.lag = lag = self._lag_of(lsn, now)
        replica.checked = now
        if lag > self.max_lag:
            self._leave(replica, f"{lag:.1f} s behind the primary")
        elif not replica.usable:
            replica.usable = True
            if replica.left:
                log.warning("read replica %s taken back (%.2f s behind)", replica.name, lag)
            else:
                log.info("read replica %s in use (%.2f s behind)", replica.name, lag)

    def _lag_of(self, lsn: int, now: float) -> float:
        """Seconds since the primary first had WAL the replica at `lsn` has not replayed."""
        for when, position in self._history:  # oldest first
            if position > lsn:
                return now - when
        return 0.0

    def _leave(self, replica: Replica, reason: str) -> None:
        if replica.usable or not replica.left:
            replica.usable, replica.left = False, True
            log.warning("read replica %s left out: %s", replica.name, reason)

    def collector(self) -> Collector:
        return _ReplicaCollector(self)


class _ReplicaCollector(Collector):
    def __init__(self, replicas: Replicas) -> None:
        self._replicas = replicas

    def collect(self) -> Iterator[Metric]:
        reads = CounterMetricFamily(
            "database_reads",
            "Requests that only read, by where they read: the primary or a replica",
            labels=["target"],
        )
        for target, count in self._replicas.reads.items():
            reads.add_metric([target], count)
        yield reads
        lag = GaugeMetricFamily(
            "database_replica_lag_seconds",
            "How far each read replica is behind the primary (NaN: not answering)",
            labels=["replica"],
        )
        for replica in self._replicas.all:
            lag.add_metric([replica.name], math.nan if replica.lag is None else replica.lag)
        yield lag
