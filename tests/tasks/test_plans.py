"""How PostgreSQL plans the hot routes' statements: once, then reused; a filtered list is
planned for each call's values, but for one day's tasks (one plan serves every day).

Read from `pg_prepared_statements` of the app's only pooled session, after the requests ran
on it (PostgreSQL counts, per prepared statement, the generic and the custom plans it made).
"""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support import ADMIN_URL, app_for, client_for, make_settings, token_for
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.migrations import upgrade_to_head

CALLS = 8  # more than the 5 custom plans PostgreSQL makes before it may reuse a generic one


async def _plans(app: Any) -> list[dict[str, Any]]:
    async with held(app, Database).connection() as conn:
        rows = await conn.driver.fetch(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        )
    return [dict(row) for row in rows]


def _one(
    plans: list[dict[str, Any]], *fragments: str, without: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The one prepared statement with all these fragments of SQL (and none of `without`)."""
    found = [
        p
        for p in plans
        if all(f in p["statement"] for f in fragments)
        and not any(w in p["statement"] for w in without)
    ]
    assert len(found) == 1, [p["statement"] for p in found]
    return found[0]


@pytest.fixture
async def own_database(postgres_url: str, tmp_path: Path) -> AsyncIterator[Settings]:
    """A PostgreSQL database of the test's own: whether PostgreSQL keeps a generic plan
    depends on its estimates, which other tests' rows in a shared database would skew (a
    user with many tasks, say)."""
    name = f"todo_plans_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    settings = make_settings(url, tmp_path, database_pool_size=1)
    await upgrade_to_head(settings)
    yield settings
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_hot_statements_reuse_their_plan_and_filtered_lists_are_planned_per_call(
    own_database: Settings,
) -> None:
    settings = own_database
    async with app_for(settings) as app, client_for(app, token_for(settings)) as client:
        ids = []
        for n in range(CALLS):
            created = await client.post("/api/tasks", json={"title": f"Task {n}"})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        for task_id in ids:
            assert (await client.get(f"/api/tasks/{task_id}")).status_code == 200
            patched = await client.patch(f"/api/tasks/{task_id}", json={"priority": "high"})
            assert patched.status_code == 200, patched.text
            assert (await client.get("/api/tasks")).status_code == 200
            # The filtered list between the others: the session goes back and forth.
            assert (await client.get("/api/tasks?completed=false")).status_code == 200
            # A day is read from the due-date index whoever asks: planned once.
            assert (await client.get("/api/tasks?due_on=2030-01-01")).status_code == 200
            completed = await client.post(f"/api/tasks/{task_id}/complete")
            assert completed.status_code == 200, completed.text
        plans = await _plans(app)

    listed = _one(
        plans,
        "ORDER BY tasks.created_at DESC",
        without=("tasks.is_completed = $", "tasks.due_date = $"),
    )
    filtered = _one(plans, "ORDER BY tasks.created_at DESC", "tasks.is_completed = $")
    got = _one(
        plans,
        "SELECT tasks.id",
        "WHERE tasks.id = $",
        "AND (tasks.user_id = $",
        without=("FOR UPDATE",),
    )
    inserted = _one(plans, "INSERT INTO tasks")
    a_day = _one(plans, "ORDER BY tasks.created_at DESC", "tasks.due_date = $")
    assert filtered["generic_plans"] == 0, filtered
    assert filtered["custom_plans"] >= CALLS, filtered
    hot = [p for p in plans if p["generic_plans"] + p["custom_plans"] >= CALLS and p != filtered]
    for statement in (listed, got, inserted, a_day):
        assert statement in hot, statement
    assert sum(p["statement"].startswith("UPDATE tasks") for p in hot) == 2  # PATCH, complete
    for statement in hot:
        assert statement["generic_plans"] >= CALLS - 5, statement
