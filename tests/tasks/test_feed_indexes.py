"""The change feed's statements, a list's open count (its row of `task_counts`) and the tag
trigger's delete each read the index kept for them (bench/README.md, "Indexes and triggers on
`tasks`"): asked of PostgreSQL's planner with whole reads priced out, as in test_sort_indexes,
so that a dropped index, or a statement that no longer fits it, fails here.
"""

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.tasks.helpers import create_task
from tests.tasks.test_sort_indexes import _index_reads
from todo_api.config import Settings
from todo_api.db import Database, Query
from todo_api.kit import changes
from todo_api.kit.deps import held
from todo_api.lists import service as lists

WHOLE_READS = ("enable_seqscan", "enable_bitmapscan", "enable_sort")


async def _plan(app: FastAPI, statement: str, arguments: list[Any]) -> dict[str, Any]:
    async with held(app, Database).connection() as conn:
        driver = conn.driver
        for setting in WHOLE_READS:
            await driver.execute(f"SET {setting} = off")
        try:
            explained = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *arguments)
        finally:
            for setting in WHOLE_READS:
                await driver.execute(f"RESET {setting}")
    plan: dict[str, Any] = explained[0]["Plan"]
    return plan


async def _indexes(app: FastAPI, query: Query, params: dict[str, Any]) -> set[tuple[str, str]]:
    """(table, index) of every index read in the statement's plan for `params`."""
    async with held(app, Database).connection() as conn:
        compiled = query.compiled(conn.dialect)
    plan = await _plan(app, compiled.sql, compiled.arguments(params))
    return {(table, index) for table, _, index in _index_reads(plan)}


async def _member(app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> uuid.UUID:
    """Bob, a member of a list of Alice's with 300 tasks, 100 more that left it for her inbox
    (so that the list has departures of its own, as a list in use has); the tables vacuumed
    and analysed, so that the planner weighs indexes as on a real table rather than tying on
    a page or two."""
    listed = await create_list(alice, f"Shared {uuid.uuid4().hex[:8]}")
    await share(alice, bob, listed["id"])
    for batch in range(4):
        task = {"list_id": listed["id"]}
        operations = [
            {"op": "create", "data": {**task, "title": f"Task {batch}.{n}"}} for n in range(100)
        ]
        response = await alice.post("/api/tasks/bulk", json={"operations": operations})
        assert response.status_code == 200, response.text
    leaving = [
        {"op": "update", "id": result["id"], "data": {"list_id": None}}
        for result in response.json()["results"]
    ]
    response = await alice.post("/api/tasks/bulk", json={"operations": leaving})
    assert response.status_code == 200, response.text
    async with held(app, Database).connection() as conn:
        for table in ("tasks", "task_tombstones", "task_departures", "list_members"):
            await conn.driver.execute(f"VACUUM ANALYZE {table}")
    return uuid.UUID(await user_id(bob))


async def _feed_params(app: FastAPI, member: uuid.UUID) -> dict[str, Any]:
    """A read of the member's feed from where it stands now: the next change to come."""
    async with held(app, Database).connection() as conn:
        start = await changes.current_position(conn)
    return {
        "user_id": member,
        "bound": changes.END,
        "txid": start.txid,
        "seq": start.seq,
        "sub_txid": start.sub_txid,
        "sub_seq": start.sub_seq,
        "limit": 101,
    }


async def test_the_change_feed_reads_each_source_from_its_change_index(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member(app, alice, bob)
    params = await _feed_params(app, member)
    # The member's own tasks, and each shared list's tasks, in change order.
    changed = await _indexes(app, changes.CHANGES, params)
    assert ("tasks", "ix_tasks_user_id_change") in changed, changed
    assert ("tasks", "ix_tasks_list_id_change") in changed, changed
    # Their own deletions, a shared list's deletions and the tasks that left a list.
    deleted = await _indexes(app, changes.DELETED, params)
    assert ("task_tombstones", "ix_task_tombstones_user_id_change") in deleted, deleted
    assert ("task_tombstones", "ix_task_tombstones_list_id_change") in deleted, deleted
    assert ("task_departures", "ix_task_departures_list_id_change") in deleted, deleted
    # Files, and files deleted: the member's own and each shared list's.
    files = await _indexes(app, changes.ATTACHMENTS, params)
    assert ("attachments", "ix_attachments_user_id_change") in files, files
    assert ("attachments", "ix_attachments_list_id_change") in files, files
    stones = await _indexes(app, changes.DELETED_ATTACHMENTS, params)
    for column in ("user_id", "list_id"):
        index = f"ix_attachment_tombstones_{column}_change"
        assert ("attachment_tombstones", index) in stones, stones


async def test_a_lists_open_count_is_its_row_of_the_counts(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    member = await _member(app, alice, bob)
    read = await _indexes(app, lists.ALL, {"user_id": member})
    assert ("task_counts", "pk_task_counts") in read, read
    assert not [index for table, index in read if table == "tasks"], read


async def test_the_tag_trigger_finds_a_tasks_entries_by_its_index(
    settings: Settings, app: FastAPI, alice: httpx.AsyncClient
) -> None:
    if settings.is_sqlite:
        pytest.skip("plans are PostgreSQL's")
    task = await create_task(alice, title="Tagged", tags=["trigger", "home"])
    async with held(app, Database).connection() as conn:
        source = await conn.driver.fetchval(
            "SELECT prosrc FROM pg_proc WHERE proname = 'tasks_index_tags'"
        )
    # The trigger's own statements (a change of tags deletes the entries, a change of state
    # alone updates them: 0021), with the task's id and state as parameters.
    pattern = r"(?:DELETE FROM|UPDATE) task_tags (?:SET is_completed = NEW\.is_completed )?"
    statements = set(re.findall(pattern + r"WHERE task_id = NEW\.id", source))
    assert len(statements) == 2, source
    for found in statements:
        statement = found.replace("NEW.id", "$1").replace("NEW.is_completed", "true")
        plan = await _plan(app, statement, [uuid.UUID(task["id"])])
        assert ("task_tags", "ModifyTable", "ix_task_tags_task_id") in _index_reads(plan), plan
