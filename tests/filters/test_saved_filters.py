"""Saved filters (/api/filters): create, read, change, delete, move, their limits and
conflicts, and each one's tasks, on both databases."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.support import assert_error, validation_details
from tests.tasks.helpers import create_task
from tests.tasks.listing_helpers import walk_pages

FIELDS = {"id", "name", "query", "color", "position", "created_at", "updated_at"}


async def save(
    client: httpx.AsyncClient, name: str, query: str = "p1", **fields: Any
) -> dict[str, Any]:
    response = await client.post("/api/filters", json={"name": name, "query": query, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == FIELDS
    assert response.headers["location"] == f"/api/filters/{body['id']}"
    return body


async def names(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/filters")
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()]


async def test_create_read_change_delete(alice: httpx.AsyncClient) -> None:
    saved = await save(alice, "Urgent", "(today | overdue) & p1", color="#FF0000")
    assert saved["color"] == "#ff0000"
    assert saved["query"] == "(today | overdue) & p1"
    got = await alice.get(f"/api/filters/{saved['id']}")
    assert got.json() == saved
    changed = await alice.patch(f"/api/filters/{saved['id']}", json={"query": "p2", "color": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["query"], changed.json()["color"]) == ("p2", None)
    assert changed.json()["name"] == "Urgent"
    assert (await alice.delete(f"/api/filters/{saved['id']}")).status_code == 204
    assert_error(await alice.get(f"/api/filters/{saved['id']}"), 404, "NOT_FOUND")
    assert_error(await alice.delete(f"/api/filters/{saved['id']}"), 404, "NOT_FOUND")


async def test_the_query_is_checked_at_once(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/filters", json={"name": "Bad", "query": "today &"})
    (detail,) = validation_details(response)
    assert detail["field"] == "query"
    assert detail["message"].startswith("at position 7: expected a condition")
    saved = await save(alice, "Good")
    patched = await alice.patch(f"/api/filters/{saved['id']}", json={"query": "(p1"})
    assert [d["field"] for d in validation_details(patched)] == ["query"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "", "query": "p1"},
        {"name": "x" * 101, "query": "p1"},
        {"name": "n"},
        {"query": "p1"},
        {"name": "n", "query": ""},
        {"name": "n", "query": "p1", "color": "red"},
    ],
)
async def test_bad_bodies_are_400(alice: httpx.AsyncClient, body: dict[str, Any]) -> None:
    validation_details(await alice.post("/api/filters", json=body))


async def test_names_are_unique_ignoring_case(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    first = await save(alice, "Work")
    assert_error(
        await alice.post("/api/filters", json={"name": "WORK", "query": "p1"}), 409, "CONFLICT"
    )
    other = await save(alice, "Home")
    renamed = await alice.patch(f"/api/filters/{other['id']}", json={"name": "work"})
    assert_error(renamed, 409, "CONFLICT")
    await save(bob, "Work")  # another user's names are their own
    same = await alice.patch(f"/api/filters/{first['id']}", json={"name": "WORK"})
    assert same.status_code == 200, same.text


async def test_at_most_100_filters(alice: httpx.AsyncClient) -> None:
    for i in range(100):
        await save(alice, f"Filter {i}")
    assert_error(
        await alice.post("/api/filters", json={"name": "One more", "query": "p1"}), 409, "CONFLICT"
    )
    first = (await alice.get("/api/filters")).json()[0]
    assert (await alice.delete(f"/api/filters/{first['id']}")).status_code == 204
    await save(alice, "One more")


async def test_creates_at_once_stop_at_100(alice: httpx.AsyncClient) -> None:
    for i in range(97):
        await save(alice, f"Filter {i}")
    responses = await asyncio.gather(
        *(
            alice.post("/api/filters", json={"name": f"At once {i}", "query": "p1"})
            for i in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 409, 409, 409]
    assert len(await names(alice)) == 100


async def test_move_as_lists_move(alice: httpx.AsyncClient) -> None:
    a, b, c = [await save(alice, name) for name in ("A", "B", "C")]
    assert await names(alice) == ["A", "B", "C"]
    moved = await alice.post(f"/api/filters/{c['id']}/move", json={"before": a["id"]})
    assert moved.status_code == 200, moved.text
    assert await names(alice) == ["C", "A", "B"]
    await alice.post(f"/api/filters/{c['id']}/move", json={"after": a["id"]})
    assert await names(alice) == ["A", "C", "B"]
    await alice.post(f"/api/filters/{a['id']}/move", json={})
    assert await names(alice) == ["C", "B", "A"]
    for _ in range(30):  # the gap is used up and renumbered
        await alice.post(f"/api/filters/{a['id']}/move", json={"before": b["id"]})
        await alice.post(f"/api/filters/{a['id']}/move", json={"after": b["id"]})
    assert await names(alice) == ["C", "B", "A"]
    itself = await alice.post(f"/api/filters/{a['id']}/move", json={"before": a["id"]})
    assert [d["field"] for d in validation_details(itself)] == ["before"]
    unknown = await alice.post(f"/api/filters/{a['id']}/move", json={"after": str(uuid.uuid4())})
    assert [d["field"] for d in validation_details(unknown)] == ["after"]
    both = await alice.post(
        f"/api/filters/{a['id']}/move", json={"after": b["id"], "before": c["id"]}
    )
    validation_details(both)


async def test_no_one_elses_filters(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    mine = await save(alice, "Mine")
    url = f"/api/filters/{mine['id']}"
    assert_error(await bob.get(url), 404, "NOT_FOUND")
    assert_error(await bob.patch(url, json={"name": "x"}), 404, "NOT_FOUND")
    assert_error(await bob.delete(url), 404, "NOT_FOUND")
    assert_error(await bob.post(f"{url}/move", json={}), 404, "NOT_FOUND")
    assert_error(await bob.get(f"{url}/tasks"), 404, "NOT_FOUND")
    theirs = await save(bob, "Theirs")
    moved = await alice.post(f"{url}/move", json={"before": theirs["id"]})
    assert [d["field"] for d in validation_details(moved)] == ["before"]
    assert await names(bob) == ["Theirs"]
    assert_error(await alice.get("/api/filters/not-an-id"), 404, "NOT_FOUND")


async def test_a_filters_tasks_are_its_querys_listing(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    for i in range(5):
        await create_task(alice, title=f"work {i}", list_id=work["id"], priority="high")
    await create_task(alice, title="home", priority="high")
    await create_task(alice, title="done", list_id=work["id"], priority="high", is_completed=True)
    saved = await save(alice, "Work", "#Work & p1")
    path = f"/api/filters/{saved['id']}/tasks"
    walked = await walk_pages(alice, [("sort", "title"), ("limit", 2)], path=path)
    assert [t["title"] for t in walked] == [f"work {i}" for i in range(5)]
    done = await walk_pages(alice, [("completed", "true")], path=path)
    assert [t["title"] for t in done] == ["done"]
    narrowed = await walk_pages(alice, [("filter", "search: work 1 | search: work 3")], path=path)
    assert sorted(t["title"] for t in narrowed) == ["work 1", "work 3"]
    both = await alice.get(path, params={"filter": "p1, p2"})
    assert [d["field"] for d in validation_details(both)] == ["filter"]
    groups = await save(alice, "Both", "#Work, #Inbox")
    answer = await alice.get(f"/api/filters/{groups['id']}/tasks", params={"sort": "title"})
    assert [g["query"] for g in answer.json()["groups"]] == ["#Work", "#Inbox"]
    assert [t["title"] for t in answer.json()["groups"][1]["tasks"]] == ["home"]
