"""The five task routes, end to end through HTTP, on both databases."""

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from tests.support import assert_error, client_for, token_for
from tests.tasks.helpers import (
    TASK_FIELDS,
    assert_not_found,
    create_task,
    random_task_url,
    timestamp,
)
from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

# --- POST and GET one ---------------------------------------------------------------------------


async def test_create_then_get(alice: httpx.AsyncClient) -> None:
    created = await alice.post("/api/tasks", json={"title": "  Buy milk  "})
    assert created.status_code == 201
    task = created.json()
    assert created.headers["location"] == f"/api/tasks/{task['id']}"
    assert task["title"] == "Buy milk"
    assert task["description"] is None
    assert task["is_completed"] is False
    assert task["created_at"].endswith("Z")
    assert task["created_at"] == task["updated_at"]

    fetched = await alice.get(f"/api/tasks/{task['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == task


async def test_created_task_has_exactly_the_contract_fields(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert set(task) == TASK_FIELDS
    assert str(uuid.UUID(task["id"])) == task["id"]
    assert str(uuid.UUID(task["user_id"])) == task["user_id"]
    timestamp(task["created_at"])
    timestamp(task["updated_at"])


async def test_create_keeps_the_given_description_and_completion(
    alice: httpx.AsyncClient,
) -> None:
    created = await alice.post(
        "/api/tasks",
        json={"title": "Call mum", "description": "About Sunday", "is_completed": True},
    )
    assert created.status_code == 201
    task = created.json()
    assert task["title"] == "Call mum"
    assert task["description"] == "About Sunday"
    assert task["is_completed"] is True


async def test_create_accepts_an_explicit_null_description(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, description=None)
    assert task["description"] is None


async def test_location_header_leads_to_the_created_task(alice: httpx.AsyncClient) -> None:
    created = await alice.post("/api/tasks", json={"title": "Follow me"})
    fetched = await alice.get(created.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


async def test_each_created_task_gets_its_own_id(alice: httpx.AsyncClient) -> None:
    first = await create_task(alice, title="Same title")
    second = await create_task(alice, title="Same title")
    assert first["id"] != second["id"]


async def test_get_unknown_task_is_404(alice: httpx.AsyncClient) -> None:
    response = await alice.get(random_task_url())
    body = assert_not_found(response)
    assert body == {"error": "Task not found", "code": "NOT_FOUND", "details": None}


# --- GET list -----------------------------------------------------------------------------------


async def test_list_is_empty_for_a_new_user(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/api/tasks")
    assert response.status_code == 200
    assert response.json() == []


async def test_list_returns_newest_first(alice: httpx.AsyncClient) -> None:
    created = [await create_task(alice, title=f"Task {n}") for n in range(3)]

    response = await alice.get("/api/tasks")
    assert response.status_code == 200
    assert response.json() == list(reversed(created))


async def test_list_order_is_created_at_then_id_descending(alice: httpx.AsyncClient) -> None:
    for n in range(5):
        await create_task(alice, title=f"Task {n}")

    listed = (await alice.get("/api/tasks")).json()
    keys = [(timestamp(t["created_at"]), uuid.UUID(t["id"])) for t in listed]
    assert keys == sorted(keys, reverse=True)


async def test_list_shows_only_own_tasks(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    alices = await create_task(alice, title="Alice's")
    bobs = await create_task(bob, title="Bob's")

    assert (await alice.get("/api/tasks")).json() == [alices]
    assert (await bob.get("/api/tasks")).json() == [bobs]


async def test_list_is_not_reordered_by_an_update(alice: httpx.AsyncClient) -> None:
    older = await create_task(alice, title="Older")
    newer = await create_task(alice, title="Newer")
    await alice.put(f"/api/tasks/{older['id']}", json={"is_completed": True})

    ids = [t["id"] for t in (await alice.get("/api/tasks")).json()]
    assert ids == [newer["id"], older["id"]]


# --- PUT ----------------------------------------------------------------------------------------


async def test_update_changes_only_the_given_fields(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="Original", description="Keep me")

    response = await alice.put(f"/api/tasks/{task['id']}", json={"is_completed": True})
    assert response.status_code == 200
    updated = response.json()
    assert updated["is_completed"] is True
    assert updated["title"] == "Original"
    assert updated["description"] == "Keep me"
    assert updated["id"] == task["id"]
    assert updated["user_id"] == task["user_id"]


async def test_update_can_change_every_field_at_once(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="Old")

    response = await alice.put(
        f"/api/tasks/{task['id']}",
        json={"title": "New", "description": "Now described", "is_completed": True},
    )
    assert response.status_code == 200
    updated = response.json()
    assert (updated["title"], updated["description"], updated["is_completed"]) == (
        "New",
        "Now described",
        True,
    )


async def test_update_trims_the_title(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)

    response = await alice.put(f"/api/tasks/{task['id']}", json={"title": "\t Renamed \n"})
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"


async def test_update_with_null_description_clears_it(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, description="Soon gone")

    response = await alice.put(f"/api/tasks/{task['id']}", json={"description": None})
    assert response.status_code == 200
    assert response.json()["description"] is None
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["description"] is None


async def test_update_can_reopen_a_completed_task(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, is_completed=True)

    response = await alice.put(f"/api/tasks/{task['id']}", json={"is_completed": False})
    assert response.status_code == 200
    assert response.json()["is_completed"] is False


async def test_update_moves_updated_at_forward_and_keeps_created_at(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)

    first = (await alice.put(f"/api/tasks/{task['id']}", json={"title": "Once"})).json()
    second = (await alice.put(f"/api/tasks/{task['id']}", json={"title": "Twice"})).json()

    assert first["created_at"] == second["created_at"] == task["created_at"]
    assert timestamp(task["updated_at"]) < timestamp(first["updated_at"])
    assert timestamp(first["updated_at"]) < timestamp(second["updated_at"])


async def test_update_is_what_a_later_get_returns(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)

    updated = (await alice.put(f"/api/tasks/{task['id']}", json={"title": "Kept"})).json()
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == updated


async def test_update_of_unknown_task_is_404(alice: httpx.AsyncClient) -> None:
    response = await alice.put(random_task_url(), json={"title": "Nobody"})
    assert_not_found(response)


# --- DELETE -------------------------------------------------------------------------------------


async def test_delete_returns_204_with_an_empty_body(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)

    response = await alice.delete(f"/api/tasks/{task['id']}")
    assert response.status_code == 204
    assert response.content == b""


async def test_deleted_task_is_gone(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    await alice.delete(f"/api/tasks/{task['id']}")

    assert_not_found(await alice.get(f"/api/tasks/{task['id']}"))
    assert_not_found(await alice.put(f"/api/tasks/{task['id']}", json={"title": "Back?"}))
    assert (await alice.get("/api/tasks")).json() == []


async def test_second_delete_is_404(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert (await alice.delete(f"/api/tasks/{task['id']}")).status_code == 204

    assert_not_found(await alice.delete(f"/api/tasks/{task['id']}"))


async def test_delete_leaves_the_other_tasks(alice: httpx.AsyncClient) -> None:
    keep = await create_task(alice, title="Keep")
    drop = await create_task(alice, title="Drop")

    await alice.delete(f"/api/tasks/{drop['id']}")
    assert (await alice.get("/api/tasks")).json() == [keep]


async def test_delete_of_unknown_task_is_404(alice: httpx.AsyncClient) -> None:
    assert_not_found(await alice.delete(random_task_url()))


# --- Ownership ----------------------------------------------------------------------------------

TASK_ROUTES_BY_ID = [
    pytest.param("GET", None, id="GET"),
    pytest.param("PUT", {"title": "Taken over"}, id="PUT"),
    pytest.param("DELETE", None, id="DELETE"),
]


@pytest.mark.parametrize(("method", "body"), TASK_ROUTES_BY_ID)
async def test_another_users_task_looks_exactly_like_a_missing_one(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, method: str, body: dict[str, Any] | None
) -> None:
    task = await create_task(alice, title="Private", description="Alice only")

    theirs = await bob.request(method, f"/api/tasks/{task['id']}", json=body)
    missing = await bob.request(method, random_task_url(), json=body)

    assert_not_found(theirs)
    assert theirs.status_code == missing.status_code
    assert theirs.json() == missing.json()
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


async def test_another_user_cannot_touch_a_task_at_all(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    task = await create_task(alice, title="Private")
    url = f"/api/tasks/{task['id']}"

    await bob.put(url, json={"title": "Mine now", "is_completed": True})
    await bob.delete(url)

    assert (await alice.get(url)).json() == task
    assert (await alice.get("/api/tasks")).json() == [task]
    assert (await bob.get("/api/tasks")).json() == []


@pytest.mark.parametrize(("method", "body"), TASK_ROUTES_BY_ID)
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_malformed_task_id_is_404(
    alice: httpx.AsyncClient, method: str, body: dict[str, Any] | None, bad_id: str
) -> None:
    response = await alice.request(method, f"/api/tasks/{bad_id}", json=body)
    assert_not_found(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks"),
        ("GET", "/api/tasks/{id}"),
        ("PUT", "/api/tasks/{id}"),
        ("DELETE", "/api/tasks/{id}"),
    ],
)
async def test_every_task_route_needs_a_bearer_token(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"title": "Anonymous"} if method in {"POST", "PUT"} else None
    response = await anonymous.request(method, path.format(id=uuid.uuid4()), json=body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


# --- Who owns a task: token subjects ------------------------------------------------------------


async def test_uuid_subject_is_the_user_id(app: FastAPI, settings: Settings) -> None:
    subject = str(uuid.uuid4())
    async with client_for(app, token_for(settings, subject)) as client:
        task = await create_task(client)
    assert task["user_id"] == subject


async def test_non_uuid_subject_maps_to_one_stable_user(app: FastAPI, settings: Settings) -> None:
    subject = f"better-auth-user-{uuid.uuid4().hex[:16]}"
    first_token = token_for(settings, subject)
    second_token = token_for(settings, subject, email=f"{uuid.uuid4().hex}@example.com")
    assert first_token != second_token

    async with client_for(app, first_token) as first, client_for(app, second_token) as second:
        task = await create_task(first)
        listed = (await second.get("/api/tasks")).json()
        other = await create_task(second)

    assert str(uuid.UUID(task["user_id"])) == task["user_id"]
    assert other["user_id"] == task["user_id"]
    assert listed == [task]


async def test_different_non_uuid_subjects_are_different_users(
    app: FastAPI, settings: Settings
) -> None:
    async with (
        client_for(app, token_for(settings, f"better-auth-a-{uuid.uuid4().hex}")) as first,
        client_for(app, token_for(settings, f"better-auth-b-{uuid.uuid4().hex}")) as second,
    ):
        task = await create_task(first)
        assert (await second.get("/api/tasks")).json() == []
        assert_not_found(await second.get(f"/api/tasks/{task['id']}"))
        assert (await create_task(second))["user_id"] != task["user_id"]


# --- Cascade: the one test that touches the database directly ----------------------------------


async def _delete_user_row(settings: Settings, user_id: uuid.UUID) -> int:
    """Delete a user row directly and return how many tasks that user still owns."""
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            deleted = await conn.execute(delete(users).where(users.c.id == user_id))
            assert deleted.rowcount == 1
            count_query = select(func.count()).select_from(tasks).where(tasks.c.user_id == user_id)
            remaining: int = await conn.scalar(count_query) or 0
    finally:
        await engine.dispose()
    return remaining


async def test_deleting_a_user_deletes_their_tasks(
    new_user_client: Callable[..., httpx.AsyncClient],
    settings: Settings,
    bob: httpx.AsyncClient,
) -> None:
    user_id = uuid.uuid4()
    bobs = await create_task(bob, title="Bob's survives")
    async with new_user_client(str(user_id)) as doomed:
        first = await create_task(doomed, title="First")
        await create_task(doomed, title="Second")

        assert await _delete_user_row(settings, user_id) == 0

        assert (await doomed.get("/api/tasks")).json() == []
        assert_not_found(await doomed.get(f"/api/tasks/{first['id']}"))
    assert (await bob.get("/api/tasks")).json() == [bobs]


async def test_user_deleted_behind_the_cache_can_create_tasks_again(
    new_user_client: Callable[..., httpx.AsyncClient], settings: Settings
) -> None:
    # Regression: this process still remembers the user as known, so the create used to hit
    # the foreign key and come back as 503 DATABASE_ERROR.
    user_id = uuid.uuid4()
    async with new_user_client(str(user_id)) as client:
        await create_task(client)
        await _delete_user_row(settings, user_id)

        response = await client.post("/api/tasks", json={"title": "After deletion"})
    assert response.status_code == 201, response.text
