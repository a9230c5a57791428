"""Sections reach the webhooks of everyone who sees their list: `section.created`,
`section.updated` and `section.deleted`, with `task.deleted` for each task a section takes
with it; an outsider's hear nothing."""

from collections.abc import Callable

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, user_id
from tests.webhooks.helpers import create_webhook
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_events import events_of

Clients = Callable[..., httpx.AsyncClient]


async def test_section_events_reach_the_lists_audience(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice, hook_client() as bob, hook_client() as carol:
        listed = await create_list(alice, "Shared")
        await share(alice, bob, listed["id"], "editor")
        await create_webhook(alice, receiver.url())
        await create_webhook(carol, receiver.url("/outsider"))
        base = f"/api/lists/{listed['id']}/sections"
        made = (await bob.post(base, json={"name": "Doing"})).json()
        renamed = (await bob.patch(f"/api/sections/{made['id']}", json={"name": "Now"})).json()
        task = await bob.post(
            "/api/tasks", json={"title": "T", "list_id": listed["id"], "section_id": made["id"]}
        )
        assert (await bob.delete(f"/api/sections/{made['id']}")).status_code == 204
        got = await events_of(receiver, 5)
        bob_id = await user_id(bob)
    by_type = {event["type"]: event for event in got}
    assert sorted(by_type) == [
        "section.created",
        "section.deleted",
        "section.updated",
        "task.created",
        "task.deleted",
    ]
    assert {event["actor_id"] for event in got} == {bob_id}
    assert by_type["section.created"]["data"] == made
    assert by_type["section.updated"]["data"] == renamed
    assert by_type["task.created"]["data"]["section_id"] == made["id"]
    assert by_type["task.deleted"]["data"] == {"id": task.json()["id"]}
    assert by_type["section.deleted"]["data"] == {"id": made["id"], "list_id": listed["id"]}
    assert receiver.requests("/outsider") == []
