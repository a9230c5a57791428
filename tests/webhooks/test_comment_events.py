"""Comments reach the webhooks of everyone who sees their task: `comment.created`,
`comment.updated` and `comment.deleted`, whoever wrote them; an outsider's hear nothing."""

from collections.abc import Callable

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.webhooks.helpers import create_webhook
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_events import events_of

Clients = Callable[..., httpx.AsyncClient]


async def test_comment_events_reach_the_tasks_audience_with_the_comment(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob, hook_client() as carol:
        listed = await create_list(alice, "Shared")
        await share(alice, bob, listed["id"], "editor")
        await create_webhook(alice, receiver.url())
        await create_webhook(carol, receiver.url("/outsider"))
        await create_webhook(alice, receiver.url("/tasks-only"), events=["task.updated"])
        task = (await alice.post("/api/tasks", json={"title": "T", "list_id": listed["id"]})).json()
        base = f"/api/tasks/{task['id']}/comments"
        made = (await bob.post(base, json={"body": "Hi"})).json()
        changed = await bob.patch(f"{base}/{made['id']}", json={"body": "Hello"})
        assert changed.status_code == 200
        assert (await alice.delete(f"{base}/{made['id']}")).status_code == 204
        got = await events_of(receiver, 4)
        bob_id, alice_id = await user_id(bob), await user_id(alice)
    assert [event["type"] for event in got] == [
        "task.created",
        "comment.created",
        "comment.updated",
        "comment.deleted",
    ]
    assert got[1]["actor_id"] == bob_id
    assert got[1]["data"] == made
    assert got[2]["data"]["body"] == "Hello"
    assert got[3]["actor_id"] == alice_id
    assert got[3]["data"] == {"id": made["id"], "task_id": task["id"]}
    assert receiver.requests("/outsider") == []
    assert receiver.requests("/tasks-only") == []


async def test_a_webhook_may_subscribe_to_the_comment_events(hook_client: Clients) -> None:
    async with hook_client() as alice:
        hook = await create_webhook(
            alice, "http://127.0.0.1:9/x", events=["comment.created", "comment.deleted"]
        )
    assert hook["events"] == ["comment.created", "comment.deleted"]
