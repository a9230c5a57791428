"""Sections in the activity, on both databases: a section made, renamed and deleted is an item
of its list's (a reorder is none), a task put in another section of its list an item of the
task's, whoever made them; members read them, others find neither."""

from collections.abc import Callable

import httpx

from tests.collaboration.test_activity import actions, items
from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.lists.test_sections import add_section
from tests.support import assert_error
from tests.tasks.helpers import bulk, create_task


async def test_a_sections_life_is_in_its_lists_activity(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    shared = await create_list(alice, "Home")
    await share(alice, bob, shared["id"], "editor")
    path = f"/api/lists/{shared['id']}/activity"
    doing = await add_section(bob, shared["id"], "Doing")
    other = await add_section(alice, shared["id"], "Later")
    moved = await alice.post(f"/api/sections/{other['id']}/move", json={"before": doing["id"]})
    assert moved.status_code == 200  # a reorder: no item
    renamed = await bob.patch(f"/api/sections/{doing['id']}", json={"name": "Now"})
    assert renamed.status_code == 200
    same = await bob.patch(f"/api/sections/{doing['id']}", json={"name": "Now"})
    assert same.status_code == 200  # no change of name: no item
    assert (await alice.delete(f"/api/sections/{doing['id']}")).status_code == 204
    found = await items(alice, path)
    assert actions(found) == [
        "section.deleted",
        "section.updated",
        "section.created",
        "section.created",
        "member.joined",
    ]
    deleted, updated, _, created, _ = found
    alice_id, bob_id = await user_id(alice), await user_id(bob)
    assert (created["actor_id"], created["task_id"]) == (bob_id, None)
    assert created["changes"] == {"section_id": [None, doing["id"]], "name": [None, "Doing"]}
    assert (updated["actor_id"], updated["changes"]) == (
        bob_id,
        {"section_id": [doing["id"], doing["id"]], "name": ["Doing", "Now"]},
    )
    assert (deleted["actor_id"], deleted["changes"]) == (
        alice_id,
        {"section_id": [doing["id"], None], "name": ["Now", None]},
    )
    async with new_user_client() as carol, new_user_client() as dave:
        await share(alice, carol, shared["id"], "viewer")
        assert actions(await items(carol, path))[1] == "section.deleted"
        assert_error(await dave.get(path), 404, "NOT_FOUND")


async def test_a_task_put_in_another_section_is_an_item_of_its_own(
    alice: httpx.AsyncClient,
) -> None:
    home = await create_list(alice, "Home")
    work = await create_list(alice, "Work")
    doing = await add_section(alice, home["id"], "Doing")
    done = await add_section(alice, home["id"], "Done")
    task = await create_task(alice, list_id=home["id"])
    path = f"/api/tasks/{task['id']}/activity"
    # By PATCH, by move, by bulk: each an item of the section it left and the one it went to.
    patched = await alice.patch(f"/api/tasks/{task['id']}", json={"section_id": doing["id"]})
    assert patched.status_code == 200, patched.text
    moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"section_id": done["id"]})
    assert moved.status_code == 200, moved.text
    operation = {"op": "update", "id": task["id"], "data": {"section_id": None}}
    assert (await bulk(alice, operation)).status_code == 200
    found = await items(alice, path)
    assert [item["changes"] for item in found[:3]] == [
        {"section_id": [done["id"], None]},
        {"section_id": [doing["id"], done["id"]]},
        {"section_id": [None, doing["id"]]},
    ]
    assert actions(found) == ["task.updated", "task.updated", "task.updated", "task.created"]
    # To another list: the move alone (its section goes with it, by the rule).
    await alice.patch(f"/api/tasks/{task['id']}", json={"section_id": doing["id"]})
    went = await alice.patch(f"/api/tasks/{task['id']}", json={"list_id": work["id"]})
    assert went.status_code == 200, went.text
    assert went.json()["section_id"] is None
    assert actions(await items(alice, path))[0] == "task.moved"
