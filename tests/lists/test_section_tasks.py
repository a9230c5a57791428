"""A task's section: null, or a section of its list (a subtask is in its parent's); created,
changed, moved and bulk-written with the task; the listing filters by it. Every test runs on
SQLite and PostgreSQL."""

from typing import Any

import httpx

from tests.lists.helpers import create_list
from tests.lists.sharing import share, unknown_id
from tests.lists.test_sections import add_section
from tests.support import assert_error
from tests.tasks.helpers import assert_validation_error, bulk, create_task


async def _titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/tasks", params={"sort": "position", **params})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def test_a_task_is_created_in_a_section_of_its_list(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home")
    doing = await add_section(alice, work["id"], "Doing")
    task = await create_task(alice, list_id=work["id"], section_id=doing["id"])
    assert task["section_id"] == doing["id"]
    assert (await create_task(alice, list_id=work["id"]))["section_id"] is None
    for body in (
        {"list_id": home["id"], "section_id": doing["id"]},  # another list's
        {"section_id": doing["id"]},  # the inbox has no sections
        {"list_id": work["id"], "section_id": unknown_id()},
    ):
        response = await alice.post("/api/tasks", json={"title": "x", **body})
        assert_validation_error(response, "section_id")


async def test_a_subtask_is_in_its_parents_section(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing, done = [await add_section(alice, work["id"], name) for name in ("Doing", "Done")]
    parent = await create_task(alice, list_id=work["id"], section_id=doing["id"])
    child = await create_task(alice, parent_id=parent["id"])
    assert child["section_id"] == doing["id"]
    response = await alice.post(
        "/api/tasks", json={"title": "x", "parent_id": parent["id"], "section_id": done["id"]}
    )
    assert_validation_error(response, "section_id")
    assert_validation_error(
        await alice.patch(f"/api/tasks/{child['id']}", json={"section_id": done["id"]}),
        "section_id",
    )
    moved = await alice.patch(f"/api/tasks/{parent['id']}", json={"section_id": done["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["section_id"] == done["id"]
    assert (await alice.get(f"/api/tasks/{child['id']}")).json()["section_id"] == done["id"]


async def test_patch_sets_and_clears_a_section_and_another_list_leaves_it(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home")
    doing = await add_section(alice, work["id"], "Doing")
    later = await add_section(alice, home["id"], "Later")
    task = await create_task(alice, list_id=work["id"])
    url = f"/api/tasks/{task['id']}"
    assert (await alice.patch(url, json={"section_id": doing["id"]})).json()["section_id"] == (
        doing["id"]
    )
    assert (await alice.patch(url, json={"title": "Renamed"})).json()["section_id"] == doing["id"]
    assert (await alice.patch(url, json={"section_id": None})).json()["section_id"] is None
    await alice.patch(url, json={"section_id": doing["id"]})
    assert_validation_error(await alice.patch(url, json={"section_id": later["id"]}), "section_id")
    elsewhere = (await alice.patch(url, json={"list_id": home["id"]})).json()
    assert (elsewhere["list_id"], elsewhere["section_id"]) == (home["id"], None)
    named = await alice.patch(url, json={"list_id": work["id"], "section_id": doing["id"]})
    assert (named.json()["list_id"], named.json()["section_id"]) == (work["id"], doing["id"])


async def test_move_puts_a_task_in_a_section_and_a_place(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing, done = [await add_section(alice, work["id"], name) for name in ("Doing", "Done")]
    a = await create_task(alice, title="A", list_id=work["id"], section_id=done["id"])
    b = await create_task(alice, title="B", list_id=work["id"], section_id=done["id"])
    c = await create_task(alice, title="C", list_id=work["id"], section_id=doing["id"])
    moved = await alice.post(
        f"/api/tasks/{c['id']}/move", json={"section_id": done["id"], "before": b["id"]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["section_id"] == done["id"]
    assert await _titles(alice, section_id=done["id"]) == ["A", "C", "B"]
    assert await _titles(alice, section_id=doing["id"]) == []
    # Next to a task, left out, the section is that task's.
    nearby = await alice.post(f"/api/tasks/{c['id']}/move", json={"after": a["id"]})
    assert nearby.json()["section_id"] == done["id"]
    out = await alice.post(f"/api/tasks/{c['id']}/move", json={"section_id": None})
    assert out.json()["section_id"] is None
    assert_validation_error(
        await alice.post(f"/api/tasks/{c['id']}/move", json={"section_id": unknown_id()}),
        "section_id",
    )


async def test_bulk_operations_take_a_section(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    task = await create_task(alice, list_id=work["id"])
    response = await bulk(
        alice,
        {
            "op": "create",
            "data": {"title": "New", "list_id": work["id"], "section_id": doing["id"]},
        },
        {"op": "update", "id": task["id"], "data": {"section_id": doing["id"]}},
    )
    assert response.status_code == 200, response.text
    assert [r["task"]["section_id"] for r in response.json()["results"]] == [doing["id"]] * 2
    refused = await bulk(alice, {"op": "update", "id": task["id"], "data": {"section_id": "x"}})
    assert refused.status_code == 400


async def test_the_listing_filters_by_section(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    doing = await add_section(alice, work["id"], "Doing")
    await create_task(alice, title="In", list_id=work["id"], section_id=doing["id"])
    await create_task(alice, title="Out", list_id=work["id"])
    await create_task(alice, title="Inbox")
    assert await _titles(alice, section_id=doing["id"]) == ["In"]
    assert await _titles(alice, list_id=work["id"], section_id="none") == ["Out"]
    response = await alice.get("/api/tasks", params={"section_id": "nope"})
    assert_validation_error(response, "section_id")


async def test_a_viewer_cannot_put_a_task_in_a_section(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    doing = await add_section(alice, shared["id"], "Doing")
    task = await create_task(alice, list_id=shared["id"])
    await share(alice, bob, shared["id"], "viewer")
    response = await bob.patch(f"/api/tasks/{task['id']}", json={"section_id": doing["id"]})
    assert_error(response, 403, "FORBIDDEN")


async def test_the_filter_language_names_a_section_ignoring_case(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    work = await create_list(alice, "Work")
    home = await create_list(alice, "Home")
    doing = await add_section(alice, work["id"], "Doing")
    also = await add_section(alice, home["id"], "doing")
    await create_task(alice, title="Work now", list_id=work["id"], section_id=doing["id"])
    await create_task(alice, title="Home now", list_id=home["id"], section_id=also["id"])
    await create_task(alice, title="Elsewhere", list_id=work["id"])
    assert sorted(await _titles(alice, filter="/DOING")) == ["Home now", "Work now"]
    assert await _titles(alice, filter="#Work & /Doing") == ["Work now"]
    assert await _titles(alice, filter="#Work & !/Doing") == ["Elsewhere"]
    assert await _titles(bob, filter="/Doing") == []  # none of his lists has it
