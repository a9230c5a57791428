"""Requests that race: first requests of a new user, many creates, writes to one task."""

import asyncio
import uuid
from collections.abc import Callable

import httpx

from tests.tasks.helpers import create_task, timestamp


async def test_fifty_concurrent_creates_by_a_new_user_all_succeed(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with new_user_client() as client:
        responses = await asyncio.gather(
            *(client.post("/api/tasks", json={"title": f"Task {n}"}) for n in range(50))
        )
        assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
        created_ids = [r.json()["id"] for r in responses]

        listed = (await client.get("/api/tasks")).json()

    assert len(set(created_ids)) == 50
    assert len(listed) == 50
    assert {t["id"] for t in listed} == set(created_ids)
    assert {t["title"] for t in listed} == {f"Task {n}" for n in range(50)}
    assert len({t["user_id"] for t in listed}) == 1


async def test_list_after_concurrent_creates_is_newest_first_with_id_breaking_ties(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with new_user_client() as client:
        await asyncio.gather(*(create_task(client, title=f"Task {n}") for n in range(20)))
        listed = (await client.get("/api/tasks")).json()

    keys = [(timestamp(t["created_at"]), uuid.UUID(t["id"])) for t in listed]
    assert keys == sorted(keys, reverse=True)


async def test_concurrent_first_requests_with_an_email_all_succeed(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    email = f"racer-{uuid.uuid4().hex}@example.com"
    async with new_user_client(email=email) as client:
        creates = [client.post("/api/tasks", json={"title": f"Task {n}"}) for n in range(10)]
        lists = [client.get("/api/tasks") for _ in range(10)]
        responses = await asyncio.gather(*creates, *lists)

        statuses = [r.status_code for r in responses]
        assert statuses == [201] * 10 + [200] * 10, [r.text for r in responses]
        listed = (await client.get("/api/tasks")).json()

    assert {t["id"] for t in listed} == {r.json()["id"] for r in responses[:10]}


async def test_new_users_sharing_an_email_can_both_start_at_once(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    email = f"shared-{uuid.uuid4().hex}@example.com"
    async with (
        new_user_client(email=email) as first,
        new_user_client(email=email.upper()) as second,
    ):
        responses = await asyncio.gather(
            *(client.post("/api/tasks", json={"title": "Mine"}) for client in [first, second] * 5)
        )
        assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]

        first_ids = {t["id"] for t in (await first.get("/api/tasks")).json()}
        second_ids = {t["id"] for t in (await second.get("/api/tasks")).json()}

    assert len(first_ids) == len(second_ids) == 5
    assert first_ids.isdisjoint(second_ids)


async def test_many_new_users_creating_at_once_each_see_only_their_own(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    clients = [new_user_client() for _ in range(8)]
    try:
        per_user = await asyncio.gather(
            *(
                asyncio.gather(*(create_task(client, title=f"Task {n}") for n in range(4)))
                for client in clients
            )
        )
        for client, created in zip(clients, per_user, strict=True):
            listed = (await client.get("/api/tasks")).json()
            assert {t["id"] for t in listed} == {t["id"] for t in created}
    finally:
        for client in clients:
            await client.aclose()


async def test_concurrent_deletes_of_one_task_succeed_exactly_once(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)

    responses = await asyncio.gather(*(alice.delete(f"/api/tasks/{task['id']}") for _ in range(10)))

    assert sorted(r.status_code for r in responses) == [204] + [404] * 9
    assert (await alice.get(f"/api/tasks/{task['id']}")).status_code == 404


async def test_concurrent_updates_of_one_task_leave_one_of_them(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)
    titles = [f"Version {n}" for n in range(10)]

    responses = await asyncio.gather(
        *(alice.put(f"/api/tasks/{task['id']}", json={"title": title}) for title in titles)
    )

    assert [r.status_code for r in responses] == [200] * 10
    final = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert final["title"] in titles
    assert final["created_at"] == task["created_at"]
