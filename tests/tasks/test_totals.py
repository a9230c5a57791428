"""Totals kept by the writes (`task_counts`, migrations 0018, 0019): `X-Total-Count` of a
listing filtered by completion and by list alone (or not at all; PostgreSQL reads it from the
counts, SQLite counts it), and a list's `open_count` (kept on both), stay equal to what the
listing holds through every kind of write, on both databases and under concurrent writers;
the same total counted from the rows (a filter that keeps every task, which the kept counts do
not serve) agrees; and on PostgreSQL the page reads the counts, not the tasks, for its total.
A tag's total in each state, counted from the tag's entries on PostgreSQL, holds alike.
"""

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.tasks.helpers import create_task
from tests.tasks.listing_helpers import Params, list_page, walk_pages
from tests.tasks.test_sort_indexes import SETTINGS, _index_reads, _reads
from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.kit.deps import held
from todo_api.tables.tasks import task_tags, tasks
from todo_api.tasks import listing, pages, scheduled
from todo_api.tasks.listing import ListQuery, TaskFilters

# Every priority: the same tasks as no filter, but a filter the kept counts do not serve, so
# the listing counts its rows.
EVERY_PRIORITY: Params = [("priority", p) for p in ("none", "low", "medium", "high")]
TAG = "errand"
ENTRIES_BY_STATE = Query(
    select(
        func.count().label("entries"),
        func.count().filter(task_tags.c.is_completed != tasks.c.is_completed).label("out_of_state"),
    ).join_from(task_tags, tasks, tasks.c.id == task_tags.c.task_id)
)


def _shapes(list_ids: list[str]) -> list[Params]:
    """Every listing the kept counts answer, for these lists; and a tag in each state, which
    PostgreSQL counts from the tag's entries alone (migration 0021)."""
    scopes: list[Params] = [[], [("list_id", "inbox")], *[[("list_id", i)] for i in list_ids]]
    done: list[Params] = [[], [("completed", "true")], [("completed", "false")]]
    tagged: list[Params] = [[("tag", TAG), *state] for state in done]
    return [scope + state for scope in scopes for state in done] + tagged


async def _assert_totals_hold(client: httpx.AsyncClient, list_ids: list[str]) -> None:
    """For each shape: every page's X-Total-Count is the number of tasks its pages hold
    (walk_pages), and the rows counted say the same; each list's open_count is its open
    tasks (a list the caller cannot see: no tasks at all)."""
    for params in _shapes(list_ids):
        walked = await walk_pages(client, [*params, ("limit", 200)])
        counted = await list_page(client, [*params, *EVERY_PRIORITY])
        assert counted.headers["x-total-count"] == str(len(walked)), params
    response = await client.get("/api/lists")
    assert response.status_code == 200, response.text
    open_counts = {item["id"]: item["open_count"] for item in response.json()}
    for list_id in list_ids:
        open_tasks = await walk_pages(client, [("list_id", list_id), ("completed", "false")])
        if list_id in open_counts:
            assert open_counts[list_id] == len(open_tasks), list_id
        else:
            assert open_tasks == [], list_id


async def _ok(response: Awaitable[httpx.Response], expected: int = 200) -> dict[str, Any]:
    answered = await response
    assert answered.status_code == expected, answered.text
    body: dict[str, Any] = answered.json() if answered.content else {}
    return body


async def _entries_in_and_out_of_state(app: FastAPI) -> tuple[int, int]:
    """The tag entries, and those not in their task's state (migration 0021; on SQLite only
    this reads them)."""
    async with held(app, Database).connection() as conn:
        row = (await conn.execute(ENTRIES_BY_STATE, {})).rows[0]
    return row["entries"], row["out_of_state"]


async def test_totals_follow_every_kind_of_write(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = (await create_list(alice, "Shared"))["id"]
    own = (await create_list(alice, "Own"))["id"]
    await share(alice, bob, shared)
    lists = [shared, own]
    entries_before, _ = await _entries_in_and_out_of_state(app)

    async def check() -> None:
        for client in (alice, bob):
            await _assert_totals_hold(client, lists)
        entries, out_of_state = await _entries_in_and_out_of_state(app)
        assert entries > entries_before
        assert out_of_state == 0

    # Creates: the inbox, an own list, a shared list by its owner and its member, a subtask;
    # every other one tagged.
    tag = {"tags": [TAG]}
    inbox = [await create_task(alice, title=f"Inbox {n}", **tag) for n in range(3)]
    in_own = [await create_task(alice, title=f"Own {n}", list_id=own) for n in range(2)]
    parent = await create_task(alice, title="Parent", list_id=shared, **tag)
    child = await create_task(bob, title="Child", parent_id=parent["id"], **tag)
    by_bob = [await create_task(bob, title=f"Bob's {n}", list_id=shared, **tag) for n in range(2)]
    await create_task(bob, title="Bob's inbox", **tag)
    await check()

    # Completions: one task; a parent, which completes its subtask; a reopening.
    await _ok(alice.post(f"/api/tasks/{inbox[0]['id']}/complete"))
    await _ok(bob.post(f"/api/tasks/{parent['id']}/complete"))
    await _ok(alice.post(f"/api/tasks/{child['id']}/reopen"))
    await _ok(alice.patch(f"/api/tasks/{in_own[0]['id']}", json={"is_completed": True}))
    await check()

    # Tags and state together: a done task tagged, an open one untagged and completed at once.
    await _ok(alice.patch(f"/api/tasks/{in_own[0]['id']}", json={"tags": [TAG, "later"]}))
    await _ok(alice.patch(f"/api/tasks/{inbox[1]['id']}", json={"tags": [], "is_completed": True}))
    await _ok(alice.patch(f"/api/tasks/{inbox[1]['id']}", json={"tags": [TAG]}))
    await check()

    # Moves: by PATCH, by /move, and by the member out of the shared list into their inbox.
    await _ok(alice.patch(f"/api/tasks/{inbox[0]['id']}", json={"list_id": own}))
    await _ok(alice.post(f"/api/tasks/{in_own[0]['id']}/move", json={"list_id": shared}))
    await _ok(bob.post(f"/api/tasks/{by_bob[0]['id']}/move", json={"list_id": None}))
    await check()

    # Deletes: one task, and a parent with its subtask.
    await _ok(alice.delete(f"/api/tasks/{inbox[1]['id']}"), 204)
    await _ok(alice.delete(f"/api/tasks/{parent['id']}"), 204)
    await check()

    # A bulk of every kind at once; then one that fails as a whole changes nothing.
    operations = [
        *({"op": "create", "data": {"title": f"Bulk {n}", "list_id": shared}} for n in range(3)),
        {"op": "complete", "id": by_bob[1]["id"]},
        {"op": "update", "id": in_own[1]["id"], "data": {"list_id": shared}},
        {"op": "delete", "id": inbox[2]["id"]},
    ]
    await _ok(alice.post("/api/tasks/bulk", json={"operations": operations}))
    failing = [{"op": "delete", "id": by_bob[1]["id"]}, {"op": "delete", "id": str(uuid.uuid4())}]
    response = await bob.post("/api/tasks/bulk", json={"operations": failing})
    assert response.status_code == 404, response.text
    await check()

    # Membership: the member leaves (their totals lose the list), then the owner deletes a list.
    await remove(bob, shared, await user_id(bob))
    await check()
    await _ok(alice.delete(f"/api/lists/{own}"), 204)
    await check()


async def test_totals_hold_under_concurrent_writers(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    """The owner and a member write into one list at once, each creating, completing, moving
    and deleting, in bulks and one by one: no write fails and the totals are the tasks that
    are left. A bulk completing tasks in one order while single reopens take them in the
    other would deadlock if each write held its list's count from its first change on."""
    shared = (await create_list(alice, "Together"))["id"]
    await share(alice, bob, shared)

    async def writer(client: httpx.AsyncClient, name: str) -> None:
        for n in range(4):
            task = await create_task(client, title=f"{name} {n}", list_id=shared)
            await _ok(client.post(f"/api/tasks/{task['id']}/complete"))
            if n % 2:
                await _ok(client.post(f"/api/tasks/{task['id']}/move", json={"list_id": None}))
            else:
                await _ok(client.delete(f"/api/tasks/{task['id']}"), 204)

    await asyncio.gather(writer(alice, "Alice"), writer(bob, "Bob"))
    for round in range(3):
        creates = [
            {"op": "create", "data": {"title": f"Seed {round}.{n}", "list_id": shared}}
            for n in range(8)
        ]
        made = await _ok(alice.post("/api/tasks/bulk", json={"operations": creates}))
        seeded = [result["id"] for result in made["results"]]
        # The bulk completes the first task, then renames the others in order; the member
        # completes the others one by one, last first.
        bulk = [{"op": "complete", "id": seeded[0]}] + [
            {"op": "update", "id": task_id, "data": {"title": f"Renamed {round}"}}
            for task_id in seeded[1:]
        ]
        await asyncio.gather(
            _ok(alice.post("/api/tasks/bulk", json={"operations": bulk})),
            *(_ok(bob.post(f"/api/tasks/{task_id}/complete")) for task_id in seeded[:0:-1]),
        )
    for client in (alice, bob):
        await _assert_totals_hold(client, [shared])


async def test_a_write_does_not_wait_for_the_count_another_holds(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient
) -> None:
    """While another transaction holds the row of Alice's inbox count (as a write to her inbox
    does while it commits), her writes to the inbox neither wait nor fail, and are counted:
    each adds to a row the others do not hold (migration 0019). With one row per scope they
    would wait for the holder, here until the test gives up."""
    if settings.is_sqlite:
        pytest.skip("SQLite has one writer at a time")
    alice_id = uuid.UUID(await user_id(alice))
    await create_task(alice, title="Before")

    async def writes() -> None:
        made = [await create_task(alice, title=f"While {n}") for n in range(3)]
        await _ok(alice.post(f"/api/tasks/{made[0]['id']}/complete"))
        await _ok(alice.delete(f"/api/tasks/{made[1]['id']}"), 204)
        await _assert_totals_hold(alice, [])

    async with held(app, Database).connection() as conn, conn.driver.transaction():
        await conn.driver.execute(
            "SELECT 1 FROM task_counts WHERE scope_id = $1 FOR UPDATE", alice_id
        )
        await asyncio.wait_for(writes(), timeout=60)
    await _assert_totals_hold(alice, [])
    assert (await list_page(alice, [("completed", "false")])).headers["x-total-count"] == "2"


async def test_housekeeping_folds_the_rows_of_counts_and_every_total_holds(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient
) -> None:
    """Writes that found every row of Alice's inbox count held added rows of their own;
    housekeeping folds them back into one, passing over a row a write holds meanwhile (folded
    on a later turn), and no total changes."""
    if settings.is_sqlite:
        pytest.skip("SQLite keeps one row per scope")
    db = held(app, Database)
    alice_id = uuid.UUID(await user_id(alice))
    before = await create_task(alice, title="Before")
    hold = "SELECT slot FROM task_counts WHERE scope_id = $1 ORDER BY slot LIMIT $2 FOR UPDATE"
    async with db.connection() as conn, conn.driver.transaction():
        for n in range(3):  # every row held: the write adds one
            await conn.driver.execute(hold, alice_id, 100)
            await create_task(alice, title=f"While {n}")
    await _ok(alice.post(f"/api/tasks/{before['id']}/complete"))

    async def slots() -> int:
        async with db.connection() as conn:
            query = "SELECT count(*) FROM task_counts WHERE scope_id = $1"
            count: int = await conn.driver.fetchval(query, alice_id)
            return count

    assert await slots() == 4
    await _assert_totals_hold(alice, [])
    async with db.connection() as conn, conn.driver.transaction():
        await conn.driver.execute(hold, alice_id, 1)  # the first row, held by a write
        assert await asyncio.wait_for(scheduled.fold_counts(db), 30) >= 2  # other scopes too
    assert await slots() == 2
    await _assert_totals_hold(alice, [])
    assert await scheduled.fold_counts(db) >= 1
    assert await slots() == 1
    await _assert_totals_hold(alice, [])
    await scheduled.fold_counts(db)
    assert await slots() == 1
    await create_task(alice, title="After")
    await _assert_totals_hold(alice, [])
    page = await list_page(alice, [("completed", "false")])
    assert page.headers["x-total-count"] == "4"


async def test_a_kept_total_reads_the_counts_and_no_task_beyond_the_page(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    shared = (await create_list(alice, "Read"))["id"]
    await share(alice, bob, shared)
    member = uuid.UUID(await user_id(bob))
    kept = [
        TaskFilters(),
        TaskFilters(completed=False),
        TaskFilters(list_id=uuid.UUID(shared), completed=True),
        TaskFilters(inbox=True),
    ]
    async with held(app, Database).connection() as conn:
        driver = conn.driver
        for setting in SETTINGS:
            await driver.execute(f"SET {setting} = off")
        try:
            for filters in kept:
                query = ListQuery(filters=filters)
                shape = listing.shape(query, "postgresql", None)
                assert listing.counts_kept(shape), filters
                compiled = pages.page_query(shape).compiled(conn.dialect)
                params = listing.parameters(query, member, datetime.now(UTC), None)
                explained = await driver.fetchval(
                    f"EXPLAIN (FORMAT JSON) {compiled.sql}", *compiled.arguments(params)
                )
                plan = explained[0]["Plan"]
                every_read = _index_reads(plan)
                assert any(table == "task_counts" for table, _, _ in every_read), filters
                page_reads = [read for read in _reads(plan) if read[2] != "pk_tasks"]
                tasks_reads = [
                    read for read in every_read if read[0] == "tasks" and read[2] != "pk_tasks"
                ]
                assert len(tasks_reads) == len(page_reads), (filters, every_read)
        finally:
            for setting in SETTINGS:
                await driver.execute(f"RESET {setting}")
