"""Lists inside lists: a list's `parent_id` is null or a list of the same owner, in a tree at
most 3 deep without cycles; deleting a parent moves its children up (or deletes them with
`with_children=true`); sharing stays per list; a list handed over leaves its parent. Every
test runs on SQLite and PostgreSQL."""

from typing import Any

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, unknown_id, user_id
from tests.tasks.helpers import assert_validation_error, create_task


async def _lists(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/api/lists")
    assert response.status_code == 200, response.text
    return {item["name"]: item for item in response.json()}


async def _move(client: httpx.AsyncClient, list_id: str, parent_id: str | None) -> httpx.Response:
    return await client.patch(f"/api/lists/{list_id}", json={"parent_id": parent_id})


async def test_a_list_is_made_inside_another_and_shows_its_parent(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    assert work["parent_id"] is None
    client = await create_list(alice, "Client", parent_id=work["id"])
    assert client["parent_id"] == work["id"]
    got = await alice.get(f"/api/lists/{client['id']}")
    assert got.json()["parent_id"] == work["id"]
    assert (await _lists(alice))["Client"]["parent_id"] == work["id"]


async def test_a_list_moves_inside_another_and_back_to_the_top(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home")
    moved = await _move(alice, home["id"], work["id"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["parent_id"] == work["id"]
    back = await _move(alice, home["id"], None)
    assert back.json()["parent_id"] is None


async def test_a_tree_goes_three_levels_deep_and_no_deeper(alice: httpx.AsyncClient) -> None:
    one = await create_list(alice, "One")
    two = await create_list(alice, "Two", parent_id=one["id"])
    three = await create_list(alice, "Three", parent_id=two["id"])
    refused = await alice.post("/api/lists", json={"name": "Four", "parent_id": three["id"]})
    assert_validation_error(refused, "parent_id")
    # A list with a child of its own cannot go under the second level either.
    top = await create_list(alice, "Top")
    await create_list(alice, "Under top", parent_id=top["id"])
    assert_validation_error(await _move(alice, top["id"], two["id"]), "parent_id")
    assert (await _move(alice, top["id"], one["id"])).status_code == 200


async def test_a_list_cannot_go_inside_itself_or_a_list_under_it(
    alice: httpx.AsyncClient,
) -> None:
    one = await create_list(alice, "One")
    two = await create_list(alice, "Two", parent_id=one["id"])
    assert_validation_error(await _move(alice, one["id"], one["id"]), "parent_id")
    assert_validation_error(await _move(alice, one["id"], two["id"]), "parent_id")


async def test_a_parent_must_be_one_of_the_owners_own_lists(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    theirs = await create_list(bob, "Bob's")
    await share(bob, alice, theirs["id"])
    for parent in (theirs["id"], unknown_id()):
        refused = await alice.post("/api/lists", json={"name": "Mine", "parent_id": parent})
        assert_validation_error(refused, "parent_id")
    mine = await create_list(alice, "Mine")
    assert_validation_error(await _move(alice, mine["id"], theirs["id"]), "parent_id")
    assert_validation_error(await _move(alice, mine["id"], "not-an-id"), "parent_id")


async def test_deleting_a_parent_moves_its_children_up_a_level(
    alice: httpx.AsyncClient,
) -> None:
    one = await create_list(alice, "One")
    two = await create_list(alice, "Two", parent_id=one["id"])
    three = await create_list(alice, "Three", parent_id=two["id"])
    task = await create_task(alice, title="Kept", list_id=three["id"])
    assert (await alice.delete(f"/api/lists/{two['id']}")).status_code == 204
    lists = await _lists(alice)
    assert set(lists) == {"One", "Three"}
    assert lists["Three"]["parent_id"] == one["id"]
    assert (await alice.get(f"/api/tasks/{task['id']}")).status_code == 200


async def test_deleting_a_parent_with_children_deletes_theirs_and_their_tasks(
    alice: httpx.AsyncClient,
) -> None:
    one = await create_list(alice, "One")
    two = await create_list(alice, "Two", parent_id=one["id"])
    three = await create_list(alice, "Three", parent_id=two["id"])
    await create_list(alice, "Other")
    task = await create_task(alice, title="Gone", list_id=three["id"])
    response = await alice.delete(f"/api/lists/{one['id']}", params={"with_children": "true"})
    assert response.status_code == 204, response.text
    assert set(await _lists(alice)) == {"Other"}
    assert (await alice.get(f"/api/tasks/{task['id']}")).status_code == 404
    for gone in (one, two, three):
        assert (await alice.get(f"/api/lists/{gone['id']}")).status_code == 404


async def test_sharing_stays_per_list(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    client = await create_list(alice, "Client", parent_id=work["id"])
    seen = await share(alice, bob, client["id"])
    # Bob sees the child alone, at the top of his lists; not its parent.
    assert seen["parent_id"] is None
    assert set(await _lists(bob)) == {"Client"}
    assert (await bob.get(f"/api/lists/{work['id']}")).status_code == 404
    # A member of the parent is not a member of the child either.
    other = await create_list(alice, "Other")
    await share(alice, bob, work["id"])
    assert (await _lists(bob))["Client"]["parent_id"] == work["id"]
    await create_list(alice, "Inside", parent_id=work["id"])
    assert set(await _lists(bob)) == {"Client", "Work"}
    assert other["id"] not in {item["id"] for item in (await _lists(bob)).values()}


async def test_a_list_handed_over_leaves_its_parent_and_its_children_move_up(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    work = await create_list(alice, "Work")
    client = await create_list(alice, "Client", parent_id=work["id"])
    project = await create_list(alice, "Project", parent_id=client["id"])
    await share(alice, bob, client["id"])
    response = await alice.post(
        f"/api/lists/{client['id']}/owner", json={"user_id": await user_id(bob)}
    )
    assert response.status_code == 200, response.text
    # Its parent stays Alice's: for both it is at the top now.
    assert response.json()["parent_id"] is None
    assert (await _lists(bob))["Client"]["parent_id"] is None
    # The list inside it stays Alice's and takes its place, inside Work.
    assert (await _lists(alice))["Project"]["parent_id"] == work["id"]
    assert project["parent_id"] == client["id"]


async def test_an_editor_cannot_move_a_shared_list(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    await share(alice, bob, shared["id"])
    mine = await create_list(bob, "Mine")
    response = await _move(bob, shared["id"], mine["id"])
    assert response.status_code == 403, response.text
