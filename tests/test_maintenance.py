"""Housekeeping: maintenance.prune removes expired idempotency keys and tombstones past the
retention, and nothing else."""

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import insert, select, update

from tests.tasks.feed_helpers import database
from tests.tasks.helpers import create_task, user_id_of
from todo_api.config import Settings
from todo_api.db import utcnow
from todo_api.idempotency import idempotency_keys
from todo_api.maintenance import prune
from todo_api.tasks.models import tombstones


async def add_key(
    settings: Settings, user_id: uuid.UUID, key: str, expires_at: datetime, status: int | None
) -> None:
    async with database(settings) as engine, engine.transaction() as conn:
        await conn.execute(
            insert(idempotency_keys).values(
                user_id=user_id,
                key=key,
                request_hash="0" * 64,
                claim_id=uuid.uuid4(),
                status_code=status,
                response_body="{}" if status else None,
                response_headers={} if status else None,
                created_at=expires_at - timedelta(hours=24),
                expires_at=expires_at,
            )
        )


async def keys_of(settings: Settings, user_id: uuid.UUID) -> set[str]:
    async with database(settings) as engine, engine.connection() as conn:
        rows = await conn.execute(
            select(idempotency_keys.c.key).where(idempotency_keys.c.user_id == user_id)
        )
        return {row.key for row in rows}


async def deleted_task_aged(
    client: httpx.AsyncClient, settings: Settings, age: timedelta | None
) -> str:
    """A task deleted through the API, its tombstone then aged (None: left as it is)."""
    task = await create_task(client)
    response = await client.delete(f"/api/tasks/{task['id']}")
    assert response.status_code == 204
    if age is not None:
        async with database(settings) as engine, engine.transaction() as conn:
            await conn.execute(
                update(tombstones)
                .where(tombstones.c.task_id == uuid.UUID(task["id"]))
                .values(deleted_at=utcnow() - age)
            )
    return str(task["id"])


async def tombstones_left(settings: Settings, task_ids: list[str]) -> set[str]:
    async with database(settings) as engine, engine.connection() as conn:
        rows = await conn.execute(
            select(tombstones.c.task_id).where(
                tombstones.c.task_id.in_([uuid.UUID(t) for t in task_ids])
            )
        )
        return {str(row.task_id) for row in rows}


async def run_prune(settings: Settings) -> tuple[int, int]:
    async with database(settings) as engine:
        return await prune(engine, settings)


async def test_prune_deletes_only_expired_idempotency_keys(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    user = await user_id_of(alice)
    now = utcnow()
    await add_key(settings, user, "expired-answered", now - timedelta(seconds=1), 201)
    await add_key(settings, user, "expired-claim", now - timedelta(hours=1), None)
    await add_key(settings, user, "live-answered", now + timedelta(minutes=5), 201)
    await add_key(settings, user, "live-claim", now + timedelta(hours=23), None)

    pruned_keys, _ = await run_prune(settings)

    assert pruned_keys >= 2
    assert await keys_of(settings, user) == {"live-answered", "live-claim"}


async def test_prune_keeps_keys_made_through_the_api(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "t"}, headers={"Idempotency-Key": "fresh"}
    )
    assert response.status_code == 201

    await run_prune(settings)

    assert await keys_of(settings, await user_id_of(alice)) == {"fresh"}


async def test_prune_deletes_only_tombstones_older_than_the_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    days = settings.sync_retention_days
    old = await deleted_task_aged(alice, settings, timedelta(days=days, minutes=5))
    much_older = await deleted_task_aged(alice, settings, timedelta(days=days * 3))
    young = await deleted_task_aged(alice, settings, timedelta(days=days) - timedelta(minutes=5))
    fresh = await deleted_task_aged(alice, settings, None)

    _, pruned = await run_prune(settings)

    assert pruned >= 2
    assert await tombstones_left(settings, [old, much_older, young, fresh]) == {young, fresh}


async def test_prune_follows_the_configured_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    one_day = settings.model_copy(update={"sync_retention_days": 1})
    two_days_old = await deleted_task_aged(alice, settings, timedelta(days=2))
    half_a_day_old = await deleted_task_aged(alice, settings, timedelta(hours=12))

    await run_prune(one_day)

    assert await tombstones_left(settings, [two_days_old, half_a_day_old]) == {half_a_day_old}


async def test_prune_leaves_tasks_alone(alice: httpx.AsyncClient, settings: Settings) -> None:
    kept = await create_task(alice, title="Kept")

    await run_prune(settings.model_copy(update={"sync_retention_days": 1}))

    response = await alice.get(f"/api/tasks/{kept['id']}")
    assert response.status_code == 200
    assert response.json() == kept


async def test_prune_with_nothing_to_do_returns_zero_counts_for_it(settings: Settings) -> None:
    await run_prune(settings)

    assert await run_prune(settings) == (0, 0)
