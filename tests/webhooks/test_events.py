"""Each change reaches the webhooks of everyone who can see it, as one signed event of the
most specific type, through HTTP to a real receiver on 127.0.0.1, on both databases."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from tests.lists.sharing import remove, share, user_id
from tests.webhooks.helpers import create_webhook, deliveries, ended, wait_until
from tests.webhooks.receiver import Receiver

EVENT_FIELDS = {"id", "type", "created_at", "actor_id", "data"}
TASK_FIELDS_SAMPLE = {"id", "title", "is_completed", "list_id", "created_by", "updated_at"}

Clients = Callable[..., httpx.AsyncClient]


async def events_of(receiver: Receiver, count: int, path: str = "/hook") -> list[Any]:
    """The events received at `path`, once there are `count`, in the order they happened
    (deliveries due at once are sent at once, so they may arrive in any order)."""
    await wait_until(lambda: len(receiver.requests(path)) >= count, what=f"{count} events")
    return sorted(receiver.events(path), key=lambda event: event["created_at"])


async def test_every_task_event_arrives_signed_with_its_shape(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        me = await user_id(alice)
        hook = await create_webhook(alice, receiver.url())
        created = (await alice.post("/api/tasks", json={"title": "Milk"})).json()
        task_url = f"/api/tasks/{created['id']}"
        assert (await alice.patch(task_url, json={"title": "Oat milk"})).status_code == 200
        assert (await alice.patch(task_url, json={"is_completed": True})).status_code == 200
        assert (await alice.patch(task_url, json={"is_completed": False})).status_code == 200
        assert (await alice.delete(task_url)).status_code == 204
        got = await events_of(receiver, 5)
    assert [event["type"] for event in got] == [
        "task.created",
        "task.updated",
        "task.completed",
        "task.reopened",
        "task.deleted",
    ]
    for request in receiver.requests():
        event = request.verified(hook["secret"])
        assert request.headers["webhook-id"] == event["id"]
        assert request.headers["content-type"] == "application/json"
        assert int(request.headers["webhook-timestamp"]) > 0
        assert request.headers["webhook-signature"].startswith("v1,")
        assert set(event) == EVENT_FIELDS
        assert event["actor_id"] == me
    assert len({event["id"] for event in got}) == 5
    assert set(got[0]["data"]) >= TASK_FIELDS_SAMPLE
    assert got[0]["data"]["title"] == "Milk"
    assert got[1]["data"]["title"] == "Oat milk"
    assert got[2]["data"]["is_completed"] is True
    assert got[3]["data"]["is_completed"] is False
    assert got[4]["data"] == {"id": created["id"]}


async def test_a_wrong_secret_does_not_verify(hook_client: Clients, receiver: Receiver) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url())
        other = await create_webhook(alice, receiver.url("/other"))
        await alice.post("/api/tasks", json={"title": "Milk"})
        await events_of(receiver, 1)
    with pytest.raises(WebhookVerificationError):
        receiver.requests("/hook")[0].verified(other["secret"])


async def test_complete_and_reopen_routes_bulk_and_move_are_their_events(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url())
        task = (await alice.post("/api/tasks", json={"title": "Milk"})).json()
        groceries = (await alice.post("/api/lists", json={"name": "Groceries"})).json()
        assert (await alice.post(f"/api/tasks/{task['id']}/complete")).status_code == 200
        assert (await alice.post(f"/api/tasks/{task['id']}/complete")).status_code == 200
        assert (await alice.post(f"/api/tasks/{task['id']}/reopen")).status_code == 200
        moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": groceries["id"]})
        assert moved.status_code == 200, moved.text
        bulk = await alice.post(
            "/api/tasks/bulk",
            json={
                "operations": [
                    {"op": "create", "data": {"title": "Eggs"}},
                    {"op": "complete", "id": task["id"]},
                    {"op": "delete", "id": task["id"]},
                ]
            },
        )
        assert bulk.status_code == 200, bulk.text
        got = await events_of(receiver, 8)
    # Completing a completed task changes nothing: no event.
    assert [event["type"] for event in got] == [
        "task.created",
        "list.created",
        "task.completed",
        "task.reopened",
        "task.updated",
        "task.created",
        "task.completed",
        "task.deleted",
    ]
    assert got[4]["data"]["list_id"] == groceries["id"]


async def test_list_events_and_a_deleted_list_deletes_its_tasks(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        types = ["list.created", "list.updated", "list.deleted", "task.deleted"]
        await create_webhook(alice, receiver.url(), types)
        groceries = (await alice.post("/api/lists", json={"name": "Groceries"})).json()
        renamed = await alice.patch(f"/api/lists/{groceries['id']}", json={"name": "Shop"})
        assert renamed.status_code == 200
        one = await alice.post("/api/tasks", json={"title": "a", "list_id": groceries["id"]})
        two = await alice.post("/api/tasks", json={"title": "b", "list_id": groceries["id"]})
        assert (await alice.delete(f"/api/lists/{groceries['id']}")).status_code == 204
        got = await events_of(receiver, 5)
    assert [event["type"] for event in got[:2]] == ["list.created", "list.updated"]
    # One transaction: the list's event and one for each task it held.
    assert sorted(event["type"] for event in got[2:]) == [
        "list.deleted",
        "task.deleted",
        "task.deleted",
    ]
    gone = {event["type"]: event["data"] for event in got[2:]}
    assert got[0]["data"]["name"] == "Groceries"
    assert got[0]["data"]["owner_id"] == got[0]["actor_id"]
    assert got[1]["data"]["name"] == "Shop"
    assert gone["list.deleted"] == {"id": groceries["id"]}
    tasks_gone = {event["data"]["id"] for event in got[2:] if event["type"] == "task.deleted"}
    assert tasks_gone == {one.json()["id"], two.json()["id"]}


async def test_only_the_subscribed_types_arrive(hook_client: Clients, receiver: Receiver) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url(), ["task.completed"])
        task = (await alice.post("/api/tasks", json={"title": "Milk"})).json()
        await alice.patch(f"/api/tasks/{task['id']}", json={"title": "Oat milk"})
        await alice.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
        got = await events_of(receiver, 1)
    assert [event["type"] for event in got] == ["task.completed"]


async def test_a_shared_lists_members_hear_of_each_others_changes_and_outsiders_do_not(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob, hook_client() as eve:
        bob_id = await user_id(bob)
        alice_id = await user_id(alice)
        await create_webhook(alice, receiver.url("/alice"))
        await create_webhook(bob, receiver.url("/bob"))
        await create_webhook(eve, receiver.url("/eve"))
        shared = (await alice.post("/api/lists", json={"name": "Home"})).json()
        await share(alice, bob, shared["id"], "editor")
        by_bob = await bob.post("/api/tasks", json={"title": "Fix tap", "list_id": shared["id"]})
        assert by_bob.status_code == 201
        await eve.post("/api/tasks", json={"title": "Eve's own"})
        await remove(alice, shared["id"], bob_id)
        alice_got = await events_of(receiver, 4, "/alice")
        bob_got = await events_of(receiver, 3, "/bob")
        await events_of(receiver, 1, "/eve")
    assert [e["type"] for e in alice_got] == [
        "list.created",
        "list.member_added",
        "task.created",
        "list.member_removed",
    ]
    assert alice_got[1]["data"] == {"list_id": shared["id"], "user_id": bob_id, "role": "editor"}
    assert alice_got[2]["actor_id"] == bob_id
    assert alice_got[3]["actor_id"] == alice_id
    assert alice_got[3]["data"] == {"list_id": shared["id"], "user_id": bob_id, "role": "editor"}
    assert [e["type"] for e in bob_got] == [
        "list.member_added",
        "task.created",
        "list.member_removed",
    ]
    # Eve sees none of it: only her own task.
    await wait_until(lambda: True)
    assert [e["type"] for e in receiver.events("/eve")] == ["task.created"]
    assert receiver.events("/eve")[0]["data"]["title"] == "Eve's own"


async def test_a_user_with_no_webhook_gets_no_deliveries_and_no_rows(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob:
        hook = await create_webhook(bob, receiver.url())
        await alice.post("/api/tasks", json={"title": "Alice's"})
        await bob.post("/api/tasks", json={"title": "Bob's"})
        await events_of(receiver, 1)
        rows = await deliveries(bob, hook["id"])
    assert [row["type"] for row in rows] == ["task.created"]
    assert [e["data"]["title"] for e in receiver.events()] == ["Bob's"]


async def test_ping_reaches_a_webhook_whatever_its_events(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        me = await user_id(alice)
        hook = await create_webhook(alice, receiver.url(), ["task.deleted"])
        response = await alice.post(f"/api/webhooks/{hook['id']}/ping")
        assert response.status_code == 202, response.text
        assert response.json()["type"] == "ping"
        assert response.json()["status"] == "pending"
        got = await events_of(receiver, 1)
        rows = await ended(alice, hook["id"])
    assert got[0]["type"] == "ping"
    assert got[0]["actor_id"] == me
    assert got[0]["data"] == {"webhook_id": hook["id"]}
    assert rows[0]["status"] == "succeeded"
    assert rows[0]["response_status"] == 204
    assert rows[0]["attempts"] == 1
    assert rows[0]["event_id"] == got[0]["id"]


async def test_completing_a_recurring_task_announces_the_occurrence_it_completed(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url(), ["task.completed", "task.created"])
        task = await alice.post(
            "/api/tasks",
            json={"title": "Water plants", "due_at": "2030-01-06T09:00:00Z",
                  "recurrence": "FREQ=WEEKLY"},
        )  # fmt: skip
        assert task.status_code == 201, task.text
        moved = await alice.post(f"/api/tasks/{task.json()['id']}/complete")
        got = await events_of(receiver, 2)
    assert [event["type"] for event in got] == ["task.created", "task.completed"]
    completed = got[1]["data"]  # the same task, at its next occurrence, and the one done
    assert completed == {**moved.json(), "occurrence": "2030-01-06T09:00:00Z"}
    assert completed["due_at"] == "2030-01-13T09:00:00Z"
    assert completed["is_completed"] is False


async def test_deleting_a_task_announces_its_subtasks_deleted_too(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url(), ["task.deleted"])
        parent = (await alice.post("/api/tasks", json={"title": "Party"})).json()
        child = await alice.post("/api/tasks", json={"title": "Cake", "parent_id": parent["id"]})
        assert child.status_code == 201, child.text
        assert (await alice.delete(f"/api/tasks/{parent['id']}")).status_code == 204
        got = await events_of(receiver, 2)
    assert {event["data"]["id"] for event in got} == {parent["id"], child.json()["id"]}
    assert {event["type"] for event in got} == {"task.deleted"}


async def test_a_task_moved_out_of_a_shared_list_is_deleted_for_those_who_lose_it(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob:
        shared = (await alice.post("/api/lists", json={"name": "Home"})).json()
        await share(alice, bob, shared["id"], "editor")
        task = await alice.post("/api/tasks", json={"title": "Tap", "list_id": shared["id"]})
        await create_webhook(alice, receiver.url("/alice"), ["task.updated", "task.deleted"])
        await create_webhook(bob, receiver.url("/bob"), ["task.updated", "task.deleted"])
        moved = await alice.post(f"/api/tasks/{task.json()['id']}/move", json={"list_id": None})
        assert moved.status_code == 200, moved.text
        [to_alice] = await events_of(receiver, 1, "/alice")
        [to_bob] = await events_of(receiver, 1, "/bob")
    assert to_alice["type"] == "task.updated"
    assert to_alice["data"]["list_id"] is None
    # Bob sees nothing of where it went: as his change feed, a deletion.
    assert to_bob["type"] == "task.deleted"
    assert to_bob["data"] == {"id": task.json()["id"]}


async def test_a_quick_add_is_announced_as_a_create(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url())
        made = await alice.post("/api/tasks/quick", json={"text": "Milk 2030-12-24 @shop p1"})
        assert made.status_code == 201, made.text
        [event] = await events_of(receiver, 1)
    assert event["type"] == "task.created"
    task = made.json()
    assert event["data"] == {key: value for key, value in task.items() if key != "parsed"}


async def test_a_task_event_carries_the_start_and_the_next_occurrence_its_own(
    hook_client: Clients, receiver: Receiver
) -> None:
    """The task JSON of an event is the API's: a start, and the next occurrence of a series
    that follows its start, starting a week on."""
    async with hook_client() as alice:
        await create_webhook(alice, receiver.url())
        body = {"title": "Water", "start_date": "2026-12-01", "recurrence": "FREQ=WEEKLY"}
        created = (await alice.post("/api/tasks", json=body)).json()
        done = await alice.post(f"/api/tasks/{created['id']}/complete")
        assert done.status_code == 200, done.text
        got = await events_of(receiver, 2)
    assert got[0]["data"] == created
    completed = got[1]["data"]
    assert (completed["start_date"], completed["start_at"]) == ("2026-12-08", None)
    assert completed["occurrence"] == "2026-12-01"


async def test_a_restored_task_is_a_task_created_again_with_its_id(
    owner: httpx.AsyncClient,
) -> None:
    """(no deliverer runs: the deliveries stay pending, newest first)"""
    webhook = await create_webhook(owner, "http://127.0.0.1:9/hook")
    task = (await owner.post("/api/tasks", json={"title": "Back again"})).json()
    assert (await owner.delete(f"/api/tasks/{task['id']}")).status_code == 204
    assert (await owner.post(f"/api/tasks/{task['id']}/restore")).status_code == 200
    types = [d["type"] for d in await deliveries(owner, webhook["id"])]
    assert types == ["task.created", "task.deleted", "task.created"]
