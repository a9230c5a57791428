"""Migration 0050: a repeating task is one task from this release on. Occurrences completed
before it (the completed copies earlier releases made, each marked with the id of the task
made after it) stay ordinary completed tasks: completing one again makes nothing, and the open
task that followed it moves on as one task. Downgrading drops the completions, and upgrading
again works."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_task_counts import insert_task, insert_user_and_list
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migration_timezones import _downgrade
from todo_api.kit.ids import utcnow

__all__ = ["engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
TUESDAY = datetime(2026, 3, 3, 9, tzinfo=UTC)


async def test_occurrences_completed_before_stay_as_they_were(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0049")
    alice = uuid.uuid4()
    async with engine.begin() as conn:
        await insert_user_and_list(conn, alice, uuid.uuid4(), utcnow())
        # As the previous release left a completion: the completed copy, and the next task.
        following = await insert_task(
            conn, alice, "Water", due_at=TUESDAY, recurrence="FREQ=DAILY", changed_by=alice
        )
        done = await insert_task(
            conn,
            alice,
            "Water",
            due_at=MONDAY,
            recurrence="FREQ=DAILY",
            is_completed=True,
            completed_at=MONDAY,
            completed_by=alice,
            next_occurrence_id=following,
            changed_by=alice,
        )
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0050")

    settings = make_settings(fresh_url, tmp_path / "data")
    async with (
        app_for(settings) as app,
        client_for(app, token_for(settings, subject=str(alice))) as client,
    ):
        before = (await client.get(f"/api/tasks/{done}")).json()
        assert (before["is_completed"], before["due_at"]) == (True, "2026-03-02T09:00:00Z")
        again = await client.post(f"/api/tasks/{done}/complete")
        assert again.json() == before  # nothing made, nothing moved
        await client.post(f"/api/tasks/{done}/reopen")
        completed = (await client.post(f"/api/tasks/{done}/complete")).json()
        assert (completed["is_completed"], completed["due_at"]) == (True, before["due_at"])
        assert (await client.get(f"/api/tasks/{done}/completions")).json() == []

        moved = (await client.post(f"/api/tasks/{following}/complete")).json()
        assert (moved["id"], moved["due_at"]) == (str(following), "2026-03-04T09:00:00Z")
        listed = (await client.get("/api/tasks")).json()
        assert sorted(task["id"] for task in listed) == sorted([str(done), str(following)])
        [record] = (await client.get(f"/api/tasks/{following}/completions")).json()
        assert record["occurrence"] == "2026-03-03T09:00:00Z"

    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, "0049")
        assert not await conn.run_sync(lambda sync: sa.inspect(sync).has_table("task_completions"))
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0050")
        assert await conn.run_sync(lambda sync: sa.inspect(sync).has_table("task_completions"))
