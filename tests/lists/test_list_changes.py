"""Lists in the change feed: created, changed and deleted lists come in the same stream as
tasks, with the same guarantee that a late commit is never skipped."""

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

from tests.lists.helpers import create_list
from tests.support import app_for, client_for, make_settings, token_for
from tests.tasks.feed_helpers import read_feed, sync_all
from tests.tasks.helpers import create_task
from todo_api.migrations import upgrade_to_head

FEED_DEADLINE = 10.0


async def test_lists_and_deleted_lists_come_in_the_feed(alice: httpx.AsyncClient) -> None:
    kept = await create_list(alice, "Kept")
    doomed = await create_list(alice, "Doomed")
    await create_task(alice, list_id=kept["id"])
    inside = await create_task(alice, list_id=doomed["id"])
    first = await read_feed(alice, wait_for=[kept["id"], doomed["id"], inside["id"]])
    by_id = {item["id"]: item for item in first["lists"]}
    assert set(by_id) == {kept["id"], doomed["id"]}
    assert set(by_id[kept["id"]]) == set(kept)
    assert by_id[kept["id"]]["open_count"] == 1
    assert first["deleted_lists"] == []

    await alice.patch(f"/api/lists/{kept['id']}", json={"name": "Renamed"})
    assert (await alice.delete(f"/api/lists/{doomed['id']}")).status_code == 204
    later = await read_feed(alice, first["next"], wait_for=[kept["id"], doomed["id"]])
    assert [item["name"] for item in later["lists"]] == ["Renamed"]
    assert later["deleted_lists"] == [doomed["id"]]
    assert later["deleted"] == [inside["id"]]
    assert later["changes"] == []


async def test_the_feed_has_only_the_callers_lists(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    mine = await create_list(alice, "Mine")
    theirs = await create_list(bob, "Theirs")
    await bob.delete(f"/api/lists/{theirs['id']}")
    feed = await read_feed(alice, wait_for=[mine["id"]])
    assert [item["id"] for item in feed["lists"]] == [mine["id"]]
    again = await read_feed(alice, feed["next"])
    assert again["deleted_lists"] == []


async def test_paging_walks_lists_and_tasks_once_in_order(alice: httpx.AsyncClient) -> None:
    made: list[str] = []
    for n in range(4):
        made.append((await create_list(alice, f"L{n}"))["id"])
        made.append((await create_task(alice))["id"])
    changes, _, _, calls = await sync_all(alice, limit=3, wait_for=made[1::2])
    assert calls >= 3
    assert [task["id"] for task in changes] == made[1::2]
    feed_lists = []
    token = None
    while True:
        page = await read_feed(alice, token, limit=3)
        feed_lists += [item["id"] for item in page["lists"]]
        token = page["next"]
        if not page["has_more"]:
            break
    assert feed_lists == made[0::2]


async def test_a_list_change_committed_late_is_not_skipped(
    postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL only: SQLite's writers take turns, so no write commits after a later one."""
    settings = make_settings(postgres_url, tmp_path)
    await upgrade_to_head(settings)
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        await _late_list_change(alice, postgres_url)


async def _late_list_change(alice: httpx.AsyncClient, postgres_url: str) -> None:
    slow_list, fast_list = await create_list(alice, "Slow"), await create_list(alice, "Fast")
    first = await read_feed(alice, wait_for=[slow_list["id"], fast_list["id"]])
    slow = await asyncpg.connect(postgres_url, timeout=10)
    fast = await asyncpg.connect(postgres_url, timeout=10)
    # What the service's own UPDATE does (the trigger stamps the list's place in the feed).
    rename = (
        "UPDATE lists SET name = $1::text, name_key = lower($1::text), version = version + 1 "
        "WHERE id = $2"
    )
    slow_tx = slow.transaction()
    try:
        await slow_tx.start()
        await slow.execute(rename, "Slow, committed late", uuid.UUID(slow_list["id"]))
        async with fast.transaction():
            await fast.execute(rename, "Fast, committed first", uuid.UUID(fast_list["id"]))
        during = await read_feed(alice, first["next"])
        assert fast_list["id"] not in {item["id"] for item in during["lists"]}
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
        after = await read_feed(alice, token)
        seen.update({item["id"]: item["name"] for item in after["lists"]})
        token = after["next"]
        await asyncio.sleep(0.05)
    assert seen == {
        slow_list["id"]: "Slow, committed late",
        fast_list["id"]: "Fast, committed first",
    }
