"""The change feed on shared lists: every member's feed carries every change to what they can
see, whoever made it; gaining a list brings it and all its tasks, losing it takes them away,
and a task that leaves a list leaves the feeds of those who can no longer see it."""

import asyncio
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, text, update

from tests.helpers_server import FEED_WAIT_SECONDS
from tests.lists.helpers import LIST_FIELDS, create_list
from tests.lists.sharing import remove, share
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import create_task, user_id_of
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ids import utcnow
from todo_api.lists.scheduled import prune_tombstones
from todo_api.tables.lists import list_members, member_tombstones
from todo_api.tables.tasks import departures
from todo_api.tasks.scheduled import prune


async def unshare(owner: httpx.AsyncClient, list_id: str, member: httpx.AsyncClient) -> None:
    """The owner removes `member` from the list."""
    await remove(owner, list_id, str(await user_id_of(member)))


async def set_role(
    owner: httpx.AsyncClient, list_id: str, member: httpx.AsyncClient, role: str
) -> None:
    """The owner gives `member` another role."""
    member_id = await user_id_of(member)
    changed = await owner.patch(f"/api/lists/{list_id}/members/{member_id}", json={"role": role})
    assert changed.status_code == 200, changed.text


async def follow(
    client: httpx.AsyncClient,
    since: str | None,
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> tuple[list[dict[str, Any]], str]:
    """Every page from `since` until there is no more; the pages and the last token. With
    `wait_for` (ids), syncs on from the last token (up to FEED_WAIT_SECONDS) until each has
    come: on PostgreSQL the feed holds back changes while an older transaction runs."""
    pages: list[dict[str, Any]] = []
    token = since
    waiting = set(wait_for)
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        page = await read_feed(client, token, limit)
        pages.append(page)
        token = page["next"]
        waiting -= {item["id"] for item in page["changes"] + page["lists"]}
        waiting -= set(page["deleted"]) | set(page["deleted_lists"])
        if page["has_more"]:
            continue
        if not waiting or time.monotonic() > deadline:
            return pages, token
        await asyncio.sleep(0.05)


def gathered(pages: list[dict[str, Any]], kind: str) -> list[Any]:
    """One kind of the pages, in the order received (task and list bodies as their ids)."""
    return [item["id"] if isinstance(item, dict) else item for p in pages for item in p[kind]]


def assert_each_page_consistent(pages: list[dict[str, Any]]) -> None:
    """No answer names one id both as there and as gone."""
    for page in pages:
        changed = {task["id"] for task in page["changes"]}
        assert not changed & set(page["deleted"]), page
        assert len(page["deleted"]) == len(set(page["deleted"])), page
        listed = {item["id"] for item in page["lists"]}
        assert not listed & set(page["deleted_lists"]), page


async def test_a_members_changes_reach_the_owner_and_the_owners_reach_the_member(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    first = await create_task(alice, title="First", list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    alices_start = (await read_feed(alice, wait_for=[first["id"]]))["next"]
    bobs_first = await read_feed(bob, wait_for=[shared["id"], first["id"]])
    assert [task["id"] for task in bobs_first["changes"]] == [first["id"]]
    [seen] = bobs_first["lists"]
    assert set(seen) == LIST_FIELDS
    assert seen["id"] == shared["id"]
    assert seen["owner_id"] == str(await user_id_of(alice))
    assert seen["role"] == "editor"
    assert seen["member_count"] == 2
    assert seen["open_count"] == 1

    # The member writes; the owner's feed carries it.
    changed = await bob.patch(f"/api/tasks/{first['id']}", json={"title": "Changed by Bob"})
    assert changed.status_code == 200, changed.text
    added = await create_task(bob, title="Added by Bob", list_id=shared["id"])
    alices = await read_feed(alice, alices_start, wait_for=[first["id"], added["id"]])
    assert [task["id"] for task in alices["changes"]] == [first["id"], added["id"]]
    assert alices["changes"][0]["title"] == "Changed by Bob"
    assert alices["changes"][1]["created_by"] == str(await user_id_of(bob))

    # The owner writes and deletes; the member's feed carries both.
    await alice.post(f"/api/tasks/{added['id']}/complete")
    assert (await alice.delete(f"/api/tasks/{first['id']}")).status_code == 204
    bobs = await read_feed(bob, bobs_first["next"], wait_for=[added["id"], first["id"]])
    assert [task["id"] for task in bobs["changes"]] == [added["id"]]
    assert bobs["changes"][0]["is_completed"] is True
    assert bobs["deleted"] == [first["id"]]
    assert bobs["lists"] == []


async def test_a_new_member_gets_the_list_and_all_its_old_tasks_across_pages(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    private = await create_list(alice, "Private")
    old = [await create_task(alice, title=f"Old {n}", list_id=shared["id"]) for n in range(7)]
    subtask = await create_task(alice, parent_id=old[0]["id"], list_id=shared["id"])
    await create_task(alice, title="Not shared", list_id=private["id"])
    await create_task(alice, title="In Alice's inbox")
    bobs_own = await create_task(bob, title="Bob's own")
    bobs_start = (await read_feed(bob, wait_for=[bobs_own["id"]]))["next"]

    await share(alice, bob, shared["id"], "viewer")
    # Changed after the membership: it comes once, not also among the old ones.
    await alice.patch(f"/api/tasks/{old[3]['id']}", json={"title": "Changed after joining"})

    expected = [task["id"] for task in old] + [subtask["id"]]
    pages, token = await follow(bob, bobs_start, limit=3, wait_for=[shared["id"], *expected])

    assert len(pages) >= 3
    assert all(page["has_more"] for page in pages[:-1])
    received = gathered(pages, "changes")
    assert sorted(received) == sorted(expected)
    assert len(received) == len(set(received))
    titles = {task["id"]: task["title"] for p in pages for task in p["changes"]}
    assert titles[old[3]["id"]] == "Changed after joining"
    assert gathered(pages, "lists") == [shared["id"]]
    assert [item["role"] for p in pages for item in p["lists"]] == ["viewer"]
    assert gathered(pages, "deleted") == []
    assert_each_page_consistent(pages)
    # Each as the member reads it by id.
    for task in (task for p in pages for task in p["changes"]):
        assert (await bob.get(f"/api/tasks/{task['id']}")).json() == task

    later = await read_feed(bob, token)
    assert (later["changes"], later["lists"], later["deleted"]) == ([], [], [])


async def test_a_first_sync_of_a_member_has_every_task_of_the_shared_list_once(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    before = await create_task(alice, title="Before", list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    after = await create_task(alice, title="After", list_id=shared["id"])

    pages, _ = await follow(bob, None, limit=1, wait_for=[before["id"], after["id"]])

    assert sorted(gathered(pages, "changes")) == sorted([before["id"], after["id"]])
    assert gathered(pages, "lists") == [shared["id"]]


@pytest.mark.parametrize("how", ["is removed", "leaves"])
async def test_a_member_who_goes_loses_the_list_and_its_tasks_then_hears_nothing_of_it(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient, how: str
) -> None:
    shared = await create_list(alice, "Shared")
    tasks = [await create_task(alice, title=f"T{n}", list_id=shared["id"]) for n in range(4)]
    bobs_own = await create_task(bob, title="Bob's own")
    await share(alice, bob, shared["id"], "editor")
    mine = [task["id"] for task in tasks]
    _, token = await follow(bob, None, wait_for=[shared["id"], *mine, bobs_own["id"]])
    # Deleted while Bob was a member, not yet synced.
    assert (await alice.delete(f"/api/tasks/{tasks[0]['id']}")).status_code == 204
    alices_start = (await read_feed(alice))["next"]

    if how == "leaves":
        await remove(bob, shared["id"], str(await user_id_of(bob)))
    else:
        await unshare(alice, shared["id"], bob)
    member_token = token  # from while Bob was a member
    pages, token = await follow(bob, token, limit=2, wait_for=[shared["id"], *mine])

    assert gathered(pages, "deleted_lists") == [shared["id"]]
    assert set(gathered(pages, "deleted")) == set(mine)
    assert gathered(pages, "changes") == []
    assert gathered(pages, "lists") == []
    assert_each_page_consistent(pages)

    # Nothing of the list afterwards, whatever happens in it.
    await alice.patch(f"/api/tasks/{tasks[1]['id']}", json={"title": "Changed"})
    assert (await alice.delete(f"/api/tasks/{tasks[2]['id']}")).status_code == 204
    await create_task(alice, title="New", list_id=shared["id"])
    await alice.patch(f"/api/lists/{shared['id']}", json={"name": "Renamed"})
    bobs_new = await create_task(bob, title="Bob's new")
    later = await read_feed(bob, token, wait_for=[bobs_new["id"]])
    assert [task["id"] for task in later["changes"]] == [bobs_new["id"]]
    assert (later["deleted"], later["lists"], later["deleted_lists"]) == ([], [], [])
    # The token from while Bob was a member, read again: the list and every task he knew of
    # it gone, no body of either since.
    again, _ = await follow(bob, member_token, wait_for=[shared["id"], bobs_new["id"]])
    assert gathered(again, "deleted_lists") == [shared["id"]]
    assert set(gathered(again, "deleted")) == set(mine)
    assert gathered(again, "changes") == [bobs_new["id"]]
    assert gathered(again, "lists") == []
    # The owner keeps the list.
    alices = await read_feed(alice, alices_start, wait_for=[tasks[1]["id"], shared["id"]])
    assert shared["id"] not in alices["deleted_lists"]
    assert shared["id"] in {item["id"] for item in alices["lists"]}


async def test_a_deleted_shared_list_reaches_its_members_as_deleted(
    app: FastAPI,
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Any,
) -> None:
    shared = await create_list(alice, "Shared")
    tasks = [await create_task(alice, title=f"T{n}", list_id=shared["id"]) for n in range(3)]
    subtask = await create_task(alice, parent_id=tasks[0]["id"], list_id=shared["id"])
    gone = [task["id"] for task in tasks] + [subtask["id"]]
    async with new_user_client() as carol:
        await share(alice, bob, shared["id"], "editor")
        await share(alice, carol, shared["id"], "viewer")
        tokens = {}
        for name, client in (("alice", alice), ("bob", bob), ("carol", carol)):
            _, tokens[name] = await follow(client, None, wait_for=[shared["id"], *gone])

        assert (await alice.delete(f"/api/lists/{shared['id']}")).status_code == 204

        for name, client in (("alice", alice), ("bob", bob), ("carol", carol)):
            pages, _ = await follow(client, tokens[name], limit=2, wait_for=[shared["id"], *gone])
            assert gathered(pages, "deleted_lists") == [shared["id"]], name
            deleted = gathered(pages, "deleted")
            assert sorted(deleted) == sorted(gone), name
            assert gathered(pages, "changes") == [], name
            assert gathered(pages, "lists") == [], name
            assert_each_page_consistent(pages)


async def test_a_task_the_owner_moves_to_their_inbox_leaves_the_members_feed_only(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    moved = await create_task(alice, title="Moved", list_id=shared["id"])
    stays = await create_task(alice, title="Stays", list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    _, bobs = await follow(bob, None, wait_for=[moved["id"], stays["id"]])
    _, alices = await follow(alice, None, wait_for=[moved["id"], stays["id"]])

    response = await alice.post(f"/api/tasks/{moved['id']}/move", json={"list_id": None})
    assert response.status_code == 200, response.text

    bob_pages, _ = await follow(bob, bobs, wait_for=[moved["id"]])
    assert gathered(bob_pages, "deleted") == [moved["id"]]
    assert gathered(bob_pages, "changes") == []
    assert_each_page_consistent(bob_pages)
    alice_pages, _ = await follow(alice, alices, wait_for=[moved["id"]])
    assert gathered(alice_pages, "changes") == [moved["id"]]
    assert gathered(alice_pages, "deleted") == []
    assert [task["list_id"] for p in alice_pages for task in p["changes"]] == [None]


async def test_a_task_an_editor_moves_to_their_own_list_leaves_the_owners_feed(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    bobs_list = await create_list(bob, "Bob's")
    moved = await create_task(alice, title="Moved", list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    _, bobs = await follow(bob, None, wait_for=[moved["id"]])
    _, alices = await follow(alice, None, wait_for=[moved["id"]])

    response = await bob.post(f"/api/tasks/{moved['id']}/move", json={"list_id": bobs_list["id"]})
    assert response.status_code == 200, response.text

    alice_pages, _ = await follow(alice, alices, wait_for=[moved["id"]])
    assert gathered(alice_pages, "deleted") == [moved["id"]]
    assert gathered(alice_pages, "changes") == []
    bob_pages, _ = await follow(bob, bobs, wait_for=[moved["id"]])
    assert gathered(bob_pages, "changes") == [moved["id"]]
    assert gathered(bob_pages, "deleted") == []


async def test_a_new_role_brings_the_list_again_with_it(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    task = await create_task(alice, list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    _, token = await follow(bob, None, wait_for=[shared["id"], task["id"]])

    await set_role(alice, shared["id"], bob, "viewer")

    pages, _ = await follow(bob, token, wait_for=[shared["id"]])
    assert [(item["id"], item["role"]) for p in pages for item in p["lists"]] == [
        (shared["id"], "viewer")
    ]
    assert gathered(pages, "deleted") == []
    assert_each_page_consistent(pages)


async def test_a_user_sees_nothing_of_lists_they_are_not_a_member_of(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Any
) -> None:
    shared = await create_list(alice, "Shared")
    task = await create_task(alice, list_id=shared["id"])
    async with new_user_client() as carol:
        await share(alice, carol, shared["id"], "editor")
        start = (await read_feed(bob))["next"]
        moved = await create_task(alice, list_id=shared["id"])
        await alice.post(f"/api/tasks/{moved['id']}/move", json={"list_id": None})
        await alice.patch(f"/api/tasks/{task['id']}", json={"title": "Changed"})
        await unshare(alice, shared["id"], carol)
        assert (await alice.delete(f"/api/lists/{shared['id']}")).status_code == 204
        bobs_own = await create_task(bob)

        feed = await read_feed(bob, start, wait_for=[bobs_own["id"]])

    assert [item["id"] for item in feed["changes"]] == [bobs_own["id"]]
    assert (feed["deleted"], feed["lists"], feed["deleted_lists"]) == ([], [], [])


async def test_membership_tombstones_and_departures_are_pruned_past_the_retention(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    shared = await create_list(alice, "Shared")
    task = await create_task(alice, list_id=shared["id"])
    await share(alice, bob, shared["id"], "editor")
    await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": None})
    await unshare(alice, shared["id"], bob)
    list_id, task_id = uuid.UUID(shared["id"]), uuid.UUID(task["id"])
    ended = member_tombstones.c.list_id == list_id
    left = departures.c.task_id == task_id
    db = held(app, Database)
    async with db.connection() as conn:
        assert len((await conn.execute(select(member_tombstones).where(ended))).rows) == 1
        assert len((await conn.execute(select(departures).where(left))).rows) == 1

    # Young: kept.
    await prune(db, settings)
    await prune_tombstones(db, settings)
    async with db.connection() as conn:
        assert len((await conn.execute(select(member_tombstones).where(ended))).rows) == 1
        assert len((await conn.execute(select(departures).where(left))).rows) == 1

    old = utcnow() - timedelta(days=settings.sync_retention_days, minutes=5)
    async with db.transaction() as conn:
        await conn.execute(update(member_tombstones).where(ended).values(deleted_at=old))
        await conn.execute(update(departures).where(left).values(deleted_at=old))
    _, records = await prune(db, settings)
    members = await prune_tombstones(db, settings)

    assert records >= 1
    assert members >= 1
    async with db.connection() as conn:
        assert (await conn.execute(select(member_tombstones).where(ended))).rows == []
        assert (await conn.execute(select(departures).where(left))).rows == []


async def test_a_member_removed_from_an_empty_list_hears_nothing_of_what_it_gets_later(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Empty for now")
    await share(alice, bob, shared["id"], "viewer")
    _, token = await follow(bob, None, wait_for=[shared["id"]])
    await unshare(alice, shared["id"], bob)
    pages, token = await follow(bob, token, wait_for=[shared["id"]])
    assert gathered(pages, "deleted_lists") == [shared["id"]]
    assert gathered(pages, "deleted") == []

    added = await create_task(alice, list_id=shared["id"])
    moved = await create_task(alice, list_id=shared["id"])
    await alice.post(f"/api/tasks/{moved['id']}/move", json={"list_id": None})
    assert (await alice.delete(f"/api/tasks/{added['id']}")).status_code == 204
    bobs_own = await create_task(bob)
    later = await read_feed(bob, token, wait_for=[bobs_own["id"]])

    assert [task["id"] for task in later["changes"]] == [bobs_own["id"]]
    assert (later["deleted"], later["lists"], later["deleted_lists"]) == ([], [], [])


async def test_an_ex_members_old_token_names_only_tasks_that_were_in_the_list_while_they_were(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    elsewhere = await create_list(alice, "Elsewhere")
    kept = await create_task(alice, title="Kept", list_id=shared["id"])
    changed = await create_task(alice, title="Changed later", list_id=shared["id"])
    deleted = await create_task(alice, title="Deleted later", list_id=shared["id"])
    moved_out = await create_task(alice, title="Moved out later", list_id=shared["id"])
    await share(alice, bob, shared["id"], "viewer")
    known = [kept["id"], changed["id"], deleted["id"], moved_out["id"]]
    _, member_token = await follow(bob, None, wait_for=[shared["id"], *known])
    await unshare(alice, shared["id"], bob)

    # After Bob has gone: the tasks he knew change, and tasks he never could see come and go.
    await alice.patch(f"/api/tasks/{changed['id']}", json={"title": "Changed"})
    assert (await alice.delete(f"/api/tasks/{deleted['id']}")).status_code == 204
    moved = await alice.post(f"/api/tasks/{moved_out['id']}/move", json={"list_id": None})
    assert moved.status_code == 200, moved.text
    await create_task(alice, title="Created after", list_id=shared["id"])
    created_and_deleted = await create_task(alice, title="Gone again", list_id=shared["id"])
    assert (await alice.delete(f"/api/tasks/{created_and_deleted['id']}")).status_code == 204
    created_and_moved = await create_task(alice, title="Passed through", list_id=shared["id"])
    passed = await alice.post(
        f"/api/tasks/{created_and_moved['id']}/move", json={"list_id": elsewhere["id"]}
    )
    assert passed.status_code == 200, passed.text
    moved_in = await create_task(alice, title="Moved in", list_id=elsewhere["id"])
    arrived = await alice.post(f"/api/tasks/{moved_in['id']}/move", json={"list_id": shared["id"]})
    assert arrived.status_code == 200, arrived.text
    bobs_own = await create_task(bob, title="Bob's own")

    pages, _ = await follow(bob, member_token, limit=2, wait_for=[shared["id"], bobs_own["id"]])

    assert gathered(pages, "deleted_lists") == [shared["id"]]
    assert sorted(gathered(pages, "deleted")) == sorted(known)
    assert gathered(pages, "changes") == [bobs_own["id"]]
    assert gathered(pages, "lists") == []


def applied(pages: list[dict[str, Any]], held: set[str]) -> set[str]:
    """The task ids a client holding `held` holds after applying the pages in order."""
    for page in pages:
        held = (held | {task["id"] for task in page["changes"]}) - set(page["deleted"])
    return held


async def one_deleted_and_one_moved_out(owner: httpx.AsyncClient, list_id: str) -> None:
    """The owner makes two tasks in the list, deletes one and moves the other to their inbox."""
    deleted = await create_task(owner, title="Deleted", list_id=list_id)
    moved = await create_task(owner, title="Moved out", list_id=list_id)
    assert (await owner.delete(f"/api/tasks/{deleted['id']}")).status_code == 204
    assert (await owner.post(f"/api/tasks/{moved['id']}/move", json={"list_id": None})).is_success


async def test_a_new_member_with_an_old_token_hears_of_nothing_that_left_before_they_joined(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    bobs_own = await create_task(bob, title="Bob's own")
    _, token = await follow(bob, None, wait_for=[bobs_own["id"]])
    shared = await create_list(alice, "Shared")
    staying = await create_task(alice, title="Staying", list_id=shared["id"])
    await one_deleted_and_one_moved_out(alice, shared["id"])
    await share(alice, bob, shared["id"], "viewer")

    pages, _ = await follow(bob, token, limit=2, wait_for=[shared["id"], staying["id"]])

    assert gathered(pages, "changes") == [staying["id"]]
    assert gathered(pages, "deleted") == []
    assert gathered(pages, "lists") == [shared["id"]]


async def test_a_member_back_with_a_token_from_before_they_left_loses_what_went_meanwhile(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    staying = await create_task(alice, title="Staying", list_id=shared["id"])
    deleted = await create_task(alice, title="Deleted while away", list_id=shared["id"])
    moved = await create_task(alice, title="Moved out while away", list_id=shared["id"])
    await share(alice, bob, shared["id"], "viewer")
    held = [staying["id"], deleted["id"], moved["id"]]
    _, token = await follow(bob, None, wait_for=[shared["id"], *held])
    await unshare(alice, shared["id"], bob)
    assert (await alice.delete(f"/api/tasks/{deleted['id']}")).status_code == 204
    assert (await alice.post(f"/api/tasks/{moved['id']}/move", json={"list_id": None})).is_success
    added = await create_task(alice, title="Added while away", list_id=shared["id"])
    await share(alice, bob, shared["id"], "viewer")

    pages, _ = await follow(bob, token, limit=2, wait_for=[shared["id"], added["id"]])

    assert applied(pages, set(held)) == {staying["id"], added["id"]}
    assert shared["id"] in gathered(pages, "lists")
    assert set(gathered(pages, "deleted")) <= set(held)


async def test_an_ex_members_old_token_names_nothing_that_went_before_they_joined(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    bobs_own = await create_task(bob, title="Bob's own")
    _, token = await follow(bob, None, wait_for=[bobs_own["id"]])
    shared = await create_list(alice, "Shared")
    await one_deleted_and_one_moved_out(alice, shared["id"])
    await share(alice, bob, shared["id"], "viewer")
    staying = await create_task(alice, title="Staying", list_id=shared["id"])
    await unshare(alice, shared["id"], bob)

    pages, _ = await follow(bob, token, limit=2, wait_for=[shared["id"]])

    assert gathered(pages, "deleted_lists") == [shared["id"]]
    assert set(gathered(pages, "deleted")) <= {staying["id"]}
    assert applied(pages, set()) == set()


async def test_a_rejoin_begun_before_a_removal_that_it_waited_for_keeps_the_list(
    app: FastAPI, alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    # The joining transaction takes its id first, then the removal runs and commits, then the
    # joining one makes the membership: the removal is stamped after the new start.
    if settings.is_sqlite:
        pytest.skip("SQLite stamps in commit order")
    shared = await create_list(alice, "Shared")
    task = await create_task(alice, title="Kept", list_id=shared["id"])
    await share(alice, bob, shared["id"], "viewer")
    _, token = await follow(bob, None, wait_for=[shared["id"], task["id"]])
    bob_id = await user_id_of(bob)

    async with held(app, Database).transaction() as joining:
        await joining.execute(text("SELECT pg_current_xact_id()"))
        await unshare(alice, shared["id"], bob)
        await joining.execute(
            insert(list_members).values(
                list_id=uuid.UUID(shared["id"]),
                user_id=bob_id,
                role="viewer",
                position=1,
                joined_at=utcnow(),
            )
        )

    pages, _ = await follow(bob, token, wait_for=[shared["id"]])
    listed: set[str] = set()
    for page in pages:
        listed = (listed | {item["id"] for item in page["lists"]}) - set(page["deleted_lists"])
    assert listed == {shared["id"]}
    assert applied(pages, {task["id"]}) == {task["id"]}
    assert (await bob.get(f"/api/lists/{shared['id']}")).status_code == 200
