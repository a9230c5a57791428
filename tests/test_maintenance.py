"""Housekeeping: maintenance.prune removes expired idempotency keys and tombstones past the
retention, and nothing else."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.tasks.feed_helpers import KEY_LIFETIME, database, insert_idempotency_key, tombstone_ids
from tests.tasks.helpers import create_task, user_id_of
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.kit.maintenance import HOUSEKEEPING_LOCK_KEY, prune
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.lists import list_tombstones
from todo_api.tables.tasks import tombstones


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


async def run_prune(settings: Settings) -> tuple[int, int]:
    async with database(settings) as engine:
        pruned = await prune(engine, settings)
    assert pruned is not None  # nobody else is pruning
    return pruned


async def test_prune_deletes_only_expired_idempotency_keys(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    user = await user_id_of(alice)
    now = utcnow()
    for key, expires_in, status in [
        ("expired-answered", -timedelta(seconds=1), 201),
        ("expired-claim", -timedelta(hours=1), None),
        ("live-answered", timedelta(minutes=5), 201),
        ("live-claim", timedelta(hours=23), None),
    ]:
        created_at = now + expires_in - KEY_LIFETIME
        await insert_idempotency_key(settings, user, key, created_at, status)

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
    assert await tombstone_ids(settings, [old, much_older, young, fresh]) == {young, fresh}


async def test_prune_follows_the_configured_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    one_day = settings.model_copy(update={"sync_retention_days": 1})
    two_days_old = await deleted_task_aged(alice, settings, timedelta(days=2))
    half_a_day_old = await deleted_task_aged(alice, settings, timedelta(hours=12))

    await run_prune(one_day)

    assert await tombstone_ids(settings, [two_days_old, half_a_day_old]) == {half_a_day_old}


async def test_prune_leaves_tasks_alone(alice: httpx.AsyncClient, settings: Settings) -> None:
    kept = await create_task(alice, title="Kept")

    await run_prune(settings.model_copy(update={"sync_retention_days": 1}))

    response = await alice.get(f"/api/tasks/{kept['id']}")
    assert response.status_code == 200
    assert response.json() == kept


async def test_prune_with_nothing_to_do_returns_zero_counts_for_it(settings: Settings) -> None:
    await run_prune(settings)

    assert await run_prune(settings) == (0, 0)


async def test_prune_deletes_list_tombstones_older_than_the_retention(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    days = settings.sync_retention_days
    made = {}
    for name in ("old", "young"):
        item = (await alice.post("/api/lists", json={"name": name})).json()
        assert (await alice.delete(f"/api/lists/{item['id']}")).status_code == 204
        made[name] = uuid.UUID(item["id"])
    async with database(settings) as engine, engine.transaction() as conn:
        await conn.execute(
            update(list_tombstones)
            .where(list_tombstones.c.list_id == made["old"])
            .values(deleted_at=utcnow() - timedelta(days=days, minutes=5))
        )

    _, pruned = await run_prune(settings)

    assert pruned >= 1
    async with database(settings) as engine, engine.connection() as conn:
        rows = await conn.execute(
            select(list_tombstones.c.list_id).where(
                list_tombstones.c.list_id.in_(list(made.values()))
            )
        )
        assert {row.list_id for row in rows} == {made["young"]}


async def test_prune_skips_its_round_while_another_process_prunes(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("one SQLite file has one writer at a time: nothing to coordinate")
    user = await user_id_of(alice)
    created_at = utcnow() - KEY_LIFETIME - timedelta(minutes=1)
    await insert_idempotency_key(settings, user, "expired", created_at, 201)

    # Another worker or instance, in the middle of its housekeeping, holds the lock.
    async with database(settings) as other, other.transaction() as holder:
        await holder.execute(select(func.pg_advisory_xact_lock(HOUSEKEEPING_LOCK_KEY)))
        async with database(settings) as engine:
            assert await prune(engine, settings) is None
        assert await keys_of(settings, user) == {"expired"}

    await run_prune(settings)
    assert await keys_of(settings, user) == set()
