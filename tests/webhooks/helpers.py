"""Helpers for the webhook tests: webhooks made through the API, a deliverer running, waits."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.jobs import JobRunner
from todo_api.webhooks import scheduled

WAIT_SECONDS = 15.0
WEBHOOK_FIELDS = {
    "id",
    "url",
    "events",
    "description",
    "active",
    "disabled_reason",
    "created_at",
    "updated_at",
}
DELIVERY_FIELDS = {
    "id",
    "event_id",
    "type",
    "status",
    "attempts",
    "response_status",
    "error",
    "duration_ms",
    "created_at",
    "next_attempt_at",
}
# What the deliverer runs with in these tests: short retries, quick polls.
FAST = {
    "webhook_allow_private_urls": True,
    "webhook_retry_schedule": (0.2, 0.2),
    "webhook_poll_seconds": 0.2,
    "webhook_timeout_seconds": 2,
    "webhook_disable_after": 3,
}


async def create_webhook(
    client: httpx.AsyncClient, url: str, events: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/webhooks", json={"url": url, "events": events or ["*"], **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == WEBHOOK_FIELDS | {"secret"}
    return body


async def deliveries(client: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/webhooks/{webhook_id}/deliveries")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def wait_until(
    condition: Callable[[], Any], seconds: float = WAIT_SECONDS, what: str = "condition"
) -> Any:
    """Ask `condition` (sync or async) again until it gives something true; that value."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        await asyncio.sleep(0.05)


async def ended(client: httpx.AsyncClient, webhook_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The webhook's deliveries, once `count` of them have ended (succeeded or failed)."""

    async def check() -> list[dict[str, Any]] | None:
        rows = await deliveries(client, webhook_id)
        done = [row for row in rows if row["status"] != "pending"]
        return rows if len(done) >= count else None

    result: list[dict[str, Any]] = await wait_until(check, what=f"{count} deliveries to end")
    return result


@asynccontextmanager
async def delivering(settings: Settings) -> AsyncIterator[None]:
    """The delivery job of `settings` running, as a server's lifespan runs it."""
    db = Database(settings)
    jobs = [job for job in scheduled.schedule.jobs if job.name == "webhooks.deliver"]
    runner = JobRunner(db, settings, jobs)
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.close()
