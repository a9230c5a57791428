"""Sections in the change feed: made, renamed, moved and deleted, to every member of their
list (a list newly shared brings its sections, however many pages they take), to nobody else.
Every test runs on SQLite and PostgreSQL; live updates: tests/test_live.py."""

from collections.abc import Callable
from typing import Any

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.lists.test_sections import add_section
from tests.tasks.feed_helpers import read_feed, sync_kind
from tests.tasks.helpers import create_task


async def _sync(client: httpx.AsyncClient, since: str | None, *ids: str) -> dict[str, Any]:
    return await sync_kind(client, "sections", since, *ids)


async def test_a_section_made_renamed_moved_and_deleted_comes_in_the_feed(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    first = await _sync(alice, None)
    assert first["sections"] == []
    doing = await add_section(alice, work["id"], "Doing")
    done = await add_section(alice, work["id"], "Done")
    made = await _sync(alice, first["next"], doing["id"], done["id"])
    assert made["sections"] == [doing, done]
    renamed = (await alice.patch(f"/api/sections/{doing['id']}", json={"name": "Now"})).json()
    moved = await alice.post(f"/api/sections/{done['id']}/move", json={"before": doing["id"]})
    assert moved.status_code == 200, moved.text
    changed = await _sync(alice, made["next"], doing["id"], done["id"])
    assert changed["sections"] == [renamed, moved.json()]
    assert changed["deleted_sections"] == []
    assert (await alice.delete(f"/api/sections/{doing['id']}")).status_code == 204
    deleted = await _sync(alice, changed["next"], doing["id"])
    assert deleted["sections"] == []
    assert deleted["deleted_sections"] == [doing["id"]]
    # A first sync has every section there is, and no deletion.
    everything = await _sync(alice, None)
    assert everything["sections"] == [moved.json()]
    assert everything["deleted_sections"] == []


async def test_deleting_a_section_with_its_tasks_deletes_them_in_the_feed(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    task = await create_task(alice, list_id=work["id"], section_id=doing["id"])
    since = (await _sync(alice, None, task["id"]))["next"]
    assert (await alice.delete(f"/api/sections/{doing['id']}")).status_code == 204
    page = await read_feed(alice, since, wait_for=[doing["id"], task["id"]])
    assert page["deleted"] == [task["id"]]
    assert page["deleted_sections"] == [doing["id"]]


async def test_members_get_the_sections_others_see_none(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    shared = await create_list(alice, "Household")
    # Made before Bob joins: five sections, more than one page of the feed (two here).
    before = [await add_section(alice, shared["id"], f"Room {n}") for n in range(5)]
    async with new_user_client() as carol, new_user_client() as dave:
        bobs = (await _sync(bob, None))["next"]
        carols = (await _sync(carol, None))["next"]
        daves = (await _sync(dave, None))["next"]
        await share(alice, bob, shared["id"], "editor")
        await share(alice, carol, shared["id"], "viewer")
        joined = await _sync(bob, bobs, *(s["id"] for s in before))
        assert joined["sections"] == before
        by_bob = await add_section(bob, shared["id"], "Garden")
        gone = before[0]["id"]
        assert (await bob.delete(f"/api/sections/{gone}")).status_code == 204
        seen = await _sync(carol, carols, by_bob["id"], gone)
        assert sorted(s["id"] for s in seen["sections"]) == sorted(
            s["id"] for s in [*before[1:], by_bob]
        )
        assert seen["deleted_sections"] == [gone]
        owners = await _sync(alice, None)
        assert {s["id"] for s in owners["sections"]} == {s["id"] for s in [*before[1:], by_bob]}
        # Someone who shares nothing gets nothing, nor its deletions.
        assert (await alice.delete(f"/api/sections/{by_bob['id']}")).status_code == 204
        await _sync(alice, owners["next"], by_bob["id"])
        strangers = await _sync(dave, daves)
        assert strangers == {"sections": [], "deleted_sections": [], "next": strangers["next"]}


async def test_a_list_deleted_takes_its_sections_by_its_own_id(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    since = (await _sync(alice, None, doing["id"]))["next"]
    assert (await alice.delete(f"/api/lists/{work['id']}")).status_code == 204
    page = await read_feed(alice, since, wait_for=[work["id"]])
    assert page["deleted_lists"] == [work["id"]]
