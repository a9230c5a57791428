"""Tasks in lists, subtasks and manual order: every rule of the contract's "Lists and
subtasks", through HTTP, on SQLite and PostgreSQL."""

import uuid
from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.support import assert_error
from tests.tasks.helpers import assert_not_found, assert_validation_error, create_task, etag_of


async def titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get("/api/tasks", params={"sort": "position", **params})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def move(client: httpx.AsyncClient, task: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/tasks/{task['id']}/move", json=body)
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


async def get(client: httpx.AsyncClient, task: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task['id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- lists and the inbox --------------------------------------------------------------------


async def test_a_task_is_in_the_inbox_unless_given_a_list(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    inbox_task = await create_task(alice, title="inbox")
    listed = await create_task(alice, title="listed", list_id=work["id"])
    assert (inbox_task["list_id"], inbox_task["parent_id"]) == (None, None)
    assert listed["list_id"] == work["id"]
    assert isinstance(listed["position"], int)
    assert await titles(alice, list_id=work["id"]) == ["listed"]
    assert await titles(alice, list_id="inbox") == ["inbox"]


async def test_a_list_id_of_nothing_of_yours_is_refused(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    theirs = await create_list(bob, "Theirs")
    for list_id in (theirs["id"], str(uuid.uuid4())):
        response = await alice.post("/api/tasks", json={"title": "t", "list_id": list_id})
        assert_validation_error(response, "list_id")
    task = await create_task(alice)
    patched = await alice.patch(f"/api/tasks/{task['id']}", json={"list_id": theirs["id"]})
    assert_validation_error(patched, "list_id")
    moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": theirs["id"]})
    assert_validation_error(moved, "list_id")
    assert_validation_error(
        await alice.post("/api/tasks", json={"title": "t", "list_id": "nope"}), "list_id"
    )
    assert (await get(alice, task))["list_id"] is None
    assert await titles(bob, list_id=theirs["id"]) == []


async def test_patch_moves_a_task_to_another_list_last(alice: httpx.AsyncClient) -> None:
    home = await create_list(alice, "Home")
    await create_task(alice, title="first", list_id=home["id"])
    task = await create_task(alice, title="moving")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"list_id": home["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["list_id"] == home["id"]
    assert await titles(alice, list_id=home["id"]) == ["first", "moving"]
    back = await alice.put(f"/api/tasks/{task['id']}", json={"list_id": None, "title": "back"})
    assert back.json()["list_id"] is None
    assert await titles(alice, list_id="inbox") == ["back"]


# --- subtasks -------------------------------------------------------------------------------


async def test_a_subtask_is_in_its_parents_list(alice: httpx.AsyncClient) -> None:
    trip = await create_list(alice, "Trip")
    parent = await create_task(alice, title="pack", list_id=trip["id"])
    sub = await create_task(alice, title="socks", parent_id=parent["id"])
    assert (sub["parent_id"], sub["list_id"]) == (parent["id"], trip["id"])
    same = await create_task(alice, parent_id=parent["id"], list_id=trip["id"])
    assert same["list_id"] == trip["id"]
    other = await create_list(alice, "Other")
    for list_id in (other["id"], None):
        response = await alice.post(
            "/api/tasks", json={"title": "t", "parent_id": parent["id"], "list_id": list_id}
        )
        assert_validation_error(response, "list_id")
    changed = await alice.patch(f"/api/tasks/{sub['id']}", json={"list_id": other["id"]})
    assert_validation_error(changed, "list_id")
    moved = await alice.post(f"/api/tasks/{sub['id']}/move", json={"list_id": other["id"]})
    assert_validation_error(moved, "list_id")
    assert (await get(alice, sub))["list_id"] == trip["id"]


async def test_subtasks_are_one_level_deep(alice: httpx.AsyncClient) -> None:
    parent = await create_task(alice, title="parent")
    sub = await create_task(alice, title="sub", parent_id=parent["id"])
    deeper = await alice.post("/api/tasks", json={"title": "t", "parent_id": sub["id"]})
    assert_validation_error(deeper, "parent_id")
    other = await create_task(alice, title="other")
    # A task with subtasks cannot go under another task; a task cannot go under itself.
    for body in ({"parent_id": other["id"]},):
        assert_validation_error(
            await alice.post(f"/api/tasks/{parent['id']}/move", json=body), "parent_id"
        )
        assert_validation_error(
            await alice.patch(f"/api/tasks/{parent['id']}", json=body), "parent_id"
        )
    assert_validation_error(
        await alice.post(f"/api/tasks/{other['id']}/move", json={"parent_id": other["id"]}),
        "parent_id",
    )
    assert_validation_error(
        await alice.post(f"/api/tasks/{other['id']}/move", json={"parent_id": sub["id"]}),
        "parent_id",
    )
    assert (await get(alice, parent))["parent_id"] is None


async def test_a_parent_of_nothing_of_yours_is_refused(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    theirs = await create_task(bob)
    for parent_id in (theirs["id"], str(uuid.uuid4())):
        response = await alice.post("/api/tasks", json={"title": "t", "parent_id": parent_id})
        assert_validation_error(response, "parent_id")
    assert await titles(alice, parent_id=theirs["id"]) == []


async def test_moving_the_parent_moves_its_subtasks(alice: httpx.AsyncClient) -> None:
    a, b = await create_list(alice, "A"), await create_list(alice, "B")
    parent = await create_task(alice, title="parent", list_id=a["id"])
    subs = [await create_task(alice, title=f"s{i}", parent_id=parent["id"]) for i in range(3)]
    await move(alice, parent, list_id=b["id"])
    for sub in subs:
        assert (await get(alice, sub))["list_id"] == b["id"]
    assert await titles(alice, parent_id=parent["id"]) == ["s0", "s1", "s2"]
    await alice.patch(f"/api/tasks/{parent['id']}", json={"list_id": None})
    assert await titles(alice, list_id="inbox") == ["parent", "s0", "s1", "s2"]
    assert (await alice.get(f"/api/lists/{b['id']}")).json()["open_count"] == 0


async def test_deleting_the_parent_deletes_its_subtasks(alice: httpx.AsyncClient) -> None:
    parent = await create_task(alice)
    sub = await create_task(alice, parent_id=parent["id"])
    other = await create_task(alice)
    assert (await alice.delete(f"/api/tasks/{parent['id']}")).status_code == 204
    assert_not_found(await alice.get(f"/api/tasks/{sub['id']}"))
    assert (await get(alice, other))["id"] == other["id"]


@pytest.mark.parametrize("how", ["complete", "patch", "put", "bulk", "toggle"])
async def test_completing_the_parent_completes_its_open_subtasks(
    alice: httpx.AsyncClient, how: str
) -> None:
    parent = await create_task(alice)
    open_sub = await create_task(alice, parent_id=parent["id"])
    done_sub = await create_task(alice, parent_id=parent["id"], is_completed=True)
    unrelated = await create_task(alice)
    url = f"/api/tasks/{parent['id']}"
    if how == "complete":
        response = await alice.post(f"{url}/complete")
    elif how in ("patch", "put"):
        response = await alice.request(how.upper(), url, json={"is_completed": True})
    elif how == "bulk":
        response = await alice.post(
            "/api/tasks/bulk", json={"operations": [{"op": "complete", "id": parent["id"]}]}
        )
    else:
        me = (await alice.get("/api/auth/me")).json()["id"]
        response = await alice.patch(f"/api/{me}/tasks/{parent['id']}/complete")
    assert response.status_code == 200, response.text
    completed = await get(alice, open_sub)
    assert completed["is_completed"] is True
    assert completed["completed_at"] is not None
    assert (await get(alice, done_sub))["completed_at"] == done_sub["completed_at"]
    assert (await get(alice, unrelated))["is_completed"] is False
    # Reopening the parent leaves its subtasks as they are.
    assert (await alice.post(f"{url}/reopen")).status_code == 200
    assert (await get(alice, open_sub))["is_completed"] is True


async def test_completing_a_subtask_leaves_the_parent_open(alice: httpx.AsyncClient) -> None:
    parent = await create_task(alice)
    sub = await create_task(alice, parent_id=parent["id"])
    await alice.post(f"/api/tasks/{sub['id']}/complete")
    assert (await get(alice, parent))["is_completed"] is False


async def test_filters_parent_id_and_top_level(alice: httpx.AsyncClient) -> None:
    parent = await create_task(alice, title="parent")
    await create_task(alice, title="child", parent_id=parent["id"])
    await create_task(alice, title="loose")
    assert await titles(alice, parent_id=parent["id"]) == ["child"]
    assert await titles(alice, top_level="true") == ["parent", "loose"]
    assert await titles(alice, top_level="false") == ["child"]
    assert await titles(alice, parent_id=str(uuid.uuid4())) == []
    assert await titles(alice, list_id=str(uuid.uuid4())) == []
    response = await alice.get("/api/tasks", params={"parent_id": "nope"})
    assert_validation_error(response, "parent_id")


# --- manual order ---------------------------------------------------------------------------


async def test_new_tasks_go_last_and_moves_place_them(alice: httpx.AsyncClient) -> None:
    a, _b, c = [await create_task(alice, title=t) for t in "abc"]
    assert await titles(alice) == ["a", "b", "c"]
    await move(alice, c, before=a["id"])
    assert await titles(alice) == ["c", "a", "b"]
    await move(alice, c, after=a["id"])
    assert await titles(alice) == ["a", "c", "b"]
    await move(alice, a)
    assert await titles(alice) == ["c", "b", "a"]
    assert await titles(alice, sort="-position") == ["a", "b", "c"]


async def test_a_move_answers_the_task_with_a_new_etag(alice: httpx.AsyncClient) -> None:
    a, b = await create_task(alice, title="a"), await create_task(alice, title="b")
    response = await alice.post(f"/api/tasks/{b['id']}/move", json={"before": a["id"]})
    assert response.status_code == 200
    assert etag_of(response) == '"2"'
    stale = await alice.post(
        f"/api/tasks/{b['id']}/move", json={"after": a["id"]}, headers={"If-Match": '"1"'}
    )
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert await titles(alice) == ["b", "a"]


async def test_moving_before_a_task_in_another_list_moves_it_there(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    x = await create_task(alice, title="x", list_id=work["id"])
    y = await create_task(alice, title="y", list_id=work["id"])
    task = await create_task(alice, title="from inbox")
    moved = await move(alice, task, before=y["id"])
    assert moved["list_id"] == work["id"]
    assert await titles(alice, list_id=work["id"]) == ["x", "from inbox", "y"]
    parent = await create_task(alice, title="p", list_id=work["id"])
    sub = await create_task(alice, title="sub", parent_id=parent["id"])
    under = await move(alice, x, after=sub["id"])
    assert (under["parent_id"], under["list_id"]) == (parent["id"], work["id"])
    assert await titles(alice, parent_id=parent["id"]) == ["sub", "x"]


async def test_bad_moves_are_refused_naming_the_field(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    a, b = await create_task(alice, title="a"), await create_task(alice, title="b")
    theirs = await create_task(bob)
    url = f"/api/tasks/{a['id']}/move"
    assert_validation_error(await alice.post(url, json={"before": theirs["id"]}), "before")
    assert_validation_error(await alice.post(url, json={"after": str(uuid.uuid4())}), "after")
    assert_validation_error(await alice.post(url, json={"after": a["id"]}), "after")
    assert_validation_error(
        await alice.post(url, json={"before": b["id"], "after": b["id"]}), "body"
    )
    work = await create_list(alice, "W")
    mismatch = await alice.post(url, json={"list_id": work["id"], "before": b["id"]})
    assert_validation_error(mismatch, "before")
    assert_validation_error(await alice.post(url, json={"position": 3}), "position")
    assert_not_found(await bob.post(url, json={}))
    assert_not_found(await alice.post(f"/api/tasks/{uuid.uuid4()}/move", json={}))
    assert await titles(alice) == ["a", "b"]


async def test_a_thousand_moves_between_the_same_two_neighbours(
    alice: httpx.AsyncClient,
) -> None:
    first = await create_task(alice, title="first")
    a, b = await create_task(alice, title="a"), await create_task(alice, title="b")
    await create_task(alice, title="last")
    for i in range(1000):
        await move(alice, a if i % 2 == 0 else b, after=first["id"])
    assert await titles(alice) == ["first", "b", "a", "last"]
    tasks = (await alice.get("/api/tasks", params={"sort": "position"})).json()
    positions = [task["position"] for task in tasks]
    assert positions == sorted(set(positions))
    assert max(positions) < 2**53


async def test_position_pages_with_cursors(alice: httpx.AsyncClient) -> None:
    made = [await create_task(alice, title=f"t{i:02}") for i in range(7)]
    await move(alice, made[6], before=made[0]["id"])
    seen: list[str] = []
    params: dict[str, Any] = {"sort": "position", "limit": 3}
    while True:
        response = await alice.get("/api/tasks", params=params)
        assert response.status_code == 200
        seen += [task["title"] for task in response.json()]
        cursor = response.headers.get("x-next-cursor")
        if cursor is None:
            break
        params["cursor"] = cursor
    assert seen == ["t06", "t00", "t01", "t02", "t03", "t04", "t05"]


async def test_bulk_carries_list_and_parent(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Work")
    parent = await create_task(alice, title="p")
    task = await create_task(alice, title="t")
    operations = [
        {"op": "create", "data": {"title": "in list", "list_id": work["id"]}},
        {"op": "create", "data": {"title": "sub", "parent_id": parent["id"]}},
        {"op": "update", "id": task["id"], "data": {"list_id": work["id"]}},
    ]
    response = await alice.post("/api/tasks/bulk", json={"operations": operations})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["task"]["list_id"] == work["id"]
    assert results[1]["task"]["parent_id"] == parent["id"]
    assert await titles(alice, list_id=work["id"]) == ["in list", "t"]
    bad = [
        {"op": "create", "data": {"title": "fine"}},
        {"op": "create", "data": {"title": "x", "list_id": str(uuid.uuid4())}},
    ]
    failed = await alice.post("/api/tasks/bulk", json={"operations": bad})
    assert_validation_error(failed, "operations.1.list_id")
    assert "fine" not in await titles(alice)


async def test_user_in_path_routes_see_list_and_parent(alice: httpx.AsyncClient) -> None:
    me = (await alice.get("/api/auth/me")).json()["id"]
    work = await create_list(alice, "Work")
    created = await alice.post(f"/api/{me}/tasks", json={"title": "t", "list_id": work["id"]})
    assert created.status_code == 201, created.text
    assert created.json()["list_id"] == work["id"]
    sub = await alice.post(
        f"/api/{me}/tasks", json={"title": "s", "parent_id": created.json()["id"]}
    )
    assert sub.json()["list_id"] == work["id"]
    listed = await alice.get(f"/api/{me}/tasks", params={"list_id": work["id"], "sort": "position"})
    assert [t["title"] for t in listed.json()] == ["t", "s"]
    put = await alice.put(f"/api/{me}/tasks/{created.json()['id']}", json={"list_id": None})
    assert put.json()["list_id"] is None


async def test_a_used_up_gap_renumbers_only_the_nearest_tasks(alice: httpx.AsyncClient) -> None:
    work = await create_list(alice, "Long")
    made = [await create_task(alice, title=f"t{n:02}", list_id=work["id"]) for n in range(60)]
    # Uneven gaps further on, which renumbering the whole list would even out.
    for gone in made[21::2]:
        assert (await alice.delete(f"/api/tasks/{gone['id']}")).status_code == 204
    made = made[:21] + made[22::2]
    a, b = made[1], made[2]
    # Sixty halvings of one gap of 2**20: the gap is used up (and spread again) on the way.
    for i in range(60):
        await move(alice, a if i % 2 == 0 else b, after=made[0]["id"])
    params = {"list_id": work["id"], "sort": "position", "limit": 100}
    listed = (await alice.get("/api/tasks", params=params)).json()
    assert [t["title"] for t in listed] == ["t00", "t02", "t01", *(t["title"] for t in made[3:])]
    others = [t for t in listed if t["id"] not in {a["id"], b["id"]}]
    etags = [etag_of(await alice.get(f"/api/tasks/{t['id']}")) for t in others]
    renumbered = [e for e in etags if e != '"1"']
    assert len(renumbered) <= 6, "only the tasks nearest the gap get a new position"


async def test_moving_before_the_first_task_again_and_again(alice: httpx.AsyncClient) -> None:
    first, second = await create_task(alice, title="x"), await create_task(alice, title="y")
    for i in range(60):
        moving, anchor = (second, first) if i % 2 == 0 else (first, second)
        await move(alice, moving, before=anchor["id"])
    assert await titles(alice) == ["x", "y"]
    positions = [t["position"] for t in (await alice.get("/api/tasks")).json()]
    assert all(p > 0 for p in positions)


@pytest.mark.parametrize("how", ["complete", "patch"])
async def test_a_recurring_subtask_completed_with_its_parent_moves_to_its_next_occurrence(
    alice: httpx.AsyncClient, how: str
) -> None:
    parent = await create_task(alice, title="parent")
    daily = await create_task(
        alice,
        title="water plants",
        parent_id=parent["id"],
        due_at="2030-01-01T09:00:00Z",
        recurrence="FREQ=DAILY",
    )
    plain = await create_task(alice, title="plain", parent_id=parent["id"])
    url = f"/api/tasks/{parent['id']}"
    if how == "complete":
        response = await alice.post(f"{url}/complete")
    else:
        response = await alice.patch(url, json={"is_completed": True})
    assert response.status_code == 200, response.text
    assert response.json()["is_completed"] is True
    assert (await get(alice, plain))["is_completed"] is True
    subtasks = (await alice.get("/api/tasks", params={"parent_id": parent["id"]})).json()
    [moved] = [t for t in subtasks if t["title"] == "water plants"]  # the same one, moved on
    assert moved["id"] == daily["id"]
    assert moved["is_completed"] is False
    assert moved["due_at"] == "2030-01-02T09:00:00Z"
    # Completing the parent again (it is completed) makes no second occurrence.
    assert (await alice.post(f"{url}/complete")).status_code == 200
    again = (await alice.get("/api/tasks", params={"parent_id": parent["id"]})).json()
    assert len(again) == len(subtasks)


async def test_filters_naming_someone_elses_list_or_parent_give_an_empty_page(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    theirs = await create_list(bob, "Theirs")
    parent = await create_task(bob, title="p", list_id=theirs["id"])
    await create_task(bob, title="s", parent_id=parent["id"])
    await create_task(alice, title="mine")
    for params in ({"list_id": theirs["id"]}, {"parent_id": parent["id"]}):
        response = await alice.get("/api/tasks", params=params)
        assert response.status_code == 200
        assert response.json() == []
        assert response.headers["x-total-count"] == "0"
    assert await titles(bob, list_id=theirs["id"]) == ["p", "s"]
    # Nor can a move or a PATCH put a task under someone else's task.
    mine = (await alice.get("/api/tasks")).json()[0]
    for response in (
        await alice.post(f"/api/tasks/{mine['id']}/move", json={"parent_id": parent["id"]}),
        await alice.patch(f"/api/tasks/{mine['id']}", json={"parent_id": parent["id"]}),
        await alice.post(f"/api/tasks/{mine['id']}/move", json={"after": parent["id"]}),
    ):
        assert_error(response, 400, "VALIDATION_ERROR")


async def test_a_tag_with_a_list_or_parent_filter_counts_only_what_matches_both(
    alice: httpx.AsyncClient,
) -> None:
    work = await create_list(alice, "Work")
    parent = await create_task(alice, title="p", tags=["x"])
    await create_task(alice, title="in list", list_id=work["id"], tags=["x"])
    await create_task(alice, title="sub", parent_id=parent["id"], tags=["x"])
    await create_task(alice, title="inbox", tags=["x"])
    for params, expected in [
        ({"list_id": work["id"]}, ["in list"]),
        ({"list_id": "inbox"}, ["p", "sub", "inbox"]),
        ({"parent_id": parent["id"]}, ["sub"]),
        ({"top_level": "true"}, ["p", "in list", "inbox"]),
        ({"top_level": "false"}, ["sub"]),
    ]:
        response = await alice.get(
            "/api/tasks", params={"tag": "x", "sort": "created_at", **params}
        )
        assert response.status_code == 200
        assert [t["title"] for t in response.json()] == expected, params
        assert response.headers["x-total-count"] == str(len(expected)), params
