"""The members of a shared list: listed by any member, the owner first; roles changed and
members removed by the owner only; a member leaves, the owner cannot; a member who goes is
unassigned from the list's tasks; what a member may do with the list's tasks follows their
role; the owner hands the list over to a member and stays on it as an editor. Every test runs
on SQLite and PostgreSQL."""

import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.lists.helpers import LIST_FIELDS, create_list
from tests.lists.sharing import share
from tests.support import assert_error, client_for
from tests.tasks.helpers import assert_validation_error, create_task, etag_of, timestamp, user_id_of
from todo_api.auth.tokens import mint_token
from todo_api.config import Settings

MEMBER_FIELDS = {"user_id", "email", "name", "role", "joined_at"}


def members_url(list_id: str) -> str:
    return f"/api/lists/{list_id}/members"


async def members_of(client: httpx.AsyncClient, list_id: str) -> list[dict[str, object]]:
    response = await client.get(members_url(list_id))
    assert response.status_code == 200, response.text
    body: list[dict[str, object]] = response.json()
    return body


@pytest.fixture
async def carol(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A user whose token names her (email and name)."""
    subject = str(uuid.uuid4())
    token = mint_token(
        settings, subject=subject, email=f"carol-{subject[:8]}@example.com", name="Carol"
    )
    async with client_for(app, token) as client:
        yield client


@pytest.fixture
async def shared(alice: httpx.AsyncClient, bob: httpx.AsyncClient, carol: httpx.AsyncClient) -> str:
    """A list of alice's, bob an editor of it and carol a viewer; its id."""
    made = await create_list(alice, "Shared")
    await share(alice, bob, made["id"], "editor")
    await share(alice, carol, made["id"], "viewer")
    return str(made["id"])


async def test_members_are_listed_to_every_member_the_owner_first(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, carol: httpx.AsyncClient, shared: str
) -> None:
    listed = await members_of(bob, shared)
    assert all(set(member) == MEMBER_FIELDS for member in listed)
    ids = [str(await user_id_of(client)) for client in (alice, bob, carol)]
    assert [(m["user_id"], m["role"]) for m in listed] == list(
        zip(ids, ["owner", "editor", "viewer"], strict=True)
    )
    assert listed[2]["name"] == "Carol"
    assert str(listed[2]["email"]).startswith("carol-")
    joined = [timestamp(str(member["joined_at"])) for member in listed]
    assert joined == sorted(joined)
    assert await members_of(carol, shared) == listed
    assert await members_of(alice, shared) == listed
    lists = (await carol.get("/api/lists")).json()
    assert [(item["id"], item["role"], item["member_count"]) for item in lists] == [
        (shared, "viewer", 3)
    ]
    assert set(lists[0]) == LIST_FIELDS
    assert lists[0]["owner_id"] == ids[0]


async def test_the_owner_changes_a_members_role(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, shared: str
) -> None:
    bob_id = str(await user_id_of(bob))
    before = etag_of(await alice.get(f"/api/lists/{shared}"))
    response = await alice.patch(f"{members_url(shared)}/{bob_id}", json={"role": "viewer"})
    assert response.status_code == 200, response.text
    member = response.json()
    assert set(member) == MEMBER_FIELDS
    assert (member["user_id"], member["role"]) == (bob_id, "viewer")
    assert member in await members_of(alice, shared)
    assert (await bob.get(f"/api/lists/{shared}")).json()["role"] == "viewer"
    assert etag_of(await alice.get(f"/api/lists/{shared}")) != before
    back = await alice.patch(f"{members_url(shared)}/{bob_id}", json={"role": "editor"})
    assert back.status_code == 200, back.text
    assert back.json()["role"] == "editor"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"role": "owner"}, ["role"]),
        ({"role": "admin"}, ["role"]),
        ({"role": None}, ["role"]),
        ({}, ["role"]),
        ({"role": "viewer", "rol": "x"}, ["rol"]),
    ],
)
async def test_a_bad_role_is_refused_naming_it(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    shared: str,
    body: dict[str, object],
    fields: list[str],
) -> None:
    url = f"{members_url(shared)}/{await user_id_of(bob)}"
    assert_validation_error(await alice.patch(url, json=body), *fields)
    assert (await bob.get(f"/api/lists/{shared}")).json()["role"] == "editor"


async def test_the_owners_role_stays_and_strangers_are_no_members(
    alice: httpx.AsyncClient, shared: str
) -> None:
    alice_id = await user_id_of(alice)
    url = members_url(shared)
    assert_error(await alice.patch(f"{url}/{alice_id}", json={"role": "editor"}), 409, "CONFLICT")
    for someone in (uuid.uuid4(), "not-a-uuid"):
        response = await alice.patch(f"{url}/{someone}", json={"role": "viewer"})
        assert_error(response, 404, "NOT_FOUND")
    assert (await members_of(alice, shared))[0]["role"] == "owner"


@pytest.mark.parametrize("member", ["bob", "carol"])
async def test_members_may_not_manage_people_and_nothing_changes(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    shared: str,
    member: str,
) -> None:
    caller, other = (bob, carol) if member == "bob" else (carol, bob)
    before = await members_of(alice, shared)
    etag = etag_of(await alice.get(f"/api/lists/{shared}"))
    url = members_url(shared)
    for target in (other, alice, caller):
        target_url = f"{url}/{await user_id_of(target)}"
        response = await caller.patch(target_url, json={"role": "editor"})
        assert_error(response, 403, "FORBIDDEN")
    for target in (other, alice):
        target_url = f"{url}/{await user_id_of(target)}"
        assert_error(await caller.delete(target_url), 403, "FORBIDDEN")
    assert await members_of(alice, shared) == before
    assert etag_of(await alice.get(f"/api/lists/{shared}")) == etag


async def test_someone_not_a_member_gets_what_a_missing_list_gets(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    made = await create_list(alice, "Private")
    alice_id = await user_id_of(alice)
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", f"/{alice_id}", {"role": "viewer"}),
        ("DELETE", f"/{alice_id}", None),
        ("DELETE", f"/{await user_id_of(bob)}", None),
    ):
        theirs = await bob.request(method, members_url(made["id"]) + suffix, json=body)
        nothing = await bob.request(method, members_url(str(uuid.uuid4())) + suffix, json=body)
        assert assert_error(theirs, 404, "NOT_FOUND") == assert_error(nothing, 404, "NOT_FOUND")
    assert_error(await bob.get(members_url("not-a-uuid")), 404, "NOT_FOUND")
    assert len(await members_of(alice, made["id"])) == 1


async def test_the_owner_removes_a_member_who_then_sees_nothing_of_the_list(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, carol: httpx.AsyncClient, shared: str
) -> None:
    task = await create_task(alice, title="Shared task", list_id=shared)
    assert (await carol.get(f"/api/tasks/{task['id']}")).status_code == 200
    before = etag_of(await alice.get(f"/api/lists/{shared}"))
    response = await alice.delete(f"{members_url(shared)}/{await user_id_of(carol)}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert [m["role"] for m in await members_of(alice, shared)] == ["owner", "editor"]
    owners = await alice.get(f"/api/lists/{shared}")
    assert owners.json()["member_count"] == 2
    assert etag_of(owners) != before
    assert_error(await carol.get(f"/api/lists/{shared}"), 404, "NOT_FOUND")
    assert_error(await carol.get(members_url(shared)), 404, "NOT_FOUND")
    assert_error(await carol.get(f"/api/tasks/{task['id']}"), 404, "NOT_FOUND")
    assert (await carol.get("/api/lists")).json() == []
    # Removed already: no such member.
    response = await alice.delete(f"{members_url(shared)}/{await user_id_of(carol)}")
    assert_error(response, 404, "NOT_FOUND")


async def test_a_member_leaves_and_the_owner_cannot(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, shared: str
) -> None:
    response = await bob.delete(f"{members_url(shared)}/{await user_id_of(bob)}")
    assert response.status_code == 204, response.text
    assert_error(await bob.get(f"/api/lists/{shared}"), 404, "NOT_FOUND")
    assert [m["role"] for m in await members_of(alice, shared)] == ["owner", "viewer"]
    response = await alice.delete(f"{members_url(shared)}/{await user_id_of(alice)}")
    assert_error(response, 409, "CONFLICT")
    assert [m["role"] for m in await members_of(alice, shared)] == ["owner", "viewer"]
    for someone in (uuid.uuid4(), "not-a-uuid"):
        assert_error(await alice.delete(f"{members_url(shared)}/{someone}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("how", ["leaves", "is removed"])
async def test_a_member_who_goes_is_unassigned_from_that_lists_tasks(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, carol: httpx.AsyncClient, how: str
) -> None:
    made = await create_list(alice, "Chores")
    await share(alice, bob, made["id"], "editor")
    await share(alice, carol, made["id"], "viewer")
    other = await create_list(alice, "Other")
    await share(alice, bob, other["id"], "editor")
    bob_id, carol_id = str(await user_id_of(bob)), str(await user_id_of(carol))
    parent = await create_task(alice, list_id=made["id"], assignee_id=bob_id)
    subtask = await create_task(alice, parent_id=parent["id"], assignee_id=bob_id)
    carols = await create_task(alice, list_id=made["id"], assignee_id=carol_id)
    elsewhere = await create_task(alice, list_id=other["id"], assignee_id=bob_id)
    before = etag_of(await alice.get(f"/api/tasks/{parent['id']}"))
    goer = bob if how == "leaves" else alice
    response = await goer.delete(f"{members_url(made['id'])}/{bob_id}")
    assert response.status_code == 204, response.text
    for task in (parent, subtask):
        got = await alice.get(f"/api/tasks/{task['id']}")
        assert got.json()["assignee_id"] is None
    assert etag_of(await alice.get(f"/api/tasks/{parent['id']}")) != before
    assert (await alice.get(f"/api/tasks/{carols['id']}")).json()["assignee_id"] == carol_id
    assert (await bob.get(f"/api/tasks/{elsewhere['id']}")).json()["assignee_id"] == bob_id


async def test_a_member_works_with_the_lists_tasks_as_their_role_allows(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, carol: httpx.AsyncClient, shared: str
) -> None:
    task = await create_task(alice, title="Buy milk", list_id=shared)
    for member in (bob, carol):
        got = await member.get(f"/api/tasks/{task['id']}")
        assert got.status_code == 200, got.text
        assert got.json()["title"] == "Buy milk"
    refused = await carol.patch(f"/api/tasks/{task['id']}", json={"title": "Buy cream"})
    assert_error(refused, 403, "FORBIDDEN")
    changed = await bob.patch(f"/api/tasks/{task['id']}", json={"title": "Buy oat milk"})
    assert changed.status_code == 200, changed.text
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["title"] == "Buy oat milk"
    # The owner makes carol an editor: now she may.
    carol_id = await user_id_of(carol)
    promoted = await alice.patch(f"{members_url(shared)}/{carol_id}", json={"role": "editor"})
    assert promoted.status_code == 200, promoted.text
    allowed = await carol.patch(f"/api/tasks/{task['id']}", json={"title": "Buy cream"})
    assert allowed.status_code == 200, allowed.text


def owner_url(list_id: str) -> str:
    return f"/api/lists/{list_id}/owner"


@pytest.mark.parametrize("heir", ["bob", "carol"])
async def test_the_owner_hands_the_list_over_and_stays_as_an_editor(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    shared: str,
    heir: str,
) -> None:
    new_owner = bob if heir == "bob" else carol
    ids = [str(await user_id_of(client)) for client in (alice, bob, carol)]
    heir_id = ids[1] if heir == "bob" else ids[2]
    task = await create_task(alice, title="Buy milk", list_id=shared)
    before = etag_of(await alice.get(f"/api/lists/{shared}"))
    response = await alice.post(owner_url(shared), json={"user_id": heir_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == LIST_FIELDS
    assert (body["id"], body["owner_id"], body["role"]) == (shared, heir_id, "editor")
    assert body["member_count"] == 3
    assert etag_of(response) == etag_of(await alice.get(f"/api/lists/{shared}")) != before
    roles = {m["user_id"]: m["role"] for m in await members_of(new_owner, shared)}
    other, others_role = (ids[2], "viewer") if heir == "bob" else (ids[1], "editor")
    assert roles == {
        heir_id: "owner",
        ids[0]: "editor",
        other: others_role,
    }
    assert (await new_owner.get(f"/api/lists/{shared}")).json()["role"] == "owner"
    assert (await new_owner.get(f"/api/tasks/{task['id']}")).json()["user_id"] == heir_id
    # Now an editor: alice changes the tasks, and may hand the list over no more.
    changed = await alice.patch(f"/api/tasks/{task['id']}", json={"title": "Buy oat milk"})
    assert changed.status_code == 200, changed.text
    again = await alice.post(owner_url(shared), json={"user_id": ids[0]})
    assert_error(again, 403, "FORBIDDEN")


async def test_only_the_owner_hands_over_to_a_member_and_nothing_else_changes(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    carol: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
    shared: str,
) -> None:
    alice_id, bob_id = str(await user_id_of(alice)), str(await user_id_of(bob))
    before = await members_of(alice, shared)
    etag = etag_of(await alice.get(f"/api/lists/{shared}"))
    for member in (bob, carol):
        response = await member.post(owner_url(shared), json={"user_id": bob_id})
        assert_error(response, 403, "FORBIDDEN")
    async with new_user_client() as stranger:
        stranger_id = str(await user_id_of(stranger))
        theirs = await stranger.post(owner_url(shared), json={"user_id": stranger_id})
        nothing = await stranger.post(owner_url(str(uuid.uuid4())), json={"user_id": stranger_id})
        assert assert_error(theirs, 404, "NOT_FOUND") == assert_error(nothing, 404, "NOT_FOUND")
        # Someone who is no member (or no one at all) is named as a field that fails its rule.
        for someone in (stranger_id, str(uuid.uuid4())):
            response = await alice.post(owner_url(shared), json={"user_id": someone})
            assert_validation_error(response, "user_id")
    assert_error(
        await alice.post(owner_url("not-a-uuid"), json={"user_id": bob_id}), 404, "NOT_FOUND"
    )
    response = await alice.post(owner_url(shared), json={"user_id": alice_id})
    assert_error(response, 409, "CONFLICT")
    for body, fields in (
        ({}, ["user_id"]),
        ({"user_id": "bob"}, ["user_id"]),
        ({"user_id": None}, ["user_id"]),
        ({"user_id": bob_id, "role": "owner"}, ["role"]),
    ):
        assert_validation_error(await alice.post(owner_url(shared), json=body), *fields)
    assert await members_of(alice, shared) == before
    assert etag_of(await alice.get(f"/api/lists/{shared}")) == etag
