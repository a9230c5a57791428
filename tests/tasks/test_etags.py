"""ETags and conditional requests (RFC 9110) on every single-task route.

A task's ETag changes on every write; If-None-Match on GET answers 304 while it still matches
(weak comparison); If-Match on PUT, PATCH, DELETE, complete and reopen answers 412 when stale
(strong comparison) and leaves the task as it was.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, create_task, etag_of, random_task_url, user_id_of


@dataclass(frozen=True)
class Write:
    """A conditional write: how to send it and what it answers when it succeeds."""

    name: str
    method: str
    path: str  # {id} and {user} are filled in
    body: dict[str, Any] | None
    status: int
    needs_completed: bool = False  # reopen only changes a completed task


WRITES = [
    Write("put", "PUT", "/api/tasks/{id}", {"title": "Changed"}, 200),
    Write("patch", "PATCH", "/api/tasks/{id}", {"title": "Changed"}, 200),
    Write("delete", "DELETE", "/api/tasks/{id}", None, 204),
    Write("complete", "POST", "/api/tasks/{id}/complete", None, 200),
    Write("reopen", "POST", "/api/tasks/{id}/reopen", None, 200, needs_completed=True),
    Write("user-put", "PUT", "/api/{user}/tasks/{id}", {"title": "Changed"}, 200),
    Write("user-delete", "DELETE", "/api/{user}/tasks/{id}", None, 204),
    Write("user-toggle", "PATCH", "/api/{user}/tasks/{id}/complete", None, 200),
]
WRITE_IDS = [write.name for write in WRITES]


async def send(
    client: httpx.AsyncClient, write: Write, task_id: str, if_match: str | None = None
) -> httpx.Response:
    user = await user_id_of(client)
    headers = {"If-Match": if_match} if if_match is not None else {}
    url = write.path.format(id=task_id, user=user)
    return await client.request(write.method, url, json=write.body, headers=headers)


async def task_at_version_two(client: httpx.AsyncClient, write: Write) -> tuple[dict, str, str]:
    """A task that has been written once after its creation: (task, old ETag, current ETag)."""
    created = await client.post(
        "/api/tasks", json={"title": "Original", "is_completed": write.needs_completed}
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    changed = await client.patch(f"/api/tasks/{task_id}", json={"description": "Touched"})
    assert changed.status_code == 200, changed.text
    assert etag_of(changed) != etag_of(created)
    return changed.json(), etag_of(created), etag_of(changed)


async def get(client: httpx.AsyncClient, task_id: str) -> httpx.Response:
    response = await client.get(f"/api/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response


# --- ETag on every single-task response -----------------------------------------------------------


async def test_every_write_gives_a_new_etag_that_get_then_returns(alice: httpx.AsyncClient) -> None:
    user = await user_id_of(alice)
    created = await alice.post("/api/tasks", json={"title": "Tracked"})
    task_id = created.json()["id"]
    url = f"/api/tasks/{task_id}"
    responses = [created]
    for method, path, body in [
        ("PUT", url, {"title": "Put"}),
        ("PATCH", url, {"priority": "high"}),
        ("POST", f"{url}/complete", None),
        ("POST", f"{url}/reopen", None),
        ("PUT", f"/api/{user}/tasks/{task_id}", {"title": "Put in the user's path"}),
        ("PATCH", f"/api/{user}/tasks/{task_id}/complete", None),
        ("PATCH", f"/api/{user}/tasks/{task_id}/complete", None),
    ]:
        response = await alice.request(method, path, json=body)
        assert response.status_code == 200, response.text
        current = await get(alice, task_id)
        assert etag_of(current) == etag_of(response), (method, path)
        responses.append(response)

    etags = [etag_of(response) for response in responses]
    assert len(set(etags)) == len(etags), etags


async def test_a_create_on_the_user_path_and_its_get_carry_the_etag(
    alice: httpx.AsyncClient,
) -> None:
    user = await user_id_of(alice)
    created = await alice.post(f"/api/{user}/tasks", json={"title": "Mine"})
    assert created.status_code == 201, created.text

    fetched = await alice.get(f"/api/{user}/tasks/{created.json()['id']}")

    assert fetched.status_code == 200
    assert etag_of(fetched) == etag_of(created)


async def test_the_etag_is_per_task_state_not_per_request(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)

    first, second = await get(alice, task["id"]), await get(alice, task["id"])

    assert etag_of(first) == etag_of(second)


@pytest.mark.parametrize(
    ("start_completed", "action"),
    [(True, "complete"), (False, "reopen")],
    ids=["complete", "reopen"],
)
async def test_a_complete_or_reopen_that_changes_nothing_keeps_the_etag(
    alice: httpx.AsyncClient, start_completed: bool, action: str
) -> None:
    created = await alice.post("/api/tasks", json={"title": "t", "is_completed": start_completed})
    task_id = created.json()["id"]

    again = await alice.post(f"/api/tasks/{task_id}/{action}")

    assert again.status_code == 200, again.text
    assert etag_of(again) == etag_of(created)
    assert again.json() == created.json()
    assert etag_of(await get(alice, task_id)) == etag_of(created)


# --- If-None-Match on GET -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    ["{etag}", "W/{etag}", "*", '"no-such-version", {etag}'],
    ids=["strong", "weak", "star", "in-a-list"],
)
async def test_if_none_match_with_the_current_etag_is_304_without_a_body(
    alice: httpx.AsyncClient, form: str
) -> None:
    task = await create_task(alice)
    current = etag_of(await get(alice, task["id"]))

    response = await alice.get(
        f"/api/tasks/{task['id']}", headers={"If-None-Match": form.format(etag=current)}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert etag_of(response) == current


async def test_if_none_match_with_an_old_etag_is_200_with_the_task(
    alice: httpx.AsyncClient,
) -> None:
    created = await alice.post("/api/tasks", json={"title": "Old"})
    task_id = created.json()["id"]
    changed = await alice.put(f"/api/tasks/{task_id}", json={"title": "New"})

    response = await alice.get(f"/api/tasks/{task_id}", headers={"If-None-Match": etag_of(created)})

    assert response.status_code == 200
    assert response.json() == changed.json()
    assert etag_of(response) == etag_of(changed)


async def test_if_none_match_on_the_user_path_get_is_304(alice: httpx.AsyncClient) -> None:
    user = await user_id_of(alice)
    task = await create_task(alice)
    url = f"/api/{user}/tasks/{task['id']}"
    current = etag_of(await alice.get(url))

    response = await alice.get(url, headers={"If-None-Match": current})

    assert response.status_code == 304
    assert response.content == b""


async def test_if_none_match_on_a_missing_task_is_404(alice: httpx.AsyncClient) -> None:
    assert_not_found(await alice.get(random_task_url(), headers={"If-None-Match": "*"}))


# --- If-Match on writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_a_stale_if_match_is_412_and_leaves_the_task_unchanged(
    alice: httpx.AsyncClient, write: Write
) -> None:
    task, old, _current = await task_at_version_two(alice, write)
    before = await get(alice, task["id"])

    response = await send(alice, write, task["id"], if_match=old)

    assert_error(response, 412, "PRECONDITION_FAILED")
    after = await get(alice, task["id"])
    assert after.json() == before.json()
    assert etag_of(after) == etag_of(before)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_the_current_if_match_lets_the_write_through(
    alice: httpx.AsyncClient, write: Write
) -> None:
    task, _old, current = await task_at_version_two(alice, write)

    response = await send(alice, write, task["id"], if_match=current)

    assert response.status_code == write.status, response.text
    if write.status == 204:
        assert_not_found(await alice.get(f"/api/tasks/{task['id']}"))
    else:
        assert etag_of(response) != current
        assert etag_of(await get(alice, task["id"])) == etag_of(response)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_if_match_star_writes_an_existing_task(
    alice: httpx.AsyncClient, write: Write
) -> None:
    task, _old, _current = await task_at_version_two(alice, write)

    response = await send(alice, write, task["id"], if_match="*")

    assert response.status_code == write.status, response.text


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_if_match_star_on_a_missing_task_is_404(
    alice: httpx.AsyncClient, write: Write
) -> None:
    missing = random_task_url().rsplit("/", 1)[1]

    assert_not_found(await send(alice, write, missing, if_match="*"))


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_if_match_on_a_missing_or_foreign_task_is_404_not_412(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, write: Write
) -> None:
    bobs = await bob.post("/api/tasks", json={"title": "Bob's", "is_completed": True})
    bobs_etag = etag_of(bobs)
    missing = random_task_url().rsplit("/", 1)[1]

    # Bob's current ETag, and a stale one: neither may tell Alice that the task exists.
    for if_match in (bobs_etag, '"999"'):
        assert_not_found(await send(alice, write, bobs.json()["id"], if_match=if_match))
        assert_not_found(await send(alice, write, missing, if_match=if_match))

    unchanged = await bob.get(f"/api/tasks/{bobs.json()['id']}")
    assert unchanged.json() == bobs.json()
    assert etag_of(unchanged) == bobs_etag


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_a_weak_if_match_never_matches(alice: httpx.AsyncClient, write: Write) -> None:
    task, _old, current = await task_at_version_two(alice, write)

    response = await send(alice, write, task["id"], if_match=f"W/{current}")

    assert_error(response, 412, "PRECONDITION_FAILED")
    assert etag_of(await get(alice, task["id"])) == current


@pytest.mark.parametrize("if_match", ['"999", {current}', '{current}, "999"'])
async def test_if_match_with_a_list_including_the_current_etag_succeeds(
    alice: httpx.AsyncClient, if_match: str
) -> None:
    task, _old, current = await task_at_version_two(alice, WRITES[1])

    response = await alice.patch(
        f"/api/tasks/{task['id']}",
        json={"title": "Listed"},
        headers={"If-Match": if_match.format(current=current)},
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("if_match", ["not-a-tag", '""', '"abc"'])
async def test_a_malformed_if_match_matches_nothing(
    alice: httpx.AsyncClient, if_match: str
) -> None:
    task = await create_task(alice)

    response = await alice.patch(
        f"/api/tasks/{task['id']}", json={"title": "x"}, headers={"If-Match": if_match}
    )

    assert_error(response, 412, "PRECONDITION_FAILED")


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_writes_without_if_match_work_as_before(
    alice: httpx.AsyncClient, write: Write
) -> None:
    task, _old, _current = await task_at_version_two(alice, write)

    response = await send(alice, write, task["id"])

    assert response.status_code == write.status, response.text


async def test_a_stale_if_match_with_an_invalid_body_is_400(alice: httpx.AsyncClient) -> None:
    task, old, _current = await task_at_version_two(alice, WRITES[0])

    response = await alice.put(
        f"/api/tasks/{task['id']}", json={"title": ""}, headers={"If-Match": old}
    )

    assert response.status_code == 400


# --- Races: the version is checked by the write statement itself ----------------------------------


async def test_concurrent_updates_with_the_same_etag_let_exactly_one_through(
    alice: httpx.AsyncClient,
) -> None:
    task, _old, current = await task_at_version_two(alice, WRITES[1])
    titles = [f"Writer {n}" for n in range(10)]

    responses = await asyncio.gather(
        *(
            alice.patch(
                f"/api/tasks/{task['id']}", json={"title": title}, headers={"If-Match": current}
            )
            for title in titles
        )
    )

    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [200] + [412] * 9, [r.text for r in responses]
    winner = responses[statuses.index(200)]
    final = await get(alice, task["id"])
    assert final.json() == winner.json()
    assert final.json()["title"] == titles[statuses.index(200)]


async def test_concurrent_conditional_completes_let_exactly_one_through(
    alice: httpx.AsyncClient,
) -> None:
    task, _old, current = await task_at_version_two(alice, WRITES[3])

    responses = await asyncio.gather(
        *(
            alice.post(f"/api/tasks/{task['id']}/complete", headers={"If-Match": current})
            for _ in range(10)
        )
    )

    assert sorted(r.status_code for r in responses) == [200] + [412] * 9


async def test_concurrent_conditional_deletes_delete_once_and_the_rest_find_nothing(
    alice: httpx.AsyncClient,
) -> None:
    task, _old, current = await task_at_version_two(alice, WRITES[2])

    responses = await asyncio.gather(
        *(
            alice.delete(f"/api/tasks/{task['id']}", headers={"If-Match": current})
            for _ in range(10)
        )
    )

    assert sorted(r.status_code for r in responses) == [204] + [404] * 9
