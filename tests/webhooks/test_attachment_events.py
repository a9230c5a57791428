"""Files reach the webhooks of everyone who sees their task: `attachment.created` with the
file's metadata, `attachment.deleted` with its id and task; an outsider's hear nothing."""

from collections.abc import Callable

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.webhooks.helpers import create_webhook
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_events import events_of

Clients = Callable[..., httpx.AsyncClient]


async def test_attachment_events_reach_the_task_s_audience(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob, hook_client() as carol:
        listed = await create_list(alice, "Shared")
        await share(alice, bob, listed["id"], "editor")
        task = (await alice.post("/api/tasks", json={"title": "T", "list_id": listed["id"]})).json()
        await create_webhook(alice, receiver.url())
        await create_webhook(carol, receiver.url("/outsider"))
        made = await bob.post(
            f"/api/tasks/{task['id']}/attachments",
            files={"file": ("plan.txt", b"the plan", "text/plain")},
        )
        assert made.status_code == 201, made.text
        file = made.json()
        assert (await bob.delete(f"/api/attachments/{file['id']}")).status_code == 204
        got = await events_of(receiver, 2)
        bob_id = await user_id(bob)
    by_type = {event["type"]: event for event in got}
    assert sorted(by_type) == ["attachment.created", "attachment.deleted"]
    assert {event["actor_id"] for event in got} == {bob_id}
    assert by_type["attachment.created"]["data"] == file
    assert by_type["attachment.deleted"]["data"] == {"id": file["id"], "task_id": task["id"]}
    assert receiver.requests("/outsider") == []
