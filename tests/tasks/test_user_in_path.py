"""The routes with the user in the path that Next.js frontends call:

GET/POST /api/{user_id}/tasks, GET/PUT/DELETE /api/{user_id}/tasks/{id} and
PATCH /api/{user_id}/tasks/{id}/complete (a toggle). `user_id` is the caller's user id or their
token's subject (Better Auth ids are plain strings); anyone else's is 404.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, assert_validation_error, create_task, timestamp
from tests.tasks.listing_helpers import (
    assert_validation_error_on,
    ids,
    list_page,
    next_link,
    walk_pages,
)


@dataclass
class Caller:
    client: httpx.AsyncClient
    subject: str
    user_id: str
    path_id: str  # the form of the caller's id that goes in the path

    @property
    def tasks_url(self) -> str:
        return f"/api/{self.path_id}/tasks"


def better_auth_subject() -> str:
    """A Better-Auth-like user id: a random string that is not a UUID."""
    return f"someStringId{uuid.uuid4().hex[:12]}"


async def make_caller(
    new_user_client: Callable[..., httpx.AsyncClient], subject: str, path_form: str
) -> AsyncIterator[Caller]:
    async with new_user_client(subject) as client:
        me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        user_id = me.json()["id"]
        path_id = subject if path_form == "subject" else user_id
        yield Caller(client=client, subject=subject, user_id=user_id, path_id=path_id)


@pytest.fixture(
    params=[
        pytest.param(("uuid", "user-id"), id="uuid-subject"),
        pytest.param(("string", "subject"), id="string-subject"),
        pytest.param(("string", "user-id"), id="string-subject-by-user-id"),
    ]
)
async def me(
    request: pytest.FixtureRequest, new_user_client: Callable[..., httpx.AsyncClient]
) -> AsyncIterator[Caller]:
    """The caller, and the form of their id that goes in the path."""
    kind, path_form = request.param
    subject = str(uuid.uuid4()) if kind == "uuid" else better_auth_subject()
    async for caller in make_caller(new_user_client, subject, path_form):
        yield caller


@pytest.fixture
async def caller(new_user_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[Caller]:
    """A caller with a UUID subject, for the tests where the form of their own id is moot."""
    async for caller in make_caller(new_user_client, str(uuid.uuid4()), "user-id"):
        yield caller


@pytest.fixture
async def other(new_user_client: Callable[..., httpx.AsyncClient]) -> AsyncIterator[Caller]:
    """Another user, with a Better-Auth-like subject (so both forms of their id exist)."""
    async for caller in make_caller(new_user_client, better_auth_subject(), "subject"):
        yield caller


# --- the caller's own tasks ---------------------------------------------------------------------


async def test_every_caller_has_a_uuid_user_id_and_a_string_subject_is_not_it(
    me: Caller,
) -> None:
    assert str(uuid.UUID(me.user_id)) == me.user_id
    assert (me.subject == me.user_id) == (me.subject.count("-") == 4)


async def test_list_gives_the_callers_tasks(me: Caller) -> None:
    created = [await create_task(me.client, title=f"Task {n}") for n in range(3)]
    response = await me.client.get(me.tasks_url)
    assert response.status_code == 200
    assert response.json() == (await list_page(me.client)).json()
    assert ids(response.json()) == ids(created)[::-1]
    assert response.headers["x-total-count"] == "3"


async def test_list_takes_the_listing_parameters_and_pages(me: Caller) -> None:
    for n, priority in enumerate(["high", "low", "high", "none", "high"]):
        await create_task(me.client, title=f"Task {n}", priority=priority, tags=["home"])
    params = [("priority", "high"), ("tag", "HOME"), ("sort", "-title"), ("limit", 2)]

    first = await list_page(me.client, params, path=me.tasks_url)
    assert first.headers["x-total-count"] == "3"
    link = next_link(first)
    assert link is not None
    assert httpx.URL(link).path == me.tasks_url

    walked = await walk_pages(me.client, params, path=me.tasks_url)
    assert ids(walked) == ids(await walk_pages(me.client, params))
    assert [task["title"] for task in walked] == ["Task 4", "Task 2", "Task 0"]


async def test_list_refuses_an_invalid_parameter_naming_it(me: Caller) -> None:
    response = await me.client.get(me.tasks_url, params={"sort": "bogus"})
    assert_validation_error_on(response, "sort")


async def test_list_refuses_a_cursor_from_another_sort(me: Caller) -> None:
    for n in range(3):
        await create_task(me.client, title=f"Task {n}")
    first = await list_page(me.client, [("limit", 1)], path=me.tasks_url)
    response = await me.client.get(
        me.tasks_url,
        params={"limit": 1, "sort": "title", "cursor": first.headers["x-next-cursor"]},
    )
    assert_validation_error(response, "cursor")


async def test_create_makes_a_task_of_the_caller(me: Caller) -> None:
    response = await me.client.post(
        me.tasks_url,
        json={"title": " Buy milk ", "priority": "high", "tags": ["Shop"], "due_at": None},
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert task["title"] == "Buy milk"
    assert task["priority"] == "high"
    assert task["tags"] == ["shop"]
    assert task["user_id"] == me.user_id
    assert (await me.client.get(response.headers["location"])).json() == task
    assert (await list_page(me.client)).json() == [task]


async def test_create_refuses_what_the_plain_route_refuses(me: Caller) -> None:
    response = await me.client.post(me.tasks_url, json={"title": "  "})
    assert_validation_error(response, "title")
    assert (await list_page(me.client)).json() == []


async def test_get_one_gives_the_task(me: Caller) -> None:
    task = await create_task(me.client, title="Mine", tags=["a"])
    response = await me.client.get(f"{me.tasks_url}/{task['id']}")
    assert response.status_code == 200
    assert response.json() == task


async def test_put_changes_the_given_fields(me: Caller) -> None:
    task = await create_task(me.client, title="Before", description="Stays")
    response = await me.client.put(
        f"{me.tasks_url}/{task['id']}", json={"title": "After", "priority": "low"}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["title"] == "After"
    assert changed["priority"] == "low"
    assert changed["description"] == "Stays"
    assert (await me.client.get(f"/api/tasks/{task['id']}")).json() == changed


async def test_delete_removes_the_task(me: Caller) -> None:
    task = await create_task(me.client)
    response = await me.client.delete(f"{me.tasks_url}/{task['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_not_found(await me.client.get(f"/api/tasks/{task['id']}"))
    assert_not_found(await me.client.delete(f"{me.tasks_url}/{task['id']}"))


async def test_patch_complete_toggles_between_completed_and_open(me: Caller) -> None:
    task = await create_task(me.client, title="Toggle me")
    url = f"{me.tasks_url}/{task['id']}/complete"

    done = await me.client.patch(url)
    assert done.status_code == 200, done.text
    assert done.json()["is_completed"] is True
    assert done.json()["completed_at"] is not None
    assert timestamp(done.json()["updated_at"]) > timestamp(task["updated_at"])

    reopened = await me.client.patch(url)
    assert reopened.status_code == 200
    assert reopened.json()["is_completed"] is False
    assert reopened.json()["completed_at"] is None
    assert timestamp(reopened.json()["updated_at"]) > timestamp(done.json()["updated_at"])

    again = (await me.client.patch(url)).json()
    assert again["is_completed"] is True
    assert timestamp(again["completed_at"]) > timestamp(done.json()["completed_at"])
    assert (await me.client.get(f"/api/tasks/{task['id']}")).json() == again


async def test_patch_complete_keeps_the_other_fields(me: Caller) -> None:
    task = await create_task(me.client, title="T", priority="medium", tags=["x"])
    done = (await me.client.patch(f"{me.tasks_url}/{task['id']}/complete")).json()
    for name in ("id", "user_id", "title", "description", "priority", "due_at", "tags"):
        assert done[name] == task[name]


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("PUT", ""), ("DELETE", ""), ("PATCH", "/complete")]
)
@pytest.mark.parametrize("task_id", ["unknown", "not-a-uuid"])
async def test_unknown_or_malformed_task_id_is_404(
    me: Caller, method: str, suffix: str, task_id: str
) -> None:
    target = str(uuid.uuid4()) if task_id == "unknown" else task_id
    body = {"title": "x"} if method == "PUT" else None
    response = await me.client.request(method, f"{me.tasks_url}/{target}{suffix}", json=body)
    assert_not_found(response)


# --- someone else's user id ---------------------------------------------------------------------

ROUTES = [
    pytest.param("GET", "", None, id="list"),
    pytest.param("POST", "", {"title": "Planted"}, id="create"),
    pytest.param("GET", "/{task}", None, id="get"),
    pytest.param("PUT", "/{task}", {"title": "Taken over", "is_completed": True}, id="put"),
    pytest.param("DELETE", "/{task}", None, id="delete"),
    pytest.param("PATCH", "/{task}/complete", None, id="toggle"),
]


async def snapshot(*callers: Caller) -> list[list[dict[str, Any]]]:
    return [await walk_pages(caller.client) for caller in callers]


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
@pytest.mark.parametrize("whose", ["other-user-id", "other-subject", "unknown-uuid", "no-one"])
async def test_a_user_id_that_is_not_the_callers_is_404_and_touches_nothing(
    caller: Caller,
    other: Caller,
    method: str,
    route: str,
    body: dict[str, Any] | None,
    whose: str,
) -> None:
    mine = await create_task(caller.client, title="Mine")
    theirs = await create_task(other.client, title="Theirs")
    path_id = {
        "other-user-id": other.user_id,
        "other-subject": other.subject,
        "unknown-uuid": str(uuid.uuid4()),
        "no-one": "someone-else",
    }[whose]
    before = await snapshot(caller, other)

    # The other user's task under their id, and the caller's own task under a foreign id.
    for task in (theirs, mine):
        url = f"/api/{path_id}/tasks{route.format(task=task['id'])}"
        response = await caller.client.request(method, url, json=body)
        assert_not_found(response)

    assert await snapshot(caller, other) == before


async def test_a_foreign_user_id_looks_exactly_like_an_unknown_one(
    caller: Caller, other: Caller
) -> None:
    theirs = await create_task(other.client)
    foreign = await caller.client.get(f"/api/{other.user_id}/tasks/{theirs['id']}")
    unknown = await caller.client.get(f"/api/{uuid.uuid4()}/tasks/{uuid.uuid4()}")
    assert_not_found(foreign)
    assert foreign.json() == unknown.json()


async def test_the_other_user_still_reaches_their_own_tasks(caller: Caller, other: Caller) -> None:
    theirs = await create_task(other.client, title="Theirs")
    await caller.client.delete(f"/api/{other.subject}/tasks/{theirs['id']}")
    response = await other.client.get(f"/api/{other.subject}/tasks/{theirs['id']}")
    assert response.status_code == 200
    assert response.json() == theirs


# --- no token -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
async def test_every_user_in_path_route_needs_a_bearer_token(
    anonymous: httpx.AsyncClient,
    other: Caller,
    method: str,
    route: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await create_task(other.client, title="Theirs")
    url = f"/api/{other.user_id}/tasks{route.format(task=theirs['id'])}"
    response = await anonymous.request(method, url, json=body)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await walk_pages(other.client) == [theirs]
