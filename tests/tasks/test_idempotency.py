"""Idempotency-Key on POST /api/tasks and POST /api/tasks/bulk.

The first response is kept per user and key and replayed to a retry (same status, body and
Location, plus `Idempotent-Replayed: true`); the same key with another body is 422; a retry
while the first request is still running is 409; failures keep nothing; expired keys go.
"""

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update

from tests.support import assert_error
from tests.tasks.feed_helpers import database, insert_idempotency_key
from tests.tasks.helpers import assert_validation_error, etag_of, user_id_of
from tests.tasks.listing_helpers import all_tasks
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.kit.maintenance import prune
from todo_api.tables.idempotency import idempotency_keys
from todo_api.tables.users import users


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


def keyed(key: str | bytes) -> dict[str, str | bytes]:
    return {"Idempotency-Key": key}


async def stored_keys(settings: Settings, user_id: uuid.UUID) -> dict[str, int | None]:
    async with database(settings) as engine, engine.connection() as conn:
        rows = await conn.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.status_code).where(
                idempotency_keys.c.user_id == user_id
            )
        )
        return {row.key: row.status_code for row in rows}


# --- Replays --------------------------------------------------------------------------------------


async def test_a_retried_create_gets_the_first_response_and_no_second_task(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    first = await alice.post("/api/tasks", json={"title": "Once"}, headers=keyed(key))
    retry = await alice.post("/api/tasks", json={"title": "Once"}, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert (
        retry.headers["location"]
        == first.headers["location"]
        == (f"/api/tasks/{first.json()['id']}")
    )
    assert etag_of(retry) == etag_of(first)
    assert [task["id"] for task in await all_tasks(alice)] == [first.json()["id"]]


async def test_a_replay_is_the_first_response_even_after_the_task_changed(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    first = await alice.post("/api/tasks", json={"title": "Before"}, headers=keyed(key))
    await alice.patch(f"/api/tasks/{first.json()['id']}", json={"title": "After"})

    retry = await alice.post("/api/tasks", json={"title": "Before"}, headers=keyed(key))

    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert len(await all_tasks(alice)) == 1


async def test_the_same_json_in_another_form_is_the_same_request(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    first = await alice.post(
        "/api/tasks",
        content=b'{"title": "Same", "priority": "low"}',
        headers={**keyed(key), "Content-Type": "application/json"},
    )
    retry = await alice.post(
        "/api/tasks",
        content=b'{ "priority":"low",\n "title":"Same" }',
        headers={**keyed(key), "Content-Type": "application/json"},
    )

    assert first.status_code == 201, first.text
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]


async def test_a_retried_create_on_the_user_path_gets_the_first_response(
    alice: httpx.AsyncClient,
) -> None:
    user = await user_id_of(alice)
    key = new_key()
    first = await alice.post(f"/api/{user}/tasks", json={"title": "Mine"}, headers=keyed(key))
    retry = await alice.post(f"/api/{user}/tasks", json={"title": "Mine"}, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert len(await all_tasks(alice)) == 1


async def test_a_retried_bulk_gets_the_first_response_and_applies_nothing_again(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    body = {"operations": [{"op": "create", "data": {"title": f"Bulk {n}"}} for n in range(3)]}

    first = await alice.post("/api/tasks/bulk", json=body, headers=keyed(key))
    retry = await alice.post("/api/tasks/bulk", json=body, headers=keyed(key))

    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert sorted(t["id"] for t in await all_tasks(alice)) == sorted(
        result["id"] for result in first.json()["results"]
    )


async def test_concurrent_retries_with_one_key_create_one_task(alice: httpx.AsyncClient) -> None:
    key = new_key()

    responses = await asyncio.gather(
        *(alice.post("/api/tasks", json={"title": "Raced"}, headers=keyed(key)) for _ in range(10))
    )

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert created
    assert len({r.json()["id"] for r in created}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in created) <= 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert_error(conflict, 409, "CONFLICT")
    assert [task["id"] for task in await all_tasks(alice)] == [created[0].json()["id"]]


# --- Key reuse, per-user keys, malformed keys -----------------------------------------------------


async def test_the_same_key_with_another_body_is_422_and_creates_nothing(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    first = await alice.post("/api/tasks", json={"title": "First"}, headers=keyed(key))

    reused = await alice.post("/api/tasks", json={"title": "Second"}, headers=keyed(key))

    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert [task["id"] for task in await all_tasks(alice)] == [first.json()["id"]]


async def test_the_same_key_on_another_route_is_422(alice: httpx.AsyncClient) -> None:
    key = new_key()
    await alice.post("/api/tasks", json={"title": "Create"}, headers=keyed(key))

    reused = await alice.post(
        "/api/tasks/bulk",
        json={"operations": [{"op": "create", "data": {"title": "Create"}}]},
        headers=keyed(key),
    )

    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(await all_tasks(alice)) == 1


async def test_keys_are_per_user(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    key = new_key()
    alices = await alice.post("/api/tasks", json={"title": "Same"}, headers=keyed(key))

    bobs = await bob.post("/api/tasks", json={"title": "Same"}, headers=keyed(key))

    assert bobs.status_code == 201, bobs.text
    assert "idempotent-replayed" not in bobs.headers
    assert bobs.json()["id"] != alices.json()["id"]
    assert bobs.json()["user_id"] != alices.json()["user_id"]
    assert [t["id"] for t in await all_tasks(alice)] == [alices.json()["id"]]
    assert [t["id"] for t in await all_tasks(bob)] == [bobs.json()["id"]]


INVALID_KEYS = [
    pytest.param("", id="empty"),
    pytest.param(" ", id="space"),
    pytest.param("two words", id="inner-space"),
    pytest.param("x" * 256, id="256-characters"),
    pytest.param("caf\u00e9".encode(), id="non-ascii"),
    pytest.param("tab\there", id="control-character"),
]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_an_invalid_key_on_create_is_400_naming_the_header(
    alice: httpx.AsyncClient, key: str | bytes
) -> None:
    response = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))

    assert_validation_error(response, "Idempotency-Key")
    assert await all_tasks(alice) == []


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_an_invalid_key_on_bulk_is_400_naming_the_header(
    alice: httpx.AsyncClient, key: str | bytes
) -> None:
    body = {"operations": [{"op": "create", "data": {"title": "t"}}]}

    response = await alice.post("/api/tasks/bulk", json=body, headers=keyed(key))

    assert_validation_error(response, "Idempotency-Key")
    assert await all_tasks(alice) == []


async def test_a_key_of_255_visible_characters_is_accepted(alice: httpx.AsyncClient) -> None:
    key = ("k-~!#" * 51)[:255]

    first = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))
    retry = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))

    assert first.status_code == 201, first.text
    assert retry.headers["idempotent-replayed"] == "true"


# --- Failures keep nothing ------------------------------------------------------------------------


async def test_a_create_that_fails_validation_does_not_use_up_the_key(
    alice: httpx.AsyncClient,
) -> None:
    key = new_key()
    failed = await alice.post("/api/tasks", json={"title": "   "}, headers=keyed(key))

    fixed = await alice.post("/api/tasks", json={"title": "Fixed"}, headers=keyed(key))

    assert_validation_error(failed, "title")
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers


async def test_a_failed_bulk_keeps_nothing_under_its_key(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    """A failure is not kept: the identical retry fails the same way (not a replay, not 409),
    and a corrected request, a different body, is then simply a new request under that key,
    which from then on belongs to it."""
    key = new_key()
    unknown = str(uuid.uuid4())
    failing = {
        "operations": [
            {"op": "create", "data": {"title": "Would be created"}},
            {"op": "complete", "id": unknown},
        ]
    }
    corrected = {"operations": [{"op": "create", "data": {"title": "Would be created"}}]}

    first = await alice.post("/api/tasks/bulk", json=failing, headers=keyed(key))
    retry = await alice.post("/api/tasks/bulk", json=failing, headers=keyed(key))

    for response in (first, retry):
        body = assert_error(response, 404, "NOT_FOUND")
        assert body["details"][0]["field"] == "operations.1"
        assert "idempotent-replayed" not in response.headers
    assert await all_tasks(alice) == []
    assert key not in await stored_keys(settings, await user_id_of(alice))

    fixed = await alice.post("/api/tasks/bulk", json=corrected, headers=keyed(key))
    assert fixed.status_code == 200, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert len(await all_tasks(alice)) == 1

    original_again = await alice.post("/api/tasks/bulk", json=failing, headers=keyed(key))
    assert_error(original_again, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(await all_tasks(alice)) == 1


# --- A request still running: 409; one that died: taken over --------------------------------------


async def test_a_retry_while_the_first_request_is_running_is_409(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    await insert_idempotency_key(settings, await user_id_of(alice), key, utcnow())

    create = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))
    bulk = await alice.post(
        "/api/tasks/bulk",
        json={"operations": [{"op": "create", "data": {"title": "t"}}]},
        headers=keyed(key),
    )

    for response in (create, bulk):
        assert_error(response, 409, "CONFLICT")
        assert int(response.headers["retry-after"]) >= 1
    assert await all_tasks(alice) == []


async def test_another_users_running_request_does_not_block_the_same_key(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    await insert_idempotency_key(settings, await user_id_of(bob), key, utcnow())

    response = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))

    assert response.status_code == 201, response.text


async def test_a_claim_left_by_a_request_that_died_is_taken_over_after_a_minute(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    user = await user_id_of(alice)
    await insert_idempotency_key(settings, user, key, utcnow() - timedelta(seconds=61))

    response = await alice.post("/api/tasks", json={"title": "Taken over"}, headers=keyed(key))
    retry = await alice.post("/api/tasks", json={"title": "Taken over"}, headers=keyed(key))

    assert response.status_code == 201, response.text
    assert "idempotent-replayed" not in response.headers
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == response.json()["id"]
    assert len(await all_tasks(alice)) == 1
    assert (await stored_keys(settings, user))[key] == 201


# --- Expiry ---------------------------------------------------------------------------------------


async def expire(settings: Settings, user_id: uuid.UUID, key: str) -> None:
    async with database(settings) as engine, engine.transaction() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_an_expired_key_is_pruned_and_then_creates_a_new_task(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    user = await user_id_of(alice)
    first = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))
    await expire(settings, user, key)

    async with database(settings) as engine:
        pruned_keys, _ = await prune(engine, settings)
    assert pruned_keys >= 1
    assert key not in await stored_keys(settings, user)

    again = await alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key))
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert len(await all_tasks(alice)) == 2


async def test_an_expired_key_can_be_reused_before_it_is_pruned(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    await alice.post("/api/tasks", json={"title": "Old"}, headers=keyed(key))
    await expire(settings, await user_id_of(alice), key)

    reused = await alice.post("/api/tasks", json={"title": "New"}, headers=keyed(key))

    assert reused.status_code == 201, reused.text
    assert reused.json()["title"] == "New"
    assert len(await all_tasks(alice)) == 2


# --- The user row gone behind the process's cache -------------------------------------------------


async def test_a_keyed_create_recreates_a_removed_user_like_a_create_without_a_key(
    new_user_client: Callable[..., httpx.AsyncClient], settings: Settings
) -> None:
    async with new_user_client() as client:
        user = await user_id_of(client)
        async with database(settings) as engine, engine.transaction() as conn:
            await conn.execute(delete(users).where(users.c.id == user))

        response = await client.post("/api/tasks", json={"title": "t"}, headers=keyed(new_key()))

        assert response.status_code == 201, response.text


async def test_concurrent_retries_take_over_a_dead_claim_once(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    key = new_key()
    await insert_idempotency_key(
        settings, await user_id_of(alice), key, utcnow() - timedelta(minutes=5)
    )

    responses = await asyncio.gather(
        *(alice.post("/api/tasks", json={"title": "t"}, headers=keyed(key)) for _ in range(10))
    )

    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert len(await all_tasks(alice)) == 1
