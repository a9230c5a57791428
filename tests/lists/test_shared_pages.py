"""Pages of a member's tasks, own and shared, in every sort and filtered: page by page they are
the same tasks in the same order as one page holding them all. On PostgreSQL a filtered page
reads each shared list only as deep as its share of the page first, then further the lists
that stopped short: up to the page's last possible row when enough were read, to the full page
when not. Here one list holds the first tasks of most orders, so each happens."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.tasks.helpers import create_task
from todo_api.tasks.listing import Sort

# A page of three shared lists reads a third of it of each first: of 20, fewer than the page
# (the small lists have 4), the crowded list then read to the page; of 5, more than the page,
# the crowded list's first then read up to the 5th read.
PAGES = (20, 5)


async def _all_pages(client: httpx.AsyncClient, query: str, limit: int) -> list[str]:
    ids: list[str] = []
    url = f"/api/tasks?{query}&limit={limit}"
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        ids += [task["id"] for task in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        url = f"/api/tasks?{query}&limit={limit}&cursor={cursor}" if cursor else ""
    return ids


async def _tasks(
    client: httpx.AsyncClient, count: int, label: str, **fields: Any
) -> list[dict[str, Any]]:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    made = []
    for n in range(count):
        due = None if n % 3 == 0 else (start + timedelta(hours=n * 7 % 11)).isoformat()
        title = f"{label} {'Ab'[n % 2]}{n:02d} match"
        priority = ["low", "medium", "high"][n % 3]
        tags = ["tagged"] if n % 4 else []
        made.append(
            await create_task(
                client, title=title, due_at=due, priority=priority, tags=tags, **fields
            )
        )
    return made


async def test_filtered_pages_of_own_and_shared_tasks_are_one_page_cut_in_pieces(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Any
) -> None:
    async with new_user_client() as carol:
        small = []
        for owner in (alice, carol):
            listed = await create_list(owner, f"Small {uuid.uuid4().hex[:6]}")
            await share(owner, bob, listed["id"])
            small += await _tasks(owner, 4, "Small", list_id=listed["id"])
        own = await _tasks(bob, 3, "Own")
        big = await create_list(alice, f"Big {uuid.uuid4().hex[:6]}")
        await share(alice, bob, big["id"], "viewer")
        # Made last: the first of every order by creation or change, and many of the others.
        crowded = await _tasks(alice, 24, "Big", list_id=big["id"])
        everything = {task["id"] for task in small + own + crowded}
        tagged = {task["id"] for task in small + own + crowded if task["tags"]}
        high = {task["id"] for task in small + own + crowded if task["priority"] == "high"}
        done = {task["id"] for task in crowded[1::3] + small[:2]}  # Alice's all
        for task_id in done:
            completed = await alice.post(f"/api/tasks/{task_id}/complete")
            assert completed.status_code == 200, completed.text

        for sort in get_args(Sort):
            for query, expected in (
                (f"sort={sort}&q=match", everything),
                (f"sort={sort}&completed=false&q=match", everything - done),
                (f"sort={sort}&tag=tagged", tagged),
                # A tag beside a state or priorities: each list's tag entries walked (PostgreSQL).
                (f"sort={sort}&tag=tagged&completed=false", tagged - done),
                (f"sort={sort}&tag=tagged&priority=high", tagged & high),
            ):
                whole = await _all_pages(bob, query, 200)
                assert set(whole) == expected, query
                for page in PAGES:
                    assert await _all_pages(bob, query, page) == whole, (query, page)

        by_title = sorted(
            small + own + crowded, key=lambda task: (task["title"].lower(), task["id"])
        )
        for page in PAGES:
            newest_first = await _all_pages(bob, "sort=-created_at&q=match", page)
            assert newest_first[:24] == [task["id"] for task in reversed(crowded)]
            titles = await _all_pages(bob, "sort=title&q=match", page)
            assert titles == [task["id"] for task in by_title]


async def _tagged(client: httpx.AsyncClient, tag: str, more: str = "") -> tuple[set[str], str]:
    response = await client.get(f"/api/tasks?tag={tag}&limit=200{more}")
    assert response.status_code == 200, response.text
    return {task["id"] for task in response.json()}, response.headers["X-Total-Count"]


async def test_a_tag_is_counted_in_the_shared_lists_as_their_tasks_move_and_change(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    listed = await create_list(alice, f"Tags {uuid.uuid4().hex[:6]}")
    await share(alice, bob, listed["id"], "viewer")
    shared = [
        await create_task(alice, title=f"Shared {n}", tags=[tag, "other"], list_id=listed["id"])
        for n in range(3)
    ]
    untagged = await create_task(alice, title="Shared, untagged", list_id=listed["id"])
    mine = await create_task(bob, title="Mine", tags=[tag])
    await create_task(alice, title="Alice's inbox", tags=[tag])
    expected = {mine["id"], *(task["id"] for task in shared)}
    assert await _tagged(bob, tag) == (expected, "4")
    # Beside a state or priorities too (counted from each list's entries of the tag).
    done = await alice.post(f"/api/tasks/{shared[0]['id']}/complete")
    assert done.status_code == 200, done.text
    high = await alice.patch(f"/api/tasks/{shared[1]['id']}", json={"priority": "high"})
    assert high.status_code == 200, high.text
    assert await _tagged(bob, tag, "&completed=false") == (expected - {shared[0]["id"]}, "3")
    assert await _tagged(bob, tag, "&completed=true") == ({shared[0]["id"]}, "1")
    assert await _tagged(bob, tag, "&priority=high") == ({shared[1]["id"]}, "1")

    # Out of the shared list (to its owner's inbox), and back with the tag newly added.
    moved = await alice.patch(f"/api/tasks/{shared[0]['id']}", json={"list_id": None})
    assert moved.status_code == 200, moved.text
    retagged = await alice.patch(f"/api/tasks/{untagged['id']}", json={"tags": [tag]})
    assert retagged.status_code == 200, retagged.text
    expected = expected - {shared[0]["id"]} | {untagged["id"]}
    assert await _tagged(bob, tag) == (expected, "4")
    back = await alice.patch(f"/api/tasks/{shared[0]['id']}", json={"list_id": listed["id"]})
    assert back.status_code == 200, back.text
    untag = await alice.patch(f"/api/tasks/{shared[1]['id']}", json={"tags": ["other"]})
    assert untag.status_code == 200, untag.text
    expected = expected - {shared[1]["id"]} | {shared[0]["id"]}
    assert await _tagged(bob, tag) == (expected, "4")

    deleted = await alice.delete(f"/api/tasks/{shared[2]['id']}")
    assert deleted.status_code == 204, deleted.text
    assert await _tagged(bob, tag) == (expected - {shared[2]["id"]}, "3")
    open_ones = expected - {shared[2]["id"], shared[0]["id"]}
    assert await _tagged(bob, tag, "&completed=false") == (open_ones, "2")
    removed = await alice.delete(f"/api/lists/{listed['id']}")
    assert removed.status_code == 204, removed.text
    assert await _tagged(bob, tag) == ({mine["id"]}, "1")
