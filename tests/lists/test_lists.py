"""Lists: create, read, rename, delete, order; names unique per user ignoring case; ETags;
another user's list is a 404. Every test runs on SQLite and PostgreSQL."""

import uuid

import httpx
import pytest

from tests.lists.helpers import LIST_FIELDS, create_list, list_names
from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, assert_validation_error, create_task, etag_of


async def test_a_list_is_created_with_its_shape_and_location(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/lists", json={"name": "  Groceries  ", "color": "#A1B2C3"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == LIST_FIELDS
    assert body["name"] == "Groceries"
    assert body["color"] == "#a1b2c3"
    assert body["open_count"] == 0
    assert response.headers["location"] == f"/api/lists/{body['id']}"
    assert etag_of(response) == '"1"'
    got = await alice.get(response.headers["location"])
    assert got.status_code == 200
    assert got.json() == body


async def test_lists_come_in_the_order_they_were_made(alice: httpx.AsyncClient) -> None:
    for name in ("Work", "Home", "Errands"):
        await create_list(alice, name)
    assert await list_names(alice) == ["Work", "Home", "Errands"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "colour": "#123456"}, "colour"),
        ({"name": "a\x00b"}, "name"),
        ({}, "name"),
    ],
)
async def test_bad_lists_are_refused_naming_the_field(
    alice: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    assert_validation_error(await alice.post("/api/lists", json=body), field)


async def test_a_name_of_100_characters_is_fine(alice: httpx.AsyncClient) -> None:
    assert (await create_list(alice, "é" * 100))["name"] == "é" * 100


async def test_names_are_unique_per_user_ignoring_case(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    await create_list(alice, "Groceries")
    assert_error(await alice.post("/api/lists", json={"name": "GROCERIES"}), 409, "CONFLICT")
    assert_error(await alice.post("/api/lists", json={"name": " groceries "}), 409, "CONFLICT")
    await create_list(bob, "groceries")  # another user's names are theirs
    other = await create_list(alice, "Ärger")
    renamed = await alice.patch(f"/api/lists/{other['id']}", json={"name": "gROCERIES"})
    assert_error(renamed, 409, "CONFLICT")
    assert_error(await alice.post("/api/lists", json={"name": "ärger"}), 409, "CONFLICT")
    assert await list_names(alice) == ["Groceries", "Ärger"]


async def test_renaming_to_its_own_name_in_another_case_is_fine(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "work")
    response = await alice.patch(f"/api/lists/{item['id']}", json={"name": "Work"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Work"


async def test_patch_changes_only_what_it_is_given(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "Home", color="#000000")
    response = await alice.patch(f"/api/lists/{item['id']}", json={"name": "House"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["color"]) == ("House", "#000000")
    assert body["updated_at"] > item["updated_at"]
    assert etag_of(response) == '"2"'
    cleared = await alice.patch(f"/api/lists/{item['id']}", json={"color": None})
    assert cleared.json()["color"] is None
    assert_validation_error(await alice.patch(f"/api/lists/{item['id']}", json={}), "body")
    assert_validation_error(
        await alice.patch(f"/api/lists/{item['id']}", json={"name": None}), "name"
    )


async def test_etags_and_if_match(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "Books")
    url = f"/api/lists/{item['id']}"
    assert (await alice.get(url, headers={"If-None-Match": '"1"'})).status_code == 304
    changed = await alice.patch(url, json={"name": "Novels"}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200
    stale = await alice.patch(url, json={"name": "Poems"}, headers={"If-Match": '"1"'})
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert_error(await alice.delete(url, headers={"If-Match": '"1"'}), 412, "PRECONDITION_FAILED")
    moved = await alice.post(f"{url}/move", json={}, headers={"If-Match": '"1"'})
    assert_error(moved, 412, "PRECONDITION_FAILED")
    assert (await alice.get(url)).json()["name"] == "Novels"
    assert (await alice.delete(url, headers={"If-Match": '"2"'})).status_code == 204


async def test_another_users_list_is_not_found(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    item = await create_list(alice, "Private")
    url = f"/api/lists/{item['id']}"
    assert_not_found(await bob.get(url))
    assert_not_found(await bob.patch(url, json={"name": "Mine"}))
    assert_not_found(await bob.delete(url))
    assert_not_found(await bob.post(f"{url}/move", json={}))
    assert_not_found(await bob.patch(url, json={"name": "Mine"}, headers={"If-Match": '"1"'}))
    assert_not_found(await alice.get(f"/api/lists/{uuid.uuid4()}"))
    assert_not_found(await alice.get("/api/lists/not-a-uuid"))
    assert await list_names(bob) == []
    assert (await alice.get(url)).json()["name"] == "Private"


async def test_open_count_counts_open_tasks_subtasks_included(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "Trip")
    parent = await create_task(alice, list_id=item["id"])
    await create_task(alice, parent_id=parent["id"])
    await create_task(alice, list_id=item["id"], is_completed=True)
    await create_task(alice)  # the inbox
    assert (await alice.get(f"/api/lists/{item['id']}")).json()["open_count"] == 2
    [listed] = (await alice.get("/api/lists")).json()
    assert listed["open_count"] == 2


async def test_deleting_a_list_deletes_its_tasks(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "Old")
    inside = await create_task(alice, list_id=item["id"])
    sub = await create_task(alice, parent_id=inside["id"])
    kept = await create_task(alice)
    response = await alice.delete(f"/api/lists/{item['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_not_found(await alice.get(f"/api/lists/{item['id']}"))
    for task in (inside, sub):
        assert_not_found(await alice.get(f"/api/tasks/{task['id']}"))
    assert (await alice.get(f"/api/tasks/{kept['id']}")).status_code == 200
    assert_not_found(await alice.delete(f"/api/lists/{item['id']}"))


async def test_moving_a_list_before_or_after_another(alice: httpx.AsyncClient) -> None:
    a, b, c = [await create_list(alice, name) for name in ("A", "B", "C")]
    moved = await alice.post(f"/api/lists/{c['id']}/move", json={"before": a["id"]})
    assert moved.status_code == 200, moved.text
    assert set(moved.json()) == LIST_FIELDS
    assert await list_names(alice) == ["C", "A", "B"]
    await alice.post(f"/api/lists/{c['id']}/move", json={"after": a["id"]})
    assert await list_names(alice) == ["A", "C", "B"]
    await alice.post(f"/api/lists/{a['id']}/move", json={})
    assert await list_names(alice) == ["C", "B", "A"]
    assert b["id"]


async def test_bad_list_moves_are_refused(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    a, b = await create_list(alice, "A"), await create_list(alice, "B")
    theirs = await create_list(bob, "Theirs")
    url = f"/api/lists/{a['id']}/move"
    both = await alice.post(url, json={"before": b["id"], "after": b["id"]})
    assert_validation_error(both, "body")
    assert_validation_error(await alice.post(url, json={"before": theirs["id"]}), "before")
    assert_validation_error(await alice.post(url, json={"after": str(uuid.uuid4())}), "after")
    assert_validation_error(await alice.post(url, json={"after": a["id"]}), "after")
    assert_validation_error(await alice.post(url, json={"after": "nope"}), "after")


async def test_a_thousand_moves_between_the_same_two_lists_keep_their_order(
    alice: httpx.AsyncClient,
) -> None:
    first = await create_list(alice, "first")
    await create_list(alice, "last")
    a, b = await create_list(alice, "a"), await create_list(alice, "b")
    for i in range(1000):
        moving, anchor = (a, first) if i % 2 == 0 else (b, first)
        response = await alice.post(f"/api/lists/{moving['id']}/move", json={"after": anchor["id"]})
        assert response.status_code == 200, response.text
    # The last move put b right after first, the one before put a there (now after b).
    assert await list_names(alice) == ["first", "b", "a", "last"]
    positions = [item["position"] for item in (await alice.get("/api/lists")).json()]
    assert positions == sorted(set(positions))


async def test_other_methods_are_405_and_bad_bodies_400(alice: httpx.AsyncClient) -> None:
    item = await create_list(alice, "Misc")
    url = f"/api/lists/{item['id']}"
    response = await alice.put(url, json={"name": "x"})
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "PATCH" in response.headers["allow"]
    assert_error(await alice.get(f"{url}/move"), 405, "METHOD_NOT_ALLOWED")
    not_json = await alice.post(
        "/api/lists", content=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert_error(not_json, 400, "INVALID_REQUEST")
    assert_error(
        await alice.post(
            f"{url}/move", content=b"[]", headers={"Content-Type": "application/json"}
        ),
        400,
        "INVALID_REQUEST",
    )


async def test_list_routes_need_a_token(anonymous: httpx.AsyncClient) -> None:
    for method, url in [
        ("GET", "/api/lists"),
        ("POST", "/api/lists"),
        ("GET", f"/api/lists/{uuid.uuid4()}"),
        ("POST", f"/api/lists/{uuid.uuid4()}/move"),
        ("POST", f"/api/tasks/{uuid.uuid4()}/move"),
    ]:
        response = await anonymous.request(method, url, json={"name": "x"})
        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_if_none_match_with_an_old_version_answers_the_list(
    alice: httpx.AsyncClient,
) -> None:
    item = await create_list(alice, "Fresh")
    await alice.patch(f"/api/lists/{item['id']}", json={"color": "#ffffff"})
    response = await alice.get(f"/api/lists/{item['id']}", headers={"If-None-Match": '"1"'})
    assert response.status_code == 200
    assert etag_of(response) == '"2"'
