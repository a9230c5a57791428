"""Tasks changed along with another change (subtasks completed or moved with their parent,
tasks unassigned when their assignee leaves a list) reach webhooks as the same events as when
changed directly, through HTTP on both databases."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.lists.sharing import remove, share, user_id
from tests.webhooks.helpers import create_webhook, wait_until
from tests.webhooks.receiver import Receiver

Clients = Callable[..., httpx.AsyncClient]


async def received(receiver: Receiver, count: int, path: str = "/hook") -> list[dict[str, Any]]:
    """Exactly `count` events at `path` (none more a moment later), by task id then time."""
    await wait_until(lambda: len(receiver.requests(path)) >= count, what=f"{count} events")
    await wait_until(lambda: True)  # a delivery too many would have had its chance
    got = receiver.events(path)
    assert len(got) == count, [(event["type"], event["data"].get("title")) for event in got]
    return sorted(got, key=lambda event: (event["created_at"], event["type"]))


async def shared_home(
    owner: httpx.AsyncClient, member: httpx.AsyncClient, role: str
) -> dict[str, Any]:
    """The owner's new list "Home", shared with `member` in `role`."""
    home: dict[str, Any] = (await owner.post("/api/lists", json={"name": "Home"})).json()
    await share(owner, member, home["id"], role)
    return home


async def family(client: httpx.AsyncClient, **fields: Any) -> tuple[dict[str, Any], ...]:
    """A parent with an open subtask and a completed one."""
    parent = (await client.post("/api/tasks", json={"title": "Party", **fields})).json()
    kids = []
    for title, done in (("Cake", False), ("Balloons", True)):
        kid = await client.post(
            "/api/tasks", json={"title": title, "parent_id": parent["id"], "is_completed": done}
        )
        assert kid.status_code == 201, kid.text
        kids.append(kid.json())
    return parent, *kids


@pytest.mark.parametrize("how", ["complete", "patch", "bulk"])
async def test_completing_a_parent_announces_each_open_subtask_completed(
    hook_client: Clients, receiver: Receiver, how: str
) -> None:
    async with hook_client() as alice:
        parent, cake, _done = await family(alice)
        await create_webhook(alice, receiver.url(), ["task.completed", "task.updated"])
        url = f"/api/tasks/{parent['id']}"
        if how == "complete":
            answer = await alice.post(f"{url}/complete")
        elif how == "patch":
            answer = await alice.patch(url, json={"is_completed": True})
        else:
            operations = [{"op": "complete", "id": parent["id"]}]
            answer = await alice.post("/api/tasks/bulk", json={"operations": operations})
        assert answer.status_code == 200, answer.text
        got = await received(receiver, 2)
        shown = (await alice.get(f"/api/tasks/{cake['id']}")).json()
    assert {event["type"] for event in got} == {"task.completed"}
    by_id = {event["data"]["id"]: event for event in got}
    assert set(by_id) == {parent["id"], cake["id"]}  # not the one completed before
    # The subtask's event is the one completing it directly gives: the task as the API shows it.
    assert by_id[cake["id"]]["data"] == shown
    assert shown["is_completed"] is True


async def test_a_parent_moved_to_a_list_moves_its_subtasks_in_their_events(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        parent, cake, balloons = await family(alice)
        errands = (await alice.post("/api/lists", json={"name": "Errands"})).json()
        await create_webhook(alice, receiver.url(), ["task.updated", "task.deleted"])
        moved = await alice.post(f"/api/tasks/{parent['id']}/move", json={"list_id": errands["id"]})
        assert moved.status_code == 200, moved.text
        got = await received(receiver, 3)
        shown = {
            task["id"]: (await alice.get(f"/api/tasks/{task['id']}")).json()
            for task in (parent, cake, balloons)
        }
    assert {event["type"] for event in got} == {"task.updated"}
    assert {event["data"]["id"]: event["data"] for event in got} == shown
    assert {task["list_id"] for task in shown.values()} == {errands["id"]}


async def test_subtasks_leaving_a_shared_list_with_their_parent_are_deleted_for_its_members(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob:
        shared = await shared_home(alice, bob, "editor")
        parent, cake, balloons = await family(alice, list_id=shared["id"])
        types = ["task.updated", "task.deleted", "task.completed"]
        await create_webhook(alice, receiver.url("/alice"), types)
        await create_webhook(bob, receiver.url("/bob"), types)
        # Moved to the inbox and completed in one PATCH: each its most specific event.
        patched = await alice.patch(
            f"/api/tasks/{parent['id']}", json={"list_id": None, "is_completed": True}
        )
        assert patched.status_code == 200, patched.text
        to_alice = await received(receiver, 3, "/alice")
        to_bob = await received(receiver, 3, "/bob")
    kinds = {event["data"]["id"]: event["type"] for event in to_alice}
    assert kinds == {
        parent["id"]: "task.completed",
        cake["id"]: "task.completed",
        balloons["id"]: "task.updated",
    }
    assert {event["data"]["list_id"] for event in to_alice} == {None}
    # Bob sees nothing of where they went: as his change feed, deletions.
    assert {event["type"] for event in to_bob} == {"task.deleted"}
    assert {event["data"]["id"] for event in to_bob} == {parent["id"], cake["id"], balloons["id"]}


@pytest.mark.parametrize("who", ["removed", "leaves"])
async def test_a_member_leaving_a_list_is_unassigned_as_a_task_update(
    hook_client: Clients, receiver: Receiver, who: str
) -> None:
    async with hook_client() as alice, hook_client() as bob, hook_client() as carol:
        alice_id, bob_id = await user_id(alice), await user_id(bob)
        shared = await shared_home(alice, bob, "editor")
        await share(alice, carol, shared["id"], "viewer")
        fields = {"list_id": shared["id"], "assignee_id": bob_id}
        tap = (await alice.post("/api/tasks", json={"title": "Fix tap", **fields})).json()
        other = await alice.post("/api/tasks", json={"title": "Bins", "list_id": shared["id"]})
        assert tap["assignee_id"] == bob_id
        assert other.status_code == 201
        await create_webhook(alice, receiver.url("/alice"), ["task.updated"])
        await create_webhook(carol, receiver.url("/carol"), ["task.updated"])
        if who == "removed":
            await remove(alice, shared["id"], bob_id)
        else:
            await remove(bob, shared["id"], bob_id)
        [to_alice] = await received(receiver, 1, "/alice")
        [to_carol] = await received(receiver, 1, "/carol")
        shown = (await alice.get(f"/api/tasks/{tap['id']}")).json()
    assert shown["assignee_id"] is None
    assert to_alice["data"] == shown
    assert to_carol["data"] == shown
    assert to_alice["actor_id"] == to_carol["actor_id"] == (bob_id if who == "leaves" else alice_id)


async def test_a_watched_task_answers_errors_as_an_unwatched_one(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob:
        shared = await shared_home(alice, bob, "viewer")
        watched = (await alice.post("/api/tasks", json={"title": "Tap"})).json()
        in_list = await alice.post("/api/tasks", json={"title": "Bins", "list_id": shared["id"]})
        await create_webhook(alice, receiver.url())
        url = f"/api/tasks/{watched['id']}"
        stale = {"If-Match": '"999"'}
        assert (await alice.patch(url, json={"title": "x"}, headers=stale)).status_code == 412
        assert (await alice.post(f"{url}/complete", headers=stale)).status_code == 412
        assert (await alice.delete(url, headers=stale)).status_code == 412
        assert (await bob.patch(url, json={"title": "x"})).status_code == 404
        assert (await bob.delete(url)).status_code == 404
        viewer_url = f"/api/tasks/{in_list.json()['id']}"
        assert (await bob.patch(viewer_url, json={"title": "x"})).status_code == 403
        assert (await bob.post(f"{viewer_url}/complete")).status_code == 403
        assert (await alice.delete(url)).status_code == 204
        got = await received(receiver, 1)
    # Only the deletion happened.
    assert [(event["type"], event["data"]) for event in got] == [
        ("task.deleted", {"id": watched["id"]})
    ]
