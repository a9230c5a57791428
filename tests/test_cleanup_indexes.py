"""The housekeeping jobs' deletions read an index kept for them: the notification emails done
with (by age), the OAuth clients a week old and the grants that still name a client. Each job
is run for real and every DELETE it sends is asked of PostgreSQL's planner with whole reads
priced out (as in tests/tasks/test_feed_indexes.py), so that a dropped index, or a statement
that no longer fits it, fails here."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from tests.tasks.test_feed_indexes import _plan
from tests.tasks.test_sort_indexes import _index_reads
from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.db.database import Connection
from todo_api.db.statements import compile_for
from todo_api.kit.deps import held
from todo_api.notifications import scheduled as notification_jobs
from todo_api.oauth import scheduled as oauth_jobs
from todo_api.oauth import store as oauth_store


@contextmanager
def deletions() -> Iterator[list[tuple[str, list[Any]]]]:
    """The SQL and arguments of each DELETE the app runs meanwhile."""
    seen: list[tuple[str, list[Any]]] = []
    original = Connection.execute

    async def recorded(self: Connection, statement: Any, params: Any = None) -> Any:
        if isinstance(statement, Query):
            compiled = statement.compiled(self.dialect)
        else:
            compiled = compile_for(statement, self.dialect, prebuilt=False)
        if compiled.sql.lstrip().upper().startswith("DELETE"):
            seen.append((compiled.sql, compiled.arguments(params or {})))
        return await original(self, statement, params)

    Connection.execute = recorded  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Connection.execute = original  # type: ignore[method-assign]


async def _indexes_read(app: FastAPI, table: str, run: list[tuple[str, list[Any]]]) -> set[str]:
    """The indexes of `table` that the job's DELETE of `table` reads."""
    deleting = f"DELETE FROM {table} "  # noqa: S608 (a name this module gives)
    [(sql, arguments)] = [(sql, args) for sql, args in run if deleting in sql]
    async with held(app, Database).connection() as conn:
        await conn.driver.execute(f"ANALYZE {table}")
    plan = await _plan(app, sql, arguments)
    return {index for read, _, index in _index_reads(plan) if read == table}


async def _tables_read(app: FastAPI, run: list[tuple[str, list[Any]]], sql_part: str) -> set[str]:
    [(sql, arguments)] = [(sql, args) for sql, args in run if sql_part in sql]
    plan = await _plan(app, sql, arguments)
    return {f"{read}.{index}" for read, _, index in _index_reads(plan)}


async def test_the_notification_emails_pruned_are_found_by_their_age(
    app: FastAPI, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    with deletions() as run:
        await notification_jobs.housekeeping(held(app, Database), settings)
    read = await _indexes_read(app, "notification_emails", run)
    assert read == {"ix_notification_emails_created_at"}


async def test_the_oauth_clients_kept_are_found_by_their_grants(
    app: FastAPI, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    async with held(app, Database).connection() as conn:  # clients registered lately, kept
        for _ in range(200):
            await oauth_store.save_client(conn, f"client-{uuid.uuid4()}", None, {})
    with deletions() as run:
        await oauth_jobs.housekeeping(held(app, Database), settings)
    read = await _tables_read(app, run, "DELETE FROM oauth_clients ")
    assert "oauth_grants.ix_oauth_grants_client_id" in read
    # The clients a week old, found by their age.
    assert await _indexes_read(app, "oauth_clients", run) == {"ix_oauth_clients_created_at"}
    assert await _indexes_read(app, "oauth_grants", run) == {"ix_oauth_grants_expires_at"}
