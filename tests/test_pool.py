"""The pool of connections: a request waits for one only while every one is taken, and that
wait is bounded (503 DATABASE_ERROR from a DatabaseFailure); each comes back when released."""

import asyncio
from contextlib import AsyncExitStack

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
