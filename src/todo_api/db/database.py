"""The service's data layer: pooled driver connections running SQLAlchemy Core statements.

Requests run their statements on the driver's own connection (asyncpg for PostgreSQL,
aiosqlite for SQLite), without SQLAlchemy's execution machinery on the way. A statement built
once (`Query`) is compiled once per dialect; its parameters are bound by name at each call
through the type processors SQLAlchemy itself would apply, and rows come back as plain dicts
through its result processors, so what is written and read is exactly what SQLAlchemy would
write and read. A statement built per call (the cold paths) is compiled per call.

Connections are in autocommit mode: a single statement is its own transaction, and
`Connection.transaction()` groups several into one.

PostgreSQL's connections are asyncpg's pool's: it opens, counts, bounds and closes them. A
connection a request gives back cleanly is kept on a stack for the next lease instead of
being handed to the pool each time (`_IdleStack`): asyncpg's `release` costs some 10 µs of
CPU per call (a task under `asyncio.shield`, a timeout block, its inactivity timer re-armed),
a tenth of what the service spends on a small request, and taking and giving back through the
stack costs a fraction of a µs. Everything else still goes through the pool: a lease that
ended in an error, a connection inside a transaction or closed, one in RETURN_EVERY leases
(asyncpg's own recycling, its query limit and resets, still apply), and whatever stayed on
the stack unused for a sweep period.

While every connection is leased, a request waits for one in a queue of its own here, first
come first served, for ACQUIRE_TIMEOUT_SECONDS at most, and a connection given back cleanly
goes straight to the first one waiting (a lease that ended otherwise goes through the pool,
and the first one waiting takes it from there). asyncpg bounds such a wait with a task and a
timeout of its own per acquire, and routes every release through that task's queue: under a
load above the pool's size that was every request's cost; a future and a timer are less.
"""

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

from todo_api.config import Settings
from todo_api.db.engine import SQLITE_PRAGMAS, ensure_sqlite_folder, unicode_lower
from todo_api.db.statements import Compiled, Query, Row, compile_for
from todo_api.db.types import SQLITE_UNICODE_LOWER

ACQUIRE_TIMEOUT_SECONDS = 10
# A connection given back cleanly goes through asyncpg's release once in this many leases.
RETURN_EVERY = 1000
# Connections left unused on the idle stack for this long go back to asyncpg's pool (which
# closes those idle for its own inactivity period, so a quiet process holds few).
IDLE_SWEEP_SECONDS = 30

_log = logging.getLogger("todo_api")
# How long a closing pool waits for its connections to be given back before it ends them.
POOL_CLOSE_SECONDS = 10.0


class IntegrityViolation(Exception):
    """A constraint refused the write (unique, foreign key, check, not null)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint or "integrity constraint")
        self.constraint = constraint


class DatabaseFailure(Exception):
    """The database could not be reached, or failed to run a statement."""


class InvalidValue(Exception):
    """The database refused a value a statement carried (too long for its column, out of
    range): a check the service missed, so an internal error, never DATABASE_ERROR (503 says
    the database is unavailable, and retrying would not help)."""


class WroteOnReplica(Exception):
    """A statement that writes ran on a read replica: a read path that writes, a bug. An
    internal error, never DATABASE_ERROR (whose answer the primary would give again, hiding
    it)."""


class Result:
    """What a statement gave: its rows, made from the driver's records when first asked for
    (`row` makes one alone, `picked` some columns of each without making rows), and the rows
    it changed."""

    __slots__ = ("_compiled", "_records", "_rows", "rowcount")

    def __init__(
        self, records: Sequence[Any], rowcount: int, compiled: Compiled | None = None
    ) -> None:
        self._records = records
        self._compiled = compiled
        self._rows: list[Row] | None = None if compiled is not None else []
        self.rowcount = rowcount

    @property
    def rows(self) -> list[Row]:
        if self._rows is None:
            assert self._compiled is not None
            self._rows = self._compiled.rows(self._records)
        return self._rows

    def __len__(self) -> int:
        return len(self._records)

    def row(self, index: int) -> Row:
        """The row at `index` alone."""
        if self._rows is not None or self._compiled is None:
            return self.rows[index]
        return self._compiled.rows([self._records[index]])[0]

    def picked(self, names: tuple[str, ...], stop: int | None = None) -> list[Any]:
        """The values of the columns `names` of each row up to `stop` (Compiled.picked)."""
        if self._compiled is None:
            return []
        return self._compiled.picked(self._records[:stop], names)

    def before(self, index: int) -> "Result":
        """The rows before `index` alone (a statement that reads two kinds of rows)."""
        records = self._records[:index]
        return Result(records, len(records), self._compiled)

    def after(self, index: int) -> "Result":
        """The rows from `index` on alone."""
        records = self._records[index:]
        return Result(records, len(records), self._compiled)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def first(self) -> Row | None:
        return self.rows[0] if self.rows else None

    def one(self) -> Row:
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.rows[0]

    def scalar(self) -> Any:
        return next(iter(self.rows[0].values())) if self.rows else None


class Connection:
    """One pooled driver connection, for the length of a request or a task; `settings`, its
    database's, for the rules a statement's caller checks against them (an owner's quota)."""

    __slots__ = ("_depth", "dialect", "driver", "settings")
    begin_sql = "BEGIN"

    def __init__(self, driver: Any, dialect: Dialect, settings: Settings) -> None:
        self.driver = driver
        self.dialect = dialect
        self.settings = settings
        self._depth = 0

    @property
    def name(self) -> str:
        return self.dialect.name

    async def execute(
        self, statement: "Query | ClauseElement", params: Mapping[str, Any] | None = None
    ) -> Result:
        if isinstance(statement, Query):
            compiled = statement.compiled(self.dialect)
        else:
            compiled = compile_for(statement, self.dialect, prebuilt=False)
        return await self.run(compiled, compiled.arguments(params or {}))

    async def run(self, compiled: Compiled, args: list[Any]) -> Result:
        raise NotImplementedError

    async def execute_many(self, statement: Query, params: Sequence[Mapping[str, Any]]) -> None:
        """One prebuilt statement (no rows back) for each of `params`, sent together: the
        driver's batch, one round trip's worth of work for thousands of rows (an import)."""
        if params:
            compiled = statement.compiled(self.dialect)
            await self.run_many(compiled, [compiled.arguments(p) for p in params])

    async def run_many(self, compiled: Compiled, args: list[list[Any]]) -> None:
        raise NotImplementedError

    async def run_sql(self, sql: str) -> None:
        """Plain SQL without parameters or rows (transaction control, locks)."""
        raise NotImplementedError

    def in_transaction(self) -> bool:
        return self._depth > 0

    def transaction(self) -> "_Transaction":
        """Run the block's statements as one transaction: committed when it ends, rolled back
        when it raises or is cancelled. A nested block joins the outer one."""
        return _Transaction(self)

    def savepoint(self) -> "_Savepoint":
        """Undo only this block when it raises, leaving the enclosing transaction usable.
        Outside a transaction it is no SQL at all: a statement that fails there changed
        nothing."""
        return _Savepoint(self)


class _Block:
    """A block of work on the connection, `async with`: `_begin` on the way in; on the way out
    `_ends` says which statements keep or undo the work (None: nothing to end here), and the
    undo's own failure is not raised over the block's exception."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def __aenter__(self) -> Connection:
        await self._begin()
        return self._conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        ends = self._ends()
        if ends is None:
            return
        keep, undo = ends
        if kind is None:
            await self._conn.run_sql(keep)
        else:
            with contextlib.suppress(Exception):
                await self._conn.run_sql(undo)

    async def _begin(self) -> None:
        raise NotImplementedError

    def _ends(self) -> tuple[str, str] | None:
        raise NotImplementedError


class _Savepoint(_Block):
    __slots__ = ("_name",)

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._name: str | None = None

    async def _begin(self) -> None:
        if self._conn._depth:
            self._name = f"sp_{uuid.uuid4().hex}"
            await self._conn.run_sql(f"SAVEPOINT {self._name}")

    def _ends(self) -> tuple[str, str] | None:
        name = self._name
        return (
            None if name is None else (f"RELEASE SAVEPOINT {name}", f"ROLLBACK TO SAVEPOINT {name}")
        )


class _Transaction(_Block):
    __slots__ = ("_outermost",)

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self._outermost = False

    async def _begin(self) -> None:
        conn = self._conn
        if conn._depth == 0:
            await conn.run_sql(conn.begin_sql)
            self._outermost = True
        conn._depth += 1

    def _ends(self) -> tuple[str, str] | None:
        self._conn._depth -= 1
        return ("COMMIT", "ROLLBACK") if self._outermost else None


def _json_text(text: str) -> str:
    return text


def _rowcount(status: str) -> int:
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isascii() and tail.isdigit() else -1


# What asyncpg raises when the server or the connection fails (an InternalClientError: a
# connection cut off by the server in the middle of an operation).
PG_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
# Every error of asyncpg's that a statement turns into the data layer's own (`_own_error`).
PG_ERRORS = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, *PG_FAILURES)


def _own_error(exc: BaseException) -> Exception:
    """The data layer's error for asyncpg's `exc`: a constraint, a value, or a failure."""
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityViolation(exc.constraint_name)
    if isinstance(exc, asyncpg.DataError):
        return InvalidValue(type(exc).__name__)
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return WroteOnReplica(str(exc))
    return DatabaseFailure(type(exc).__name__)


class PostgresConnection(Connection):
    __slots__ = ("_custom_sessions",)

    def __init__(
        self,
        driver: Any,
        dialect: Dialect,
        settings: Settings,
        custom_sessions: set[int] | None,
    ) -> None:
        super().__init__(driver, dialect, settings)
        self._custom_sessions = custom_sessions

    async def _plan_as(self, compiled: Compiled) -> None:
        """Puts the session in the plan mode the statement needs, when it is not in it yet: a
        round trip only when a connection goes from one kind of statement to the other (a
        statement planned alike in both modes goes in either)."""
        if compiled.any_plan:
            return
        custom = compiled.custom_plans
        sessions = self._custom_sessions
        # Without a statement cache every statement is planned anyway; inside a transaction a
        # rollback would undo the SET behind our back (the statement keeps the session's mode).
        if sessions is None or self._depth or not (custom or sessions):
            return  # (no session is in the custom mode, and this statement need not be)
        pid = self.driver.get_server_pid()
        if (pid in sessions) == custom:
            return
        mode = "force_custom_plan" if custom else "auto"
        await self.driver.execute(f"SET plan_cache_mode = {mode}")
        if custom:
            sessions.add(pid)
        else:
            sessions.discard(pid)

    async def run(self, compiled: Compiled, args: list[Any]) -> Result:
        try:
            await self._plan_as(compiled)
            if compiled.returns_rows:
                records = await self.driver.fetch(compiled.sql, *args)
                return Result(records, len(records), compiled)
            return Result([], _rowcount(await self.driver.execute(compiled.sql, *args)))
        except PG_ERRORS as exc:
            raise _own_error(exc) from exc

    async def run_many(self, compiled: Compiled, args: list[list[Any]]) -> None:
        try:
            await self._plan_as(compiled)
            await self.driver.executemany(compiled.sql, args)
        except PG_ERRORS as exc:
            raise _own_error(exc) from exc

    async def run_sql(self, sql: str) -> None:
        try:
            await self.driver.execute(sql)
        except PG_FAILURES as exc:
            raise DatabaseFailure(type(exc).__name__) from exc


class SqliteConnection(Connection):
    __slots__ = ()
    # Take the write lock at once, so that concurrent writers queue up instead of failing to
    # upgrade a read lock.
    begin_sql = "BEGIN IMMEDIATE"

    async def run(self, compiled: Compiled, args: list[Any]) -> Result:
        try:
            if compiled.returns_rows:
                records = list(await self.driver.execute_fetchall(compiled.sql, args))
                return Result(records, len(records), compiled)
            cursor = await self.driver.execute(compiled.sql, args)
            count = cursor.rowcount
            await cursor.close()
            return Result([], count)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(None) from exc
        except sqlite3.Error as exc:
            raise DatabaseFailure(f"{type(exc).__name__}: {exc}") from exc

    async def run_many(self, compiled: Compiled, args: list[list[Any]]) -> None:
        try:
            await self.driver.executemany(compiled.sql, args)
        except sqlite3.IntegrityError as exc:
            raise IntegrityViolation(None) from exc
        except sqlite3.Error as exc:
            raise DatabaseFailure(f"{type(exc).__name__}: {exc}") from exc

    async def run_sql(self, sql: str) -> None:
        try:
            await self.driver.execute(sql)
        except sqlite3.Error as exc:
            raise DatabaseFailure(f"{type(exc).__name__}: {exc}") from exc


class Database:
    """The pool of one process, created on first use (so a process starts without the
    database, answering 503 until it is there)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.is_sqlite = settings.is_sqlite
        self.dialect: Dialect = (
            SQLiteDialect_aiosqlite() if self.is_sqlite else PGDialect_asyncpg()  # type: ignore[no-untyped-call]
        )
        self._size = settings.database_pool_size
        self._pg_pool: asyncpg.Pool | None = None
        # Connections in requests' hands, or on their way to one (taken from the pool, or
        # passed from a lease that ended to one that waited): at most the pool's size.
        self._pg_leased = 0
        # Requests waiting for a lease to end, first come first served: each future gets the
        # connection given back, or None (take one from the pool: it went back there).
        self._pg_waiters: deque[asyncio.Future[Any]] = deque()
        self._pg_idle: _IdleStack | None = None
        # The server process ids of the pool's sessions set to plan each statement anew (None:
        # no statement cache, behind a pooler, where sessions are not ours to set).
        self._custom_sessions: set[int] | None = (
            set() if settings.connect_args().get("statement_cache_size") != 0 else None
        )
        self._sqlite_idle: list[aiosqlite.Connection] = []
        self._sqlite_slots = asyncio.Semaphore(self._size) if self.is_sqlite else None
        self._sqlite_in_use = 0  # slots taken (the semaphore does not tell)
        self._opening = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.dialect.name

    @property
    def max_size(self) -> int:
        return self._size

    def connection(self) -> "_Lease":
        """A pooled connection for the `async with` block."""
        return _Lease(self, transaction=False)

    def transaction(self) -> "_Lease":
        """A pooled connection whose block's statements form one transaction."""
        return _Lease(self, transaction=True)

    async def _acquire(self) -> Connection:
        try:
            if self.is_sqlite:
                return SqliteConnection(await self._sqlite_acquire(), self.dialect, self.settings)
            pool = self._pg_pool or await self._open_pg_pool()
            idle = self._pg_idle  # None while the pool closes (then asyncpg refuses)
            driver = await idle.take() if idle is not None else None
            if driver is not None:
                self._pg_leased += 1
            else:
                if self._pg_leased < self._size and not self._pg_waiters:
                    self._pg_leased += 1
                else:
                    driver = await self._passed_on()
                if driver is None:
                    # The pool has one free (or may open one, its connect bounded): no wait.
                    try:
                        driver = await pool.acquire()
                    except BaseException:
                        self._slot_freed()
                        raise
            return PostgresConnection(driver, self.dialect, self.settings, self._custom_sessions)
        except (*PG_FAILURES, TimeoutError) as exc:
            raise DatabaseFailure(type(exc).__name__) from exc
        except sqlite3.Error as exc:
            raise DatabaseFailure(f"{type(exc).__name__}: {exc}") from exc

    async def _release(self, driver: Any, *, clean: bool = False) -> None:
        """Gives a leased connection's `driver` back; `clean`: its lease ended without an
        error (it may go to the next lease)."""
        if self.is_sqlite:
            await self._sqlite_release(driver)
            return
        pool, idle = self._pg_pool, self._pg_idle
        if pool is None:
            self._pg_leased -= 1
            return
        if clean and idle is not None and idle.reusable(driver):
            waiter = self._first_waiter()
            if waiter is not None:
                waiter.set_result(driver)  # the lease passes on
            else:
                idle.keep(driver)
                self._pg_leased -= 1
            return
        try:
            await pool.release(driver)
        finally:  # counted as taken until it is back in the pool
            self._slot_freed()

    def _slot_freed(self) -> None:
        """A lease ended without a connection to pass on: the first request waiting takes
        one from the pool, or, with none waiting, one fewer is leased."""
        waiter = self._first_waiter()
        if waiter is not None:
            waiter.set_result(None)
        else:
            self._pg_leased -= 1

    async def _passed_on(self) -> Any:
        """Waits for a lease to end (ACQUIRE_TIMEOUT_SECONDS at most: TimeoutError), and
        returns its connection, or None: take one from the pool (the lease's count is this
        request's already)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._pg_waiters.append(waiter)
        timer = loop.call_later(ACQUIRE_TIMEOUT_SECONDS, _give_up, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if _passed(waiter):  # just as the request was cancelled: on to the next one
                driver = waiter.result()
                if driver is None:
                    self._slot_freed()
                else:
                    await self._release(driver, clean=True)
            raise
        finally:
            timer.cancel()
            if not _passed(waiter):  # given up (timed out, cancelled): no longer waiting
                with contextlib.suppress(ValueError):  # (closing: taken off already)
                    self._pg_waiters.remove(waiter)

    def _first_waiter(self) -> asyncio.Future[Any] | None:
        waiters = self._pg_waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():  # not given up (timed out, or the request cancelled)
                return waiter
        return None

    async def _open_pg_pool(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pg_pool is None:
                self._pg_pool = await asyncpg.create_pool(
                    self._pg_dsn(),
                    min_size=0,
                    max_size=self._size,
                    reset=_rollback_if_open,
                    init=self._new_session,
                    timeout=ACQUIRE_TIMEOUT_SECONDS,  # each connect, as a wait for one
                    **self.settings.connect_args(),
                )
                self._pg_idle = _IdleStack(self._pg_pool)
        return self._pg_pool

    async def _new_session(self, driver: asyncpg.Connection) -> None:
        """A new session starts in PostgreSQL's default plan mode (its process id may be that
        of a session gone before), and without JIT compilation: it pays off for statements
        that run for seconds, and a listing whose estimate crosses `jit_above_cost` (a branch
        planned but never run, a filter thought rare) spent tens of milliseconds compiling
        to save a fraction of one. Behind a pooler in transaction mode this reaches whichever
        server session ran it: set `jit = off` for the service's role there."""
        if self._custom_sessions is not None:
            self._custom_sessions.discard(driver.get_server_pid())
        await driver.execute("SET jit = off")
        # json and jsonb parsed by the driver as it reads a row, not value by value in Python
        # afterwards; what is written is already JSON text (the statements' bind processors).
        for name in ("json", "jsonb"):
            await driver.set_type_codec(
                name, schema="pg_catalog", encoder=_json_text, decoder=orjson.loads
            )

    def _pg_dsn(self) -> str:
        url = self.settings.sqlalchemy_url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _sqlite_acquire(self) -> aiosqlite.Connection:
        assert self._sqlite_slots is not None
        async with asyncio.timeout(ACQUIRE_TIMEOUT_SECONDS):
            await self._sqlite_slots.acquire()
        self._sqlite_in_use += 1
        try:
            if self._sqlite_idle:
                return self._sqlite_idle.pop()
            return await self._open_sqlite()
        except BaseException:
            self._sqlite_in_use -= 1
            self._sqlite_slots.release()
            raise

    async def _sqlite_release(self, driver: aiosqlite.Connection) -> None:
        assert self._sqlite_slots is not None
        try:
            if driver.in_transaction:
                await driver.rollback()
            self._sqlite_idle.append(driver)
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                await driver.close()
        finally:
            self._sqlite_in_use -= 1
            self._sqlite_slots.release()

    async def _open_sqlite(self) -> aiosqlite.Connection:
        ensure_sqlite_folder(self.settings)
        path = self.settings.sqlalchemy_url.database or ":memory:"
        driver = await aiosqlite.connect(path, isolation_level=None)
        try:
            await driver.create_function(SQLITE_UNICODE_LOWER, 1, unicode_lower, deterministic=True)
            for pragma in SQLITE_PRAGMAS:
                await driver.execute(pragma)
        except BaseException:
            await driver.close()
            raise
        return driver

    async def close(self) -> None:
        while (waiter := self._first_waiter()) is not None:
            waiter.set_exception(DatabaseFailure("the pool is closing"))
        idle, self._pg_idle = self._pg_idle, None  # from now on, given back to the pool
        if idle is not None:
            await idle.close()
        if self._pg_pool is not None:
            pool, self._pg_pool = self._pg_pool, None
            try:
                # asyncpg waits for every connection to be released: one that never is (a
                # peer gone mid-statement) would keep a stopping process for good.
                await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
            except TimeoutError:
                _log.warning(
                    "shutdown: connections still in use after %g s; closed", POOL_CLOSE_SECONDS
                )
                pool.terminate()
        # (SQLite's connections are each a thread the process waits for at exit: closed
        # unbounded, as only that ends the thread.)
        while self._sqlite_idle:
            await self._sqlite_idle.pop().close()

    def pool_stats(self) -> tuple[int, int]:
        """(connections open, connections in use)."""
        if self._pg_pool is not None:
            size = self._pg_pool.get_size()
            kept = len(self._pg_idle) if self._pg_idle is not None else 0
            return size, size - self._pg_pool.get_idle_size() - kept
        if self._sqlite_slots is not None:
            return self._sqlite_in_use + len(self._sqlite_idle), self._sqlite_in_use
        return 0, 0


class _Lease:
    """`async with db.connection() as conn` (or `db.transaction()`): acquire, maybe BEGIN;
    then COMMIT or ROLLBACK, and release."""

    __slots__ = ("_conn", "_db", "_transaction", "_tx")

    def __init__(self, db: Database, *, transaction: bool) -> None:
        self._db = db
        self._transaction = transaction
        self._conn: Connection | None = None
        self._tx: _Transaction | None = None

    async def __aenter__(self) -> Connection:
        conn = self._conn = await self._db._acquire()
        if self._transaction:
            self._tx = conn.transaction()
            try:
                await self._tx.__aenter__()
            except BaseException:
                await self._db._release(conn.driver)
                raise
        return conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None
        clean = False
        try:
            if self._tx is not None:
                await self._tx.__aexit__(kind, exc, tb)
            clean = kind is None
        finally:
            await self._db._release(self._conn.driver, clean=clean)


class _IdleStack:
    """Connections of asyncpg's `pool` given back cleanly, the last one first out (see the
    module's opening comment). Every sweep period, those left unused since the last sweep
    go back to the pool."""

    __slots__ = ("_giving_back", "_leases", "_low", "_pool", "_stack", "_sweeper")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._stack: list[Any] = []
        self._leases = 0
        self._low = 0  # the fewest connections the stack held since the last sweep
        self._giving_back: set[asyncio.Task[None]] = set()
        self._sweeper = asyncio.get_running_loop().call_later(IDLE_SWEEP_SECONDS, self._sweep)

    def __len__(self) -> int:
        return len(self._stack)

    async def take(self) -> Any:
        """The connection given back last, or None: ask the pool."""
        stack = self._stack
        while stack:
            driver = stack.pop()
            if len(stack) < self._low:
                self._low = len(stack)
            try:
                closed = driver.is_closed()
            except asyncpg.InterfaceError:
                continue  # closed while kept: asyncpg has taken it back already
            if not closed:
                return driver
            await self._pool.release(driver)  # asyncpg finishes closing it
        return None

    def reusable(self, driver: Any) -> bool:
        """Whether `driver`, given back cleanly, may go to the next lease (this one or the
        next request waiting); if not, the pool is to have it."""
        self._leases += 1
        if self._leases >= RETURN_EVERY:
            self._leases = 0
            return False
        try:
            return not driver.is_closed() and not driver.is_in_transaction()
        except asyncpg.InterfaceError:  # closed: asyncpg has taken it back (`take` sees the rest)
            return False

    def keep(self, driver: Any) -> None:
        """Keeps a `reusable` driver for the next lease."""
        self._stack.append(driver)

    def _sweep(self) -> None:
        unused = self._stack[: self._low]  # the stack is changed in place: `take` may hold it
        del self._stack[: self._low]
        self._low = len(self._stack)
        if unused:
            task = asyncio.get_running_loop().create_task(self._give_back(unused))
            self._giving_back.add(task)
            task.add_done_callback(self._giving_back.discard)
        self._sweeper = asyncio.get_running_loop().call_later(IDLE_SWEEP_SECONDS, self._sweep)

    async def _give_back(self, drivers: list[Any]) -> None:
        for driver in drivers:
            with contextlib.suppress(*PG_FAILURES):
                await self._pool.release(driver)

    async def close(self) -> None:
        """Everything back to the pool (before it closes)."""
        self._sweeper.cancel()
        unused = self._stack[:]
        self._stack.clear()
        await self._give_back(unused)
        if self._giving_back:
            await asyncio.wait(self._giving_back)


def _give_up(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _passed(waiter: asyncio.Future[Any]) -> bool:
    """Whether a waiting request was passed a lease (a connection, or None: the pool's)."""
    return waiter.done() and not waiter.cancelled() and waiter.exception() is None


async def _rollback_if_open(driver: asyncpg.Connection) -> None:
    """Pool release: only a connection left inside a transaction needs a round trip."""
    if driver.is_in_transaction():
        await driver.execute("ROLLBACK")
