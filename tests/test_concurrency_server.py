"""Concurrency against a real `todo-api serve` process on PostgreSQL: requests that truly race
over the network, and change-feed reads while other transactions commit out of order.

Every request goes to 127.0.0.1; every wait is bounded.
"""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers_server import Server, clean_env, running_server
from tests.support import TEST_SECRET, make_settings, token_for
from tests.tasks.feed_helpers import read_feed, sync_token_body
from tests.tasks.listing_helpers import all_tasks

HTTP_TIMEOUT = 30.0
FEED_DEADLINE = 10.0
RACERS = 20


@pytest.fixture(scope="module")
def server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("concurrency-server")
    env = clean_env(DATABASE_URL=postgres_url, JWT_SECRET=TEST_SECRET, LOG_LEVEL="WARNING")
    with running_server(cwd, env, cwd / "server.log") as server:
        yield server


@pytest.fixture
async def client(
    server: Server, postgres_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the server, signed in as a brand-new user."""
    token = token_for(make_settings(postgres_url, tmp_path))
    async with httpx.AsyncClient(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
        limits=httpx.Limits(max_connections=RACERS * 2),
    ) as client:
        yield client


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/tasks", json={"title": "A task", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


# --- Racing requests ------------------------------------------------------------------------------


async def test_concurrent_conditional_updates_with_one_etag_let_exactly_one_through(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/api/tasks", json={"title": "Contended"})
    task_id, etag = created.json()["id"], created.headers["etag"]
    titles = [f"Writer {n}" for n in range(RACERS)]

    responses = await asyncio.gather(
        *(
            client.patch(f"/api/tasks/{task_id}", json={"title": title}, headers={"If-Match": etag})
            for title in titles
        )
    )

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, [r.text for r in responses]
    assert statuses.count(412) == RACERS - 1
    for response in responses:
        if response.status_code == 412:
            assert response.json()["code"] == "PRECONDITION_FAILED"
    winner = responses[statuses.index(200)]
    final = await client.get(f"/api/tasks/{task_id}")
    assert final.json() == winner.json()
    assert final.json()["title"] == titles[statuses.index(200)]
    assert final.headers["etag"] == winner.headers["etag"] != etag


async def test_concurrent_conditional_completions_let_exactly_one_through(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/api/tasks", json={"title": "Contended"})
    task_id, etag = created.json()["id"], created.headers["etag"]

    responses = await asyncio.gather(
        *(
            client.post(f"/api/tasks/{task_id}/complete", headers={"If-Match": etag})
            for _ in range(RACERS)
        )
    )

    assert sorted(r.status_code for r in responses) == [200] + [412] * (RACERS - 1)


async def test_concurrent_creates_with_one_idempotency_key_create_one_task(
    client: httpx.AsyncClient,
) -> None:
    key = f"race-{uuid.uuid4()}"

    responses = await asyncio.gather(
        *(
            client.post("/api/tasks", json={"title": "Once"}, headers={"Idempotency-Key": key})
            for _ in range(RACERS)
        )
    )

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum(r.headers.get("idempotent-replayed") != "true" for r in created) <= 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["code"] == "CONFLICT"
        assert "retry-after" in conflict.headers
    tasks = await all_tasks(client)
    assert len(tasks) == 1
    retry = await client.post(
        "/api/tasks", json={"title": "Once"}, headers={"Idempotency-Key": key}
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == tasks[0]["id"]


async def test_concurrent_completions_of_a_recurring_task_each_complete_one_occurrence(
    client: httpx.AsyncClient,
) -> None:
    task = await create(client, due_at="2026-03-02T09:00:00Z", recurrence="FREQ=DAILY")

    responses = await asyncio.gather(
        *(client.post(f"/api/tasks/{task['id']}/complete") for _ in range(RACERS))
    )

    assert [r.status_code for r in responses] == [200] * RACERS
    [one] = await all_tasks(client)  # one task, moved on once per completion
    assert one["id"] == task["id"]
    done = (await client.get(f"/api/tasks/{task['id']}/completions")).json()
    assert len({c["occurrence"] for c in done}) == len(done) == RACERS


async def test_a_bulk_whose_fiftieth_operation_fails_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    tasks = [await create(client, title=f"Task {n}") for n in range(10)]
    before = await all_tasks(client)
    token = (await read_feed(client))["next"]
    operations: list[dict[str, Any]] = []
    for n in range(49):
        task_id = tasks[n % 10]["id"]
        operations.append(
            [
                {"op": "create", "data": {"title": f"Bulk {n}"}},
                {"op": "update", "id": task_id, "data": {"title": f"Changed {n}"}},
                {"op": "complete", "id": task_id},
                {"op": "reopen", "id": task_id},
            ][n % 4]
        )
    operations.append({"op": "delete", "id": str(uuid.uuid4())})
    operations.append({"op": "delete", "id": tasks[0]["id"]})

    response = await client.post("/api/tasks/bulk", json={"operations": operations})

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["details"][0]["field"] == "operations.49"
    assert await all_tasks(client) == before
    after = await read_feed(client, token)
    # The feed may hand a task made before the token again (it holds its position back while
    # another transaction on the database server is open): such a task is as it was before.
    assert [task for task in after["changes"] if task not in before] == []
    assert after["deleted"] == []


# --- The change feed and transactions that commit out of order ------------------------------------


async def stamp(conn: asyncpg.Connection, task_id: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT change_txid, change_seq FROM tasks WHERE id = $1", uuid.UUID(task_id)
    )
    assert row is not None
    return int(row["change_txid"]), int(row["change_seq"])


async def retitle(conn: asyncpg.Connection, task_id: str, title: str) -> None:
    """What the service's own UPDATE does to a task (the trigger stamps its feed position)."""
    await conn.execute(
        "UPDATE tasks SET title = $1, version = version + 1, updated_at = now() WHERE id = $2",
        title,
        uuid.UUID(task_id),
    )


def position(token: str) -> tuple[int, int]:
    txid, seq, _issued_at = sync_token_body(token)
    return int(txid), int(seq)


async def test_a_change_committed_late_by_a_slower_transaction_is_not_skipped(
    client: httpx.AsyncClient, postgres_url: str
) -> None:
    slow_task, fast_task = await create(client, title="Slow"), await create(client, title="Fast")
    # Waits out transactions elsewhere on the server, which hold the feed back meanwhile.
    first = await read_feed(client, wait_for=[slow_task["id"], fast_task["id"]])
    assert {t["id"] for t in first["changes"]} == {slow_task["id"], fast_task["id"]}

    slow = await asyncpg.connect(postgres_url, timeout=10)
    fast = await asyncpg.connect(postgres_url, timeout=10)
    slow_tx = slow.transaction()
    try:
        await slow_tx.start()
        await retitle(slow, slow_task["id"], "Slow, committed late")
        slow_stamp = await stamp(slow, slow_task["id"])
        async with fast.transaction():
            await retitle(fast, fast_task["id"], "Fast, committed first")
            fast_stamp = await stamp(fast, fast_task["id"])
        # The scenario: the slower transaction took its place in the feed first.
        assert slow_stamp < fast_stamp

        during = await read_feed(client, first["next"])

        # The fast change may only come once nothing before it can still commit.
        assert fast_task["id"] not in {t["id"] for t in during["changes"]}
        assert position(during["next"]) < slow_stamp
        await slow_tx.commit()
    finally:
        if slow.is_in_transaction():
            await slow_tx.rollback()
        await slow.close()
        await fast.close()

    seen: dict[str, str] = {}
    token = during["next"]
    deadline = asyncio.get_running_loop().time() + FEED_DEADLINE
    while len(seen) < 2 and asyncio.get_running_loop().time() < deadline:
        after = await read_feed(client, token)
        seen.update({t["id"]: t["title"] for t in after["changes"]})
        token = after["next"]
        if len(seen) < 2:
            await asyncio.sleep(0.05)
    assert seen == {
        slow_task["id"]: "Slow, committed late",
        fast_task["id"]: "Fast, committed first",
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_polling_reader_sees_every_final_state_while_writers_commit_in_random_order(
    client: httpx.AsyncClient, postgres_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    tasks = [await create(client, title=f"Task {n}") for n in range(24)]
    task_ids = [t["id"] for t in tasks]
    user_id = uuid.UUID(tasks[0]["user_id"])
    first = await read_feed(client, wait_for=task_ids)
    view: dict[str, str] = {t["id"]: t["title"] for t in first["changes"]}
    assert set(view) == set(task_ids)
    writers_done = asyncio.Event()

    async def sql_writer(n: int) -> None:
        conn = await asyncpg.connect(postgres_url, timeout=10)
        try:
            for round_ in range(6):
                await asyncio.sleep(rng.uniform(0, 0.01))
                async with conn.transaction():
                    # In id order, as two transactions of the service would take them: this
                    # test is about commit order, not about writers deadlocking each other.
                    for task_id in sorted(rng.sample(task_ids, rng.choice([1, 1, 2]))):
                        if rng.random() < 0.08:
                            await conn.execute(
                                "DELETE FROM tasks WHERE id = $1", uuid.UUID(task_id)
                            )
                        else:
                            await retitle(conn, task_id, f"sql writer {n} round {round_}")
                        await asyncio.sleep(rng.uniform(0, 0.03))  # commit after a while
        finally:
            await conn.close()

    async def http_writer() -> None:
        for round_ in range(10):
            if rng.random() < 0.3:
                await client.post("/api/tasks", json={"title": f"http created {round_}"})
            else:
                await client.patch(
                    f"/api/tasks/{rng.choice(task_ids)}", json={"title": f"http round {round_}"}
                )
            await asyncio.sleep(rng.uniform(0, 0.02))

    def apply(page: dict[str, Any]) -> None:
        for task in page["changes"]:
            view[task["id"]] = task["title"]
        for task_id in page["deleted"]:
            view.pop(task_id, None)

    async def reader() -> str:
        token = first["next"]
        while not writers_done.is_set():
            page = await read_feed(client, token)
            apply(page)
            token = page["next"]
            await asyncio.sleep(0.003)
        return token

    async def writers() -> None:
        try:
            await asyncio.gather(*(sql_writer(n) for n in range(6)), http_writer())
        finally:
            writers_done.set()

    token, _ = await asyncio.wait_for(asyncio.gather(reader(), writers()), timeout=60)

    async def actual() -> dict[str, str]:
        async with asyncio.timeout(10):
            conn = await asyncpg.connect(postgres_url, timeout=10)
            try:
                rows = await conn.fetch("SELECT id, title FROM tasks WHERE user_id = $1", user_id)
            finally:
                await conn.close()
        return {str(row["id"]): row["title"] for row in rows}

    final = await actual()
    # The reader keeps syncing from its own token: what was skipped would never come back.
    deadline = asyncio.get_running_loop().time() + FEED_DEADLINE
    while view != final and asyncio.get_running_loop().time() < deadline:
        page = await read_feed(client, token)
        apply(page)
        token = page["next"]
        if not page["has_more"] and view != final:
            await asyncio.sleep(0.05)
    missing = {k: v for k, v in final.items() if view.get(k) != v}
    extra = {k: v for k, v in view.items() if k not in final}
    assert view == final, f"seed {seed}: not seen {missing}; deleted but still held {extra}"
