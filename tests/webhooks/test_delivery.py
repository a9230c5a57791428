"""Delivery to a real receiver on 127.0.0.1, on both databases: retries on the schedule, then
`failed`; disabling after failures in a row and enabling again; a manual retry; rotation's two
signatures; redirects not followed; answers kept cut; timeouts, refused connections, and
addresses refused at connection time."""

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.support import make_settings
from tests.webhooks.helpers import FAST, create_webhook, deliveries, delivering, ended, wait_until
from tests.webhooks.receiver import Answer, Receiver
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.claims import claim, release
from todo_api.tables.webhooks import webhook_deliveries

Clients = Callable[..., httpx.AsyncClient]
SCHEDULE = FAST["webhook_retry_schedule"]


async def test_a_failing_receiver_is_tried_again_on_the_schedule_then_the_delivery_fails(
    hook_client: Clients, receiver: Receiver
) -> None:
    receiver.answer = Answer(status=500, body=b"Internal Server Error")
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        await alice.post("/api/tasks", json={"title": "Milk"})
        [row] = await ended(alice, hook["id"])
    assert row["status"] == "failed"
    assert row["attempts"] == 1 + len(SCHEDULE)
    assert row["response_status"] == 500
    assert row["error"] == "HTTP 500: Internal Server Error"
    assert row["next_attempt_at"] is None
    assert row["duration_ms"] >= 0
    arrivals = [request.at for request in receiver.requests()]
    assert len(arrivals) == 1 + len(SCHEDULE)
    # Each delay counts from the end of the attempt before it.
    for before, after, delay in zip(arrivals, arrivals[1:], SCHEDULE, strict=False):
        assert after - before >= delay
    # Every attempt is the same event, signed anew.
    assert len({request.headers["webhook-id"] for request in receiver.requests()}) == 1
    assert len({request.body for request in receiver.requests()}) == 1


async def test_a_pending_delivery_shows_its_next_attempt(
    hook_settings: Settings, tmp_path: Path, owner: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.answer = Answer(status=503)
    slow = make_settings(
        hook_settings.database_url or "", tmp_path, **{**FAST, "webhook_retry_schedule": (600,)}
    )
    hook = await create_webhook(owner, receiver.url())
    await owner.post(f"/api/webhooks/{hook['id']}/ping")
    async with delivering(slow):
        rows = await wait_until(lambda: _attempted(owner, hook["id"]), what="a first attempt")
    [row] = rows
    assert row["status"] == "pending"
    assert row["attempts"] == 1
    assert row["next_attempt_at"] is not None
    assert row["error"] == "HTTP 503: "


async def _attempted(client: httpx.AsyncClient, webhook_id: str) -> list[dict[str, object]] | None:
    rows = await deliveries(client, webhook_id)
    return rows if rows and all(int(str(row["attempts"])) >= 1 for row in rows) else None


async def test_a_webhook_failing_too_often_in_a_row_is_disabled_and_enabling_it_resets(
    hook_client: Clients, receiver: Receiver
) -> None:
    limit = FAST["webhook_disable_after"]
    receiver.answer = Answer(status=500)
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        path = f"/api/webhooks/{hook['id']}"
        for number in range(limit):
            await alice.post("/api/tasks", json={"title": f"task {number}"})
        await ended(alice, hook["id"], limit)
        disabled = (await alice.get(path)).json()
        assert disabled["active"] is False
        assert disabled["disabled_reason"] == f"disabled after {limit} failed deliveries in a row"
        # Disabled: no new deliveries.
        await alice.post("/api/tasks", json={"title": "unheard"})
        assert len(await deliveries(alice, hook["id"])) == limit
        # Enabled again, it starts from zero: one more failure does not disable it.
        enabled = (await alice.patch(path, json={"active": True})).json()
        assert enabled["active"] is True
        assert enabled["disabled_reason"] is None
        await alice.post("/api/tasks", json={"title": "after"})
        await ended(alice, hook["id"], limit + 1)
        assert (await alice.get(path)).json()["active"] is True
        # A success resets the count too.
        receiver.answer = Answer(status=200)
        await alice.post("/api/tasks", json={"title": "heard"})
        await ended(alice, hook["id"], limit + 2)
        receiver.answer = Answer(status=500)
        for number in range(limit - 1):
            await alice.post("/api/tasks", json={"title": f"again {number}"})
        await ended(alice, hook["id"], 2 * limit + 1)
        assert (await alice.get(path)).json()["active"] is True


async def test_a_disabled_webhooks_pending_deliveries_wait_until_it_is_enabled(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        path = f"/api/webhooks/{hook['id']}"
        await alice.patch(path, json={"active": False})
        await alice.post(f"{path}/ping")
        await alice.post(f"{path}/ping")
        assert [row["status"] for row in await deliveries(alice, hook["id"])] == ["pending"] * 2
        assert receiver.requests() == []
        await alice.patch(path, json={"active": True})
        rows = await ended(alice, hook["id"], 2)
    assert [row["status"] for row in rows] == ["succeeded"] * 2
    assert len(receiver.requests()) == 2


async def test_a_manual_retry_gives_a_failed_delivery_one_more_attempt(
    hook_client: Clients, receiver: Receiver
) -> None:
    receiver.answer = Answer(status=500)
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        await alice.post(f"/api/webhooks/{hook['id']}/ping")
        [failed] = await ended(alice, hook["id"])
        assert failed["status"] == "failed"
        # Failing again, it fails at once (no schedule after a manual retry).
        retry = f"/api/webhooks/{hook['id']}/deliveries/{failed['id']}/retry"
        response = await alice.post(retry)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending"
        [again] = await ended(alice, hook["id"])
        assert again["status"] == "failed"
        assert again["attempts"] == failed["attempts"] + 1
        receiver.answer = Answer(status=200)
        assert (await alice.post(retry)).status_code == 202
        [succeeded] = await ended(alice, hook["id"])
    assert succeeded["status"] == "succeeded"
    assert succeeded["attempts"] == failed["attempts"] + 2
    assert succeeded["error"] is None
    assert succeeded["response_status"] == 200


async def test_after_a_rotation_deliveries_carry_the_new_and_the_old_signature(
    hook_client: Clients, receiver: Receiver
) -> None:
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        rotated = (await alice.post(f"/api/webhooks/{hook['id']}/rotate-secret")).json()
        await alice.post(f"/api/webhooks/{hook['id']}/ping")
        await wait_until(lambda: receiver.requests(), what="a delivery")
    [request] = receiver.requests()
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    # Either secret verifies it: receivers switch when they are ready.
    assert request.verified(rotated["secret"])["type"] == "ping"
    assert request.verified(hook["secret"])["type"] == "ping"


async def test_a_redirect_is_not_followed(hook_client: Clients, receiver: Receiver) -> None:
    receiver.answer = Answer(status=302, location=receiver.url("/elsewhere"))
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        await alice.post(f"/api/webhooks/{hook['id']}/ping")
        [row] = await ended(alice, hook["id"])
    assert row["status"] == "failed"
    assert row["response_status"] == 302
    assert row["error"].startswith("HTTP 302")
    assert receiver.requests("/elsewhere") == []


async def test_an_answer_is_kept_up_to_one_kib(hook_client: Clients, receiver: Receiver) -> None:
    receiver.answer = Answer(status=500, body=b"x" * 5000)
    async with hook_client() as alice:
        hook = await create_webhook(alice, receiver.url())
        await alice.post(f"/api/webhooks/{hook['id']}/ping")
        [row] = await ended(alice, hook["id"])
    assert row["error"] == "HTTP 500: " + "x" * 1024


async def test_a_timeout_and_a_refused_connection_are_failures_with_a_sentence(
    hook_client: Clients, receiver: Receiver
) -> None:
    receiver.answer = Answer(status=200, delay=FAST["webhook_timeout_seconds"] + 1)
    async with hook_client() as alice:
        slow = await create_webhook(alice, receiver.url())
        closed = await create_webhook(alice, "http://127.0.0.1:1/hook")
        await alice.post("/api/tasks", json={"title": "Milk"})
        [timed_out] = await wait_until(lambda: _attempted(alice, slow["id"]), what="a timeout")
        [refused] = await wait_until(lambda: _attempted(alice, closed["id"]), what="a refusal")
    assert timed_out["error"] == f"timed out after {FAST['webhook_timeout_seconds']} s"
    assert timed_out["response_status"] is None
    assert refused["error"] == "connection refused (127.0.0.1:1)"
    assert refused["response_status"] is None


async def test_an_address_that_is_not_public_is_refused_at_connection(
    quiet_app: FastAPI,
    owner: httpx.AsyncClient,
    hook_settings: Settings,
    tmp_path: Path,
    receiver: Receiver,
) -> None:
    """Created where private URLs were allowed, the webhook is refused by a deliverer where
    they are not: `localhost` resolves to 127.0.0.1, and nothing is sent there."""
    strict = make_settings(
        hook_settings.database_url or "",
        tmp_path,
        **{**FAST, "webhook_allow_private_urls": False},
    )
    hook = await create_webhook(owner, f"http://localhost:{receiver.port}/hook")
    await owner.post(f"/api/webhooks/{hook['id']}/ping")
    async with delivering(strict):
        [row] = await wait_until(lambda: _attempted(owner, hook["id"]), what="an attempt")
    assert row["error"].startswith("refused: localhost is or resolves to an address")
    assert "127.0.0.1" in row["error"]
    assert receiver.requests() == []


async def test_a_delivery_held_by_a_dead_worker_is_taken_over_after_its_lease(
    quiet_app: FastAPI, owner: httpx.AsyncClient, hook_settings: Settings, receiver: Receiver
) -> None:
    hook = await create_webhook(owner, receiver.url())
    await owner.post(f"/api/webhooks/{hook['id']}/ping")
    db = Database(hook_settings)
    try:
        # A worker claims it and dies: nobody attempts it until its lease runs out.
        mine = webhook_deliveries.c.webhook_id == uuid.UUID(hook["id"])
        dead = await claim(db, webhook_deliveries, due=mine, lease=timedelta(seconds=6), limit=5)
        assert len(dead.rows) == 1
        async with delivering(hook_settings):
            await asyncio.sleep(1)
            assert receiver.requests() == []
            [row] = await ended(owner, hook["id"])
        assert row["status"] == "succeeded"
        assert row["attempts"] == 1
        assert len(receiver.requests()) == 1
        # What the dead worker would write, had it come back, changes nothing.
        late = await release(db, webhook_deliveries, dead, [dead.rows[0]["id"]], {"attempts": 9})
        assert late == 0
        assert (await deliveries(owner, hook["id"]))[0]["attempts"] == 1
    finally:
        await db.close()
