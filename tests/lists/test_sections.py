"""Sections: a list's named parts, in its order; who may change the list's tasks may change
them, its viewers read them, anyone else finds nothing. Every test runs on SQLite and
PostgreSQL."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import share, unknown_id
from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, assert_validation_error, create_task

SECTION_FIELDS = {"id", "list_id", "name", "position", "created_at", "updated_at"}


async def add_section(client: httpx.AsyncClient, list_id: str, name: str) -> dict[str, Any]:
    response = await client.post(f"/api/lists/{list_id}/sections", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == SECTION_FIELDS
    return body


async def section_names(client: httpx.AsyncClient, list_id: str) -> list[str]:
    response = await client.get(f"/api/lists/{list_id}/sections")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()]


async def test_a_section_is_created_with_its_shape_and_location(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    response = await alice.post(f"/api/lists/{work['id']}/sections", json={"name": "  Next  "})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SECTION_FIELDS
    assert body["name"] == "Next"
    assert body["list_id"] == work["id"]
    assert response.headers["location"] == f"/api/sections/{body['id']}"
    got = await alice.get(response.headers["location"])
    assert got.status_code == 200
    assert got.json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        ({"name": "ok", "n": 1}, "n"),
    ],
)
async def test_bad_sections_are_refused_naming_the_field(
    alice: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    work = await create_list(alice, "Work")
    assert_validation_error(await alice.post(f"/api/lists/{work['id']}/sections", json=body), field)


async def test_names_are_unique_in_a_list_ignoring_case(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home")
    await add_section(alice, work["id"], "Doing")
    again = await alice.post(f"/api/lists/{work['id']}/sections", json={"name": "DOING"})
    assert_error(again, 409, "CONFLICT")
    await add_section(alice, home["id"], "doing")  # another list's names are its own
    later = await add_section(alice, work["id"], "Done")
    renamed = await alice.patch(f"/api/sections/{later['id']}", json={"name": "doing"})
    assert_error(renamed, 409, "CONFLICT")
    same = await alice.patch(f"/api/sections/{later['id']}", json={"name": "DONE"})
    assert same.status_code == 200, same.text
    assert same.json()["name"] == "DONE"


async def test_a_list_has_at_most_100_sections(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    for number in range(100):
        await add_section(alice, work["id"], f"Part {number}")
    extra = await alice.post(f"/api/lists/{work['id']}/sections", json={"name": "One more"})
    assert_error(extra, 409, "CONFLICT")


async def test_sections_come_in_order_and_move(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    a, _b, c = [await add_section(alice, work["id"], name) for name in ("A", "B", "C")]
    assert await section_names(alice, work["id"]) == ["A", "B", "C"]
    moved = await alice.post(f"/api/sections/{c['id']}/move", json={"before": a["id"]})
    assert moved.status_code == 200, moved.text
    assert await section_names(alice, work["id"]) == ["C", "A", "B"]
    await alice.post(f"/api/sections/{c['id']}/move", json={"after": a["id"]})
    assert await section_names(alice, work["id"]) == ["A", "C", "B"]
    await alice.post(f"/api/sections/{a['id']}/move", json={})
    assert await section_names(alice, work["id"]) == ["C", "B", "A"]
    home = await create_list(alice, "Home")
    elsewhere = await add_section(alice, home["id"], "Elsewhere")
    for body, field in (
        ({"before": elsewhere["id"]}, "before"),  # another list's
        ({"after": unknown_id()}, "after"),
        ({"before": c["id"]}, "before"),  # itself
    ):
        response = await alice.post(f"/api/sections/{c['id']}/move", json=body)
        assert_validation_error(response, field)


async def test_deleting_a_section_deletes_its_tasks(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    inside = await create_task(alice, list_id=work["id"], section_id=doing["id"])
    outside = await create_task(alice, list_id=work["id"])
    response = await alice.delete(f"/api/sections/{doing['id']}")
    assert response.status_code == 204, response.text
    assert_not_found(await alice.get(f"/api/sections/{doing['id']}"))
    assert_not_found(await alice.get(f"/api/tasks/{inside['id']}"))
    assert (await alice.get(f"/api/tasks/{outside['id']}")).status_code == 200
    assert await section_names(alice, work["id"]) == []


async def test_deleting_a_section_may_keep_its_tasks(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    inside = await create_task(alice, list_id=work["id"], section_id=doing["id"])
    response = await alice.delete(f"/api/sections/{doing['id']}", params={"keep_tasks": "true"})
    assert response.status_code == 204, response.text
    kept = (await alice.get(f"/api/tasks/{inside['id']}")).json()
    assert kept["section_id"] is None
    assert kept["list_id"] == work["id"]
    assert kept["updated_at"] >= inside["updated_at"]


async def test_deleting_a_list_deletes_its_sections(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    assert (await alice.delete(f"/api/lists/{work['id']}")).status_code == 204
    assert_not_found(await alice.get(f"/api/sections/{doing['id']}"))
    assert_not_found(await alice.get(f"/api/lists/{work['id']}/sections"))


async def test_editors_change_sections_viewers_read_them_strangers_find_nothing(
    alice: httpx.AsyncClient,
    bob: httpx.AsyncClient,
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    shared = await create_list(alice, "Shared")
    await share(alice, bob, shared["id"], "editor")
    by_bob = await add_section(bob, shared["id"], "Bob's")
    renamed = await bob.patch(f"/api/sections/{by_bob['id']}", json={"name": "Bob's part"})
    assert renamed.status_code == 200, renamed.text
    async with new_user_client() as carol, new_user_client() as dave:
        await share(alice, carol, shared["id"], "viewer")
        assert await section_names(carol, shared["id"]) == ["Bob's part"]
        assert (await carol.get(f"/api/sections/{by_bob['id']}")).status_code == 200
        section = f"/api/sections/{by_bob['id']}"
        for response in (
            await carol.post(f"/api/lists/{shared['id']}/sections", json={"name": "Mine"}),
            await carol.patch(section, json={"name": "Mine"}),
            await carol.post(f"{section}/move", json={}),
            await carol.delete(section),
        ):
            assert_error(response, 403, "FORBIDDEN")
        for response in (
            await dave.get(f"/api/lists/{shared['id']}/sections"),
            await dave.post(f"/api/lists/{shared['id']}/sections", json={"name": "Mine"}),
            await dave.get(section),
            await dave.patch(section, json={"name": "Mine"}),
            await dave.post(f"{section}/move", json={}),
            await dave.delete(section),
        ):
            assert_not_found(response)
    assert (await bob.delete(section)).status_code == 204


async def test_unknown_and_malformed_ids_are_not_found(alice: httpx.AsyncClient) -> None:
    for url in (f"/api/sections/{unknown_id()}", "/api/sections/nope"):
        assert_not_found(await alice.get(url))
        assert_not_found(await alice.delete(url))
    assert_not_found(await alice.get(f"/api/lists/{unknown_id()}/sections"))
