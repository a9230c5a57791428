"""Helpers of the reminder tests: times a few seconds ahead, the scheduler running in this
event loop, waits."""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.jobs import JobRunner
from todo_api.reminders import scheduled as reminders_scheduled
from todo_api.webhooks import scheduled as webhooks_scheduled

# What the scheduler runs with in these tests: quick retries, webhooks to 127.0.0.1.
FAST: dict[str, Any] = {
    "webhook_allow_private_urls": True,
    "webhook_retry_schedule": (0.2, 0.2),
    "webhook_poll_seconds": 0.2,
    "webhook_timeout_seconds": 2,
    "reminder_email_retry_schedule": (0.3, 0.3, 0.3, 0.3),
    "smtp_timeout_seconds": 2,
    "reminder_email_from": "reminders@example.test",
}


def soon(seconds: float) -> str:
    """A time `seconds` from now, as the API writes times."""
    at = datetime.now(UTC) + timedelta(seconds=seconds)
    return at.isoformat().replace("+00:00", "Z")


@asynccontextmanager
async def scheduling(settings: Settings, names: Iterable[str] | None = None) -> AsyncIterator[None]:
    """The reminders' jobs (and the webhook deliverer) running, as a server's lifespan runs
    them."""
    db = Database(settings)
    every = [*reminders_scheduled.schedule.jobs, *webhooks_scheduled.schedule.jobs]
    wanted = (
        set(names)
        if names is not None
        else {"reminders.fire", "reminders.email", "webhooks.deliver"}
    )
    runner = JobRunner(db, settings, [job for job in every if job.name in wanted])
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.close()


async def upcoming(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/api/reminders", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows
