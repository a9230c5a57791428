"""The pool of connections: a request waits for one only while every one is taken, and that
wait is bounded (503 DATABASE_ERROR from a DatabaseFailure); each comes back when released."""

import asyncio
from contextlib import AsyncExitStack

import asyncpg  # type: ignore[import-untyped]
import pytest

import todo_api.db.database as pool_module
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.db.database import DatabaseFailure

SIZE = 3


async def test_a_full_pool_waits_bounded_and_takes_each_connection_back(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(settings.model_copy(update={"database_pool_size": SIZE}))
    try:
        for _ in range(2):  # twice: every connection came back after the first round
            async with AsyncExitStack() as taken:
                for _ in range(SIZE):  # taken at once while the pool has room
                    async with asyncio.timeout(5):
                        conn = await taken.enter_async_context(db.connection())
                    await conn.run_sql("SELECT 1")
                with monkeypatch.context() as patched:
                    patched.setattr(pool_module, "ACQUIRE_TIMEOUT_SECONDS", 0.2)
                    with pytest.raises(DatabaseFailure):  # not the outer timeout's error
                        async with asyncio.timeout(5), db.connection():
                            pass
            assert db.pool_stats()[1] == 0  # none in use
    finally:
        await db.close()


async def test_a_connection_closed_while_idle_is_not_leased_again(settings: Settings) -> None:
    """A connection given back is kept for the next lease (todo_api.db.database); if the
    server ends it meanwhile, the next lease gets a working one."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's pooled connections")
    db = Database(settings)
    try:
        async with db.connection() as conn:
            driver = conn.driver
            await conn.run_sql("SELECT 1")
        admin = await asyncpg.connect(db._pg_dsn())
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", driver.get_server_pid())
        finally:
            await admin.close()
        async with asyncio.timeout(10):
            while not _closed(driver):  # noqa: ASYNC110 (asyncpg offers no event for it)
                await asyncio.sleep(0.01)
        async with db.connection() as conn:
            await conn.run_sql("SELECT 1")
            assert conn.driver is not driver
        assert db.pool_stats()[1] == 0
    finally:
        await db.close()


def _closed(driver: object) -> bool:
    try:
        return bool(driver.is_closed())  # type: ignore[attr-defined]
    except asyncpg.InterfaceError:  # asyncpg took it back when it closed
        return True


async def test_a_request_waiting_for_a_connection_gets_the_next_one_given_back(
    settings: Settings,
) -> None:
    """A connection given back while a request waits for one goes to that request (not to the
    idle stack, where the waiting request would not look)."""
    db = Database(settings.model_copy(update={"database_pool_size": SIZE}))
    try:
        async with AsyncExitStack() as taken:
            for _ in range(SIZE):
                await taken.enter_async_context(db.connection())

            async def wait_for_one() -> None:
                async with db.connection() as conn:
                    await conn.run_sql("SELECT 1")

            waiting = asyncio.create_task(wait_for_one())
            await asyncio.sleep(0.1)  # it is waiting now
            assert not waiting.done()
            await taken.aclose()  # every connection given back
            await waiting  # served, not refused after ACQUIRE_TIMEOUT_SECONDS
        assert db.pool_stats()[1] == 0
    finally:
        await db.close()


async def test_connections_left_unused_go_back_to_asyncpgs_pool(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What stays on the idle stack a whole sweep period goes back to asyncpg's pool, which
    closes connections idle past its own inactivity period."""
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's pooled connections")
    monkeypatch.setattr(pool_module, "IDLE_SWEEP_SECONDS", 0.05)
    db = Database(settings.model_copy(update={"database_pool_size": SIZE}))
    try:
        async with AsyncExitStack() as taken:
            for _ in range(2):
                await taken.enter_async_context(db.connection())
        pool = db._pg_pool
        assert pool is not None
        async with asyncio.timeout(10):
            while pool.get_idle_size() < 2:  # noqa: ASYNC110 (asyncpg offers no event for it)
                await asyncio.sleep(0.02)
        assert db.pool_stats() == (2, 0)
        async with db.connection() as conn:  # taken from the pool again
            await conn.run_sql("SELECT 1")
    finally:
        await db.close()


async def test_requests_waiting_for_a_connection_are_served_in_turn_and_none_is_lost(
    settings: Settings,
) -> None:
    """While every connection is taken, requests wait in turn: each connection given back goes
    to the first one waiting, whether the lease ended cleanly, in an error, or inside a
    transaction; a request cancelled while waiting takes none; the pool never opens more
    than its size, and every connection is back at the end."""
    db = Database(settings.model_copy(update={"database_pool_size": SIZE}))
    served: list[int] = []

    async def wait_for_one(number: int) -> None:
        async with db.connection() as conn:
            served.append(number)
            await conn.run_sql("SELECT 1")

    try:
        async with AsyncExitStack() as taken:
            clean = await taken.enter_async_context(db.connection())
            failing = db.connection()
            await failing.__aenter__()
            in_transaction = db.transaction()
            await in_transaction.__aenter__()
            waiting = [asyncio.create_task(wait_for_one(n)) for n in range(6)]
            cancelled = asyncio.create_task(wait_for_one(99))
            await asyncio.sleep(0.1)  # every one of them waits now
            assert served == []
            cancelled.cancel()
            await in_transaction.__aexit__(None, None, None)  # committed, then given back
            await failing.__aexit__(RuntimeError, RuntimeError("failed"), None)
            await clean.run_sql("SELECT 1")
            await taken.aclose()
            async with asyncio.timeout(10):
                await asyncio.gather(*waiting)
            assert served == list(range(6))  # in the order they came
            assert cancelled.cancelled()
        size, in_use = db.pool_stats()
        assert size <= SIZE
        assert in_use == 0
        async with AsyncExitStack() as again:  # and all of them can be taken again
            for _ in range(SIZE):
                async with asyncio.timeout(5):
                    await again.enter_async_context(db.connection())
    finally:
        async with asyncio.timeout(10):  # asyncpg's close waits for a connection gone astray
            await db.close()


async def test_a_request_cancelled_as_it_is_passed_a_connection_passes_it_on(
    settings: Settings,
) -> None:
    """The connection given back to a request that is cancelled in the same turn goes to the
    next one waiting, not astray."""
    db = Database(settings.model_copy(update={"database_pool_size": 1}))
    try:
        holder = db.connection()
        await holder.__aenter__()
        first = asyncio.create_task(db._acquire())
        second = asyncio.create_task(db._acquire())
        await asyncio.sleep(0.05)
        await holder.__aexit__(None, None, None)  # passed to `first` ...
        first.cancel()  # ... which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await first
        async with asyncio.timeout(5):
            conn = await second
        await conn.run_sql("SELECT 1")
        await db._release(conn.driver, clean=True)
        assert db.pool_stats()[1] == 0
    finally:
        async with asyncio.timeout(10):  # asyncpg's close waits for a connection gone astray
            await db.close()
