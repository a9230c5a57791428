"""The change feed: GET /api/tasks/changes?since=&limit=.

Tasks created or changed and ids of tasks deleted since a token, oldest change first, with the
token to use next; a first call without `since` returns every task. Tokens are signed for one
user; one older than the retention is 410. Tombstones past the retention are pruned.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.feed_helpers import (
    database,
    read_feed,
    sync_all,
    sync_token_body,
    tombstone_ids,
    with_sync_token_body,
)
from tests.tasks.helpers import assert_validation_error, create_task
from tests.tasks.listing_helpers import assert_validation_error_on, ids
from todo_api.config import Settings
from todo_api.kit import changes as changes_module
from todo_api.kit.ids import utcnow
from todo_api.tables.tasks import tombstones
from todo_api.tasks.scheduled import prune

DAY = 86400.0


async def current(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task_id}")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def backdate_tombstone(settings: Settings, task_id: str, age: timedelta) -> None:
    async with database(settings) as engine, engine.transaction() as conn:
        result = await conn.execute(
            update(tombstones)
            .where(tombstones.c.task_id == uuid.UUID(task_id))
            .values(deleted_at=utcnow() - age)
        )
        assert result.rowcount == 1


# --- What a sync returns --------------------------------------------------------------------------


async def test_a_first_sync_returns_every_task_oldest_change_first(
    alice: httpx.AsyncClient,
) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(3)]
    await alice.patch(f"/api/tasks/{tasks[0]['id']}", json={"priority": "high"})

    feed = await read_feed(alice, wait_for=ids(tasks))

    assert ids(feed["changes"]) == [tasks[1]["id"], tasks[2]["id"], tasks[0]["id"]]
    assert feed["changes"] == [
        await current(alice, t["id"]) for t in [tasks[1], tasks[2], tasks[0]]
    ]
    assert feed["deleted"] == []
    assert feed["has_more"] is False
    assert isinstance(feed["next"], str)
    assert feed["next"]


async def test_a_first_sync_with_no_tasks_is_empty_with_a_usable_token(
    alice: httpx.AsyncClient,
) -> None:
    empty = await read_feed(alice)
    task = await create_task(alice)

    later = await read_feed(alice, since=empty["next"], wait_for=[task["id"]])

    assert empty["changes"] == []
    assert empty["deleted"] == []
    assert empty["has_more"] is False
    assert ids(later["changes"]) == [task["id"]]


async def test_a_sync_returns_exactly_what_changed_and_was_deleted_in_order(
    alice: httpx.AsyncClient,
) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(4)]
    first = await read_feed(alice, wait_for=ids(tasks))

    await alice.patch(f"/api/tasks/{tasks[1]['id']}", json={"title": "Changed"})
    await alice.delete(f"/api/tasks/{tasks[2]['id']}")
    added = await create_task(alice, title="Added")
    await alice.post(f"/api/tasks/{tasks[0]['id']}/complete")
    await alice.delete(f"/api/tasks/{tasks[3]['id']}")

    second = await read_feed(
        alice,
        since=first["next"],
        wait_for=[tasks[1]["id"], added["id"], tasks[0]["id"], tasks[2]["id"], tasks[3]["id"]],
    )

    assert ids(second["changes"]) == [tasks[1]["id"], added["id"], tasks[0]["id"]]
    assert second["changes"] == [
        await current(alice, t) for t in [tasks[1]["id"], added["id"], tasks[0]["id"]]
    ]
    assert second["deleted"] == [tasks[2]["id"], tasks[3]["id"]]
    assert second["has_more"] is False

    third = await read_feed(alice, since=second["next"])
    assert third["changes"] == []
    assert third["deleted"] == []
    assert third["has_more"] is False


async def test_a_task_changed_twice_comes_once_in_its_latest_state_at_its_latest_place(
    alice: httpx.AsyncClient,
) -> None:
    one, two = await create_task(alice, title="One"), await create_task(alice, title="Two")
    start = await read_feed(alice, wait_for=[one["id"], two["id"]])
    await alice.patch(f"/api/tasks/{one['id']}", json={"title": "One, first change"})
    await alice.patch(f"/api/tasks/{two['id']}", json={"title": "Two, changed"})
    await alice.patch(f"/api/tasks/{one['id']}", json={"title": "One, second change"})

    feed = await read_feed(alice, since=start["next"], wait_for=[one["id"], two["id"]])

    assert [t["title"] for t in feed["changes"]] == ["Two, changed", "One, second change"]


async def test_a_task_created_and_deleted_between_syncs_only_comes_as_deleted(
    alice: httpx.AsyncClient,
) -> None:
    start = await read_feed(alice)
    task = await create_task(alice)
    await alice.delete(f"/api/tasks/{task['id']}")

    feed = await read_feed(alice, since=start["next"], wait_for=[task["id"]])

    assert feed["changes"] == []
    assert feed["deleted"] == [task["id"]]


async def test_a_first_sync_leaves_out_tasks_deleted_before(alice: httpx.AsyncClient) -> None:
    kept, gone = await create_task(alice), await create_task(alice)
    await alice.delete(f"/api/tasks/{gone['id']}")

    feed = await read_feed(alice, wait_for=[kept["id"]])

    assert ids(feed["changes"]) == [kept["id"]]
    assert feed["deleted"] == []


async def test_the_feed_only_has_the_callers_tasks(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    start = await read_feed(alice)
    bobs = await create_task(bob)
    alices = await create_task(alice)
    await bob.delete(f"/api/tasks/{bobs['id']}")

    first = await read_feed(alice, wait_for=[alices["id"]])
    since = await read_feed(alice, since=start["next"], wait_for=[alices["id"]])

    for feed in (first, since):
        assert ids(feed["changes"]) == [alices["id"]]
        assert feed["deleted"] == []


async def test_completing_a_recurring_task_brings_it_at_its_next_occurrence(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at="2026-03-02T09:00:00Z", recurrence="FREQ=DAILY")
    start = await read_feed(alice, wait_for=[task["id"]])

    await alice.post(f"/api/tasks/{task['id']}/complete")
    feed = await read_feed(alice, since=start["next"], wait_for=[task["id"]])

    [moved] = feed["changes"]  # one task, moved on: no new one
    assert moved["id"] == task["id"]
    assert moved["is_completed"] is False
    assert moved["due_at"] == "2026-03-03T09:00:00Z"


# --- Paging ---------------------------------------------------------------------------------------


async def test_paging_with_a_limit_walks_every_task_once(alice: httpx.AsyncClient) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(7)]

    pages = []
    token = None
    for _ in range(10):
        page = await read_feed(alice, since=token, limit=3)
        pages.append(page)
        token = page["next"]
        if not page["has_more"]:
            break

    assert [len(page["changes"]) for page in pages] == [3, 3, 1]
    assert [page["has_more"] for page in pages] == [True, True, False]
    assert [t["id"] for page in pages for t in page["changes"]] == ids(tasks)


async def test_paging_through_changes_and_deletions_brings_each_once_in_order(
    alice: httpx.AsyncClient,
) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(8)]
    start = await read_feed(alice, wait_for=ids(tasks))
    # In this order: change 1, delete 2, change 3, delete 4, change 5, delete 6, create one.
    expected_order: list[tuple[str, str]] = []
    for n in (1, 3, 5):
        await alice.patch(f"/api/tasks/{tasks[n]['id']}", json={"title": f"Changed {n}"})
        expected_order.append(("changed", tasks[n]["id"]))
        await alice.delete(f"/api/tasks/{tasks[n + 1]['id']}")
        expected_order.append(("deleted", tasks[n + 1]["id"]))
    added = await create_task(alice, title="Added")
    expected_order.append(("changed", added["id"]))

    received: list[tuple[str, str]] = []
    token = start["next"]
    calls = 0
    for calls in range(1, 20):  # noqa: B007
        page = await read_feed(alice, since=token, limit=2)
        # Within a page, changes and deletions each keep their order.
        received.extend(("changed", t["id"]) for t in page["changes"])
        received.extend(("deleted", d) for d in page["deleted"])
        token = page["next"]
        if not page["has_more"]:
            break

    assert sorted(received) == sorted(expected_order)
    assert len(received) == len(set(received)) == 7
    assert calls == 4
    changed = [item for item in expected_order if item[0] == "changed"]
    assert [item for item in received if item[0] == "changed"] == changed


async def test_a_full_resync_by_pages_matches_the_task_list(alice: httpx.AsyncClient) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(5)]
    await alice.delete(f"/api/tasks/{tasks[0]['id']}")

    changes, deleted, _token, calls = await sync_all(alice, limit=2, wait_for=ids(tasks[1:]))

    listed = (await alice.get("/api/tasks")).json()
    assert sorted(ids(changes)) == sorted(ids(listed))
    # Only the first page (without `since`) leaves tombstones out: the later pages of a first
    # sync may name a task deleted before it, which the client never had (a no-op for it).
    assert set(deleted) <= {tasks[0]["id"]}
    assert calls in (2, 3)


# --- Bad tokens and limits ------------------------------------------------------------------------


async def test_a_tampered_garbage_or_foreign_token_is_400_naming_since(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await create_task(alice)
    await create_task(bob)
    alices = (await read_feed(alice))["next"]
    bobs = (await read_feed(bob))["next"]
    txid, seq, issued_at = sync_token_body(alices)
    await create_task(alice)  # two tasks: a list of one per page has a next cursor
    list_cursor = (await alice.get("/api/tasks", params={"limit": 1})).headers["x-next-cursor"]

    bad_tokens = {
        "garbage": "not-a-token",
        "empty": "",
        "not base64": "%%%***",
        "truncated": alices[:-4],
        "a character changed": alices[:10] + ("A" if alices[10] != "A" else "B") + alices[11:],
        "position moved back": with_sync_token_body(alices, [0, 0, issued_at]),
        "issued later": with_sync_token_body(alices, [txid, seq, issued_at + 10 * DAY]),
        "another user's": bobs,
        "a list cursor": list_cursor,
        "too long": "A" * 600,
    }
    for name, token in bad_tokens.items():
        response = await alice.get("/api/tasks/changes", params={"since": token})
        assert response.status_code == 400, (name, response.text)
        assert_validation_error(response, "since")


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "many"])
async def test_a_limit_out_of_range_is_400_naming_limit(
    alice: httpx.AsyncClient, limit: str
) -> None:
    response = await alice.get("/api/tasks/changes", params={"limit": limit})

    assert_validation_error_on(response, "limit")


async def test_the_feed_needs_a_token(app: FastAPI) -> None:
    async with client_for(app) as anonymous:
        response = await anonymous.get("/api/tasks/changes")

    assert response.status_code == 401


# --- Retention: old tokens are 410, old tombstones are pruned -------------------------------------


@pytest.fixture
async def one_day_app(
    settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, Settings]]:
    """An app on the test database whose feed keeps deletions for one day."""
    short = make_settings(settings.database_url or "", tmp_path, sync_retention_days=1)
    async with app_for(short) as app:
        yield app, short


def clock_at(monkeypatch: pytest.MonkeyPatch, offset_seconds: float) -> None:
    """Move the feed's clock (only the feed's) forward by offset_seconds."""
    real = time.time
    monkeypatch.setattr(
        changes_module, "time", SimpleNamespace(time=lambda: real() + offset_seconds)
    )


async def test_a_token_older_than_the_retention_is_410_sync_token_expired(
    one_day_app: tuple[FastAPI, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, short = one_day_app
    async with client_for(app, token_for(short)) as client:
        await create_task(client)
        token = (await read_feed(client))["next"]

        clock_at(monkeypatch, 2 * DAY)
        response = await client.get("/api/tasks/changes", params={"since": token})

    assert response.status_code == 410, response.text
    body = response.json()
    assert body["code"] == "SYNC_TOKEN_EXPIRED"
    assert body["error"]
    assert body["details"] is None


async def test_a_token_within_the_retention_still_works(
    one_day_app: tuple[FastAPI, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, short = one_day_app
    async with client_for(app, token_for(short)) as client:
        token = (await read_feed(client))["next"]
        task = await create_task(client)

        clock_at(monkeypatch, 0.9 * DAY)
        feed = await read_feed(client, since=token, wait_for=[task["id"]])

    assert ids(feed["changes"]) == [task["id"]]


async def test_a_first_sync_never_expires(
    one_day_app: tuple[FastAPI, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, short = one_day_app
    async with client_for(app, token_for(short)) as client:
        task = await create_task(client)
        clock_at(monkeypatch, 400 * DAY)

        feed = await read_feed(client, wait_for=[task["id"]])

    assert ids(feed["changes"]) == [task["id"]]


async def test_tombstones_past_the_retention_are_pruned_and_no_longer_reported(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    old, recent = await create_task(alice), await create_task(alice)
    start = await read_feed(alice, wait_for=[old["id"], recent["id"]])
    await alice.delete(f"/api/tasks/{old['id']}")
    await alice.delete(f"/api/tasks/{recent['id']}")
    await backdate_tombstone(
        settings, old["id"], timedelta(days=settings.sync_retention_days, hours=1)
    )

    async with database(settings) as engine:
        _, pruned = await prune(engine, settings)

    assert pruned >= 1
    assert await tombstone_ids(settings, [old["id"], recent["id"]]) == {recent["id"]}
    feed = await read_feed(alice, since=start["next"], wait_for=[recent["id"]])
    assert feed["deleted"] == [recent["id"]]


async def test_paging_does_not_let_a_sync_outlive_the_retention(
    one_day_app: tuple[FastAPI, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, short = one_day_app
    async with client_for(app, token_for(short)) as client:
        first, second, doomed = [await create_task(client) for _ in range(3)]
        token = (await read_feed(client, wait_for=[first["id"], second["id"], doomed["id"]]))[
            "next"
        ]
        # Day 0: two changes, then a deletion, in that order in the feed.
        await client.patch(f"/api/tasks/{first['id']}", json={"title": "Changed"})
        await client.patch(f"/api/tasks/{second['id']}", json={"title": "Changed"})
        await client.delete(f"/api/tasks/{doomed['id']}")

        # Day 0.5: the client reads one page of two (the deletion is on the next page) and stops.
        clock_at(monkeypatch, 0.5 * DAY)
        page = await read_feed(client, since=token, limit=2, wait_for=[first["id"], second["id"]])
        assert page["has_more"] is True
        assert page["deleted"] == []

        # Day 1.2: the tombstone, 1.2 days old, has been pruned; the client resumes.
        await backdate_tombstone(short, doomed["id"], timedelta(days=1.2))
        async with database(short) as engine:
            await prune(engine, short)
        clock_at(monkeypatch, 1.2 * DAY)
        resumed = await client.get("/api/tasks/changes", params={"since": page["next"]})

    # Either the deletion still comes, or the client is told to sync again from the start.
    if resumed.status_code == 200:
        assert doomed["id"] in resumed.json()["deleted"]
    else:
        assert resumed.status_code == 410
        assert resumed.json()["code"] == "SYNC_TOKEN_EXPIRED"


async def test_a_reader_polling_during_concurrent_writes_ends_with_every_final_state(
    alice: httpx.AsyncClient,
) -> None:
    tasks = [await create_task(alice, title=f"Task {n}") for n in range(12)]
    first = await read_feed(alice, wait_for=ids(tasks))
    view = {t["id"]: t["title"] for t in first["changes"]}
    token = first["next"]
    done = asyncio.Event()

    async def writer(n: int) -> None:
        for round_ in range(4):
            task = tasks[(n * 5 + round_ * 7) % len(tasks)]
            if (n + round_) % 9 == 0:
                await alice.delete(f"/api/tasks/{task['id']}")
            elif round_ == 3:
                await alice.post("/api/tasks", json={"title": f"Added by {n}"})
            else:
                await alice.patch(f"/api/tasks/{task['id']}", json={"title": f"{n}/{round_}"})

    def apply(feed: dict[str, Any]) -> None:
        view.update({t["id"]: t["title"] for t in feed["changes"]})
        for task_id in feed["deleted"]:
            view.pop(task_id, None)

    async def reader() -> None:
        nonlocal token
        while not done.is_set():
            feed = await read_feed(alice, since=token, limit=5)
            apply(feed)
            token = feed["next"]
            await asyncio.sleep(0)

    async def writers() -> None:
        try:
            await asyncio.gather(*(writer(n) for n in range(8)))
        finally:
            done.set()

    await asyncio.wait_for(asyncio.gather(reader(), writers()), timeout=30)
    listed = (await alice.get("/api/tasks", params={"limit": 100})).json()
    final = {t["id"]: t["title"] for t in listed}
    # The reader syncs on from its own token: a change it skipped would never come back.
    deadline = time.monotonic() + 5
    while view != final and time.monotonic() < deadline:
        feed = await read_feed(alice, since=token)
        apply(feed)
        token = feed["next"]
        if not feed["has_more"]:
            await asyncio.sleep(0.05)

    assert view == final
