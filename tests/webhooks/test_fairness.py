"""One user's receivers that never answer do not hold up another user's delivery, on both
databases, through HTTP, with real receivers on 127.0.0.1 and the tests' attempt timeout."""

from collections.abc import Callable

import httpx

from tests.webhooks.helpers import create_webhook, deliveries, ended, wait_until
from tests.webhooks.receiver import Receiver, never_answering

Clients = Callable[..., httpx.AsyncClient]
STUCK_WEBHOOKS = 20  # the most a user may have
TASKS = 100  # a delivery each to every stuck webhook: 2 000 deliveries


async def test_a_receiver_that_never_answers_slows_only_its_own_webhooks(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with never_answering() as silent, hook_client() as stuck, hook_client() as healthy:
        hooks = [
            await create_webhook(stuck, silent.url(f"/stuck/{n}")) for n in range(STUCK_WEBHOOKS)
        ]
        created = await stuck.post(
            "/api/tasks/bulk",
            json={
                "operations": [
                    {"op": "create", "data": {"title": f"task {n}"}} for n in range(TASKS)
                ]
            },
        )
        assert created.status_code == 200, created.text
        # Every stuck webhook has attempts in flight, none answered.
        await wait_until(
            lambda: len(set(silent.paths)) == STUCK_WEBHOOKS, what="every stuck webhook's attempt"
        )

        hook = await create_webhook(healthy, receiver.url())
        task = (await healthy.post("/api/tasks", json={"title": "Milk"})).json()
        [delivery] = await ended(healthy, hook["id"])
        assert delivery["status"] == "succeeded"
        assert delivery["attempts"] == 1
        assert [event["data"]["id"] for event in receiver.events()] == [task["id"]]

        # It went ahead of the stuck webhooks' 2 000 earlier deliveries, most of which have not
        # ended an attempt yet: they wait for their own webhooks' places only.
        stuck_rows = [
            row
            for stuck_hook in hooks
            for row in (
                await stuck.get(
                    f"/api/webhooks/{stuck_hook['id']}/deliveries", params={"limit": 100}
                )
            ).json()
        ]
        assert len(stuck_rows) == STUCK_WEBHOOKS * TASKS
        untouched = [
            row for row in stuck_rows if row["status"] == "pending" and row["attempts"] == 0
        ]
        assert len(untouched) > len(stuck_rows) // 2
        assert await deliveries(healthy, hook["id"]) == [delivery]
