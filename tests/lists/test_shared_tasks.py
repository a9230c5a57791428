"""The tasks of a shared list: every member sees them everywhere, editors change them, viewers
only read them, and no one else learns they exist."""

import uuid
from typing import Any

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, unknown_id, user_id
from tests.tasks.helpers import bulk, create_task


async def _titles(client: httpx.AsyncClient, query: str = "") -> list[str]:
    response = await client.get(f"/api/tasks{query}")
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def _shared_list(
    owner: httpx.AsyncClient, member: httpx.AsyncClient, role: str = "editor"
) -> str:
    listed = await create_list(owner, f"Shared {uuid.uuid4().hex[:8]}")
    seen = await share(owner, member, listed["id"], role)
    assert seen["role"] == role
    return str(listed["id"])


async def _editable_and_viewable(
    owner: httpx.AsyncClient, member: httpx.AsyncClient
) -> tuple[str, str]:
    """Two lists of the owner's, shared with the member to edit and to view."""
    return await _shared_list(owner, member, "editor"), await _shared_list(owner, member, "viewer")


async def test_a_member_sees_the_lists_tasks_beside_their_own_and_an_outsider_sees_none(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Any
) -> None:
    list_id = await _shared_list(alice, bob, "viewer")
    await create_task(alice, title="Alice private")
    shared = await create_task(alice, title="Alice shared", list_id=list_id)
    await create_task(bob, title="Bob own")

    assert await _titles(bob) == ["Bob own", "Alice shared"]  # newest first
    assert set(await _titles(alice)) == {"Alice private", "Alice shared"}
    response = await bob.get("/api/tasks")
    assert response.headers["X-Total-Count"] == "2"
    assert await _titles(bob, f"?list_id={list_id}") == ["Alice shared"]
    got = await bob.get(f"/api/tasks/{shared['id']}")
    assert got.status_code == 200
    assert got.json()["user_id"] == await user_id(alice)

    async with new_user_client() as carol:
        assert await _titles(carol) == []
        assert await _titles(carol, f"?list_id={list_id}") == []
        outsider = await carol.get(f"/api/tasks/{shared['id']}")
        missing = await carol.get(f"/api/tasks/{unknown_id()}")
        assert outsider.status_code == missing.status_code == 404
        assert outsider.json() == missing.json()


async def test_pages_of_own_and_shared_tasks_interleave_in_the_sort_order(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared_list(alice, bob)
    expected = []
    for n in range(7):
        owner, where = (alice, {"list_id": list_id}) if n % 2 else (bob, {})
        await create_task(owner, title=f"Task {n:02d}", **where)
        expected.append(f"Task {n:02d}")
    for sort, order in (("title", expected), ("-title", expected[::-1])):
        seen: list[str] = []
        url = f"/api/tasks?sort={sort}&limit=2"
        while url:
            response = await bob.get(url)
            assert response.status_code == 200, response.text
            assert response.headers["X-Total-Count"] == "7"
            seen += [task["title"] for task in response.json()]
            cursor = response.headers.get("X-Next-Cursor")
            url = f"/api/tasks?sort={sort}&limit=2&cursor={cursor}" if cursor else ""
        assert seen == order


async def test_a_viewer_reads_but_every_write_is_403_and_changes_nothing(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared_list(alice, bob, "viewer")
    task = await create_task(alice, title="Read only", list_id=list_id)
    path = f"/api/tasks/{task['id']}"
    writes = [
        bob.patch(path, json={"title": "Changed"}),
        bob.put(path, json={"title": "Changed"}),
        bob.delete(path),
        bob.post(f"{path}/complete"),
        bob.post(f"{path}/reopen"),
        bob.post(f"{path}/move", json={"list_id": None}),
        bob.post("/api/tasks", json={"title": "New", "list_id": list_id}),
        bob.post("/api/tasks", json={"title": "Sub", "parent_id": task["id"]}),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FORBIDDEN"
    after = await alice.get(path)
    assert after.json() == task
    assert await _titles(alice, f"?list_id={list_id}") == ["Read only"]


async def test_an_editor_creates_completes_and_the_task_says_who(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared_list(alice, bob, "editor")
    alice_id, bob_id = await user_id(alice), await user_id(bob)
    made = await create_task(bob, title="By Bob", list_id=list_id)
    assert (made["user_id"], made["created_by"], made["completed_by"]) == (alice_id, bob_id, None)
    done = await bob.post(f"/api/tasks/{made['id']}/complete")
    assert done.status_code == 200, done.text
    assert done.json()["completed_by"] == bob_id
    reopened = await alice.post(f"/api/tasks/{made['id']}/reopen")
    assert reopened.json()["completed_by"] is None
    assert (await alice.get(f"/api/tasks/{made['id']}")).json()["created_by"] == bob_id


async def test_assignees_must_see_the_task_and_leaving_unassigns(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Any
) -> None:
    list_id = await _shared_list(alice, bob, "viewer")
    bob_id = await user_id(bob)
    task = await create_task(alice, title="For Bob", list_id=list_id, assignee_id=bob_id)
    assert task["assignee_id"] == bob_id
    assert await _titles(bob, "?assignee=me") == ["For Bob"]
    assert await _titles(alice, "?assignee=none") == []
    assert await _titles(alice, f"?assignee={bob_id}") == ["For Bob"]
    bad = await alice.get("/api/tasks?assignee=someone")
    assert bad.status_code == 400
    assert bad.json()["details"][0]["field"] == "assignee"

    async with new_user_client() as carol:
        carol_id = await user_id(carol)
    refused = [
        await alice.post("/api/tasks", json={"title": "x", "assignee_id": bob_id}),  # inbox
        await alice.patch(f"/api/tasks/{task['id']}", json={"assignee_id": carol_id}),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == "assignee_id"
    # Moved where Bob cannot see it: unassigned.
    moved = await alice.post(f"/api/tasks/{task['id']}/move", json={"list_id": None})
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] is None
    back = await alice.patch(
        f"/api/tasks/{task['id']}", json={"list_id": list_id, "assignee_id": bob_id}
    )
    assert back.status_code == 200, back.text
    await remove(alice, list_id, bob_id)
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["assignee_id"] is None
    assert (await bob.get(f"/api/tasks/{task['id']}")).status_code == 404


async def test_moves_need_write_access_at_both_ends_and_subtasks_follow(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    editable, viewable = await _editable_and_viewable(alice, bob)
    parent = await create_task(bob, title="Parent", list_id=editable)
    child = await create_task(bob, title="Child", parent_id=parent["id"])
    into_viewed = await bob.post(f"/api/tasks/{parent['id']}/move", json={"list_id": viewable})
    assert into_viewed.status_code == 403, into_viewed.text
    own = await create_list(bob, "Bob's own")
    moved = await bob.post(f"/api/tasks/{parent['id']}/move", json={"list_id": own["id"]})
    assert moved.status_code == 200, moved.text
    bob_id = await user_id(bob)
    assert moved.json()["user_id"] == bob_id
    got_child = (await bob.get(f"/api/tasks/{child['id']}")).json()
    assert (got_child["list_id"], got_child["user_id"]) == (own["id"], bob_id)
    # Alice no longer sees either.
    for task_id in (parent["id"], child["id"]):
        assert (await alice.get(f"/api/tasks/{task_id}")).status_code == 404
    # Bob brings it back: Alice's again.
    back = await bob.post(f"/api/tasks/{parent['id']}/move", json={"list_id": editable})
    assert back.json()["user_id"] == await user_id(alice)
    assert (await alice.get(f"/api/tasks/{child['id']}")).json()["list_id"] == editable


@pytest.mark.parametrize("way", ["move", "patch", "bulk"])
async def test_a_move_unassigns_every_task_it_moves_where_its_assignee_cannot_see_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, new_user_client: Any, way: str
) -> None:
    shared = await _shared_list(alice, bob, "editor")
    async with new_user_client() as carol:
        also_shared = await _shared_list(alice, carol, "viewer")
        await share(alice, bob, also_shared, "viewer")
        bob_id, carol_id = await user_id(bob), await user_id(carol)
    private = (await create_list(alice, f"Private {uuid.uuid4().hex[:6]}"))["id"]
    parent = await create_task(alice, title="Parent", list_id=shared, assignee_id=bob_id)
    subtask = await create_task(alice, title="Sub", parent_id=parent["id"], assignee_id=bob_id)
    # Into a list Bob sees too: everyone keeps their assignee.
    await _move(alice, parent["id"], also_shared, way)
    for task_id in (parent["id"], subtask["id"]):
        assert (await alice.get(f"/api/tasks/{task_id}")).json()["assignee_id"] == bob_id
    # Carol, a viewer there, takes the subtask; then both go where neither sees them.
    carols = await alice.patch(f"/api/tasks/{subtask['id']}", json={"assignee_id": carol_id})
    assert carols.status_code == 200, carols.text
    await _move(alice, parent["id"], private, way)
    for task_id in (parent["id"], subtask["id"]):
        task = (await alice.get(f"/api/tasks/{task_id}")).json()
        assert (task["list_id"], task["assignee_id"]) == (private, None)
        assert (await bob.get(f"/api/tasks/{task_id}")).status_code == 404


async def _move(client: httpx.AsyncClient, task_id: str, list_id: str, way: str) -> None:
    if way == "move":
        response = await client.post(f"/api/tasks/{task_id}/move", json={"list_id": list_id})
    elif way == "patch":
        response = await client.patch(f"/api/tasks/{task_id}", json={"list_id": list_id})
    else:
        op = {"op": "update", "id": task_id, "data": {"list_id": list_id}}
        response = await bulk(client, op)
    assert response.status_code == 200, response.text


async def test_two_members_writing_one_version_one_gets_412(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared_list(alice, bob, "editor")
    task = await create_task(alice, title="Contested", list_id=list_id)
    tag = (await alice.get(f"/api/tasks/{task['id']}")).headers["ETag"]
    first = await alice.patch(
        f"/api/tasks/{task['id']}", json={"title": "Alice's"}, headers={"If-Match": tag}
    )
    second = await bob.patch(
        f"/api/tasks/{task['id']}", json={"title": "Bob's"}, headers={"If-Match": tag}
    )
    assert (first.status_code, second.status_code) == (200, 412)


async def test_a_bulk_with_one_forbidden_operation_applies_nothing_and_names_it(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    editable, viewable = await _editable_and_viewable(alice, bob)
    writable = await create_task(alice, title="Editable", list_id=editable)
    readonly = await create_task(alice, title="Readonly", list_id=viewable)
    response = await bulk(
        bob,
        {"op": "update", "id": writable["id"], "data": {"title": "Changed"}},
        {"op": "complete", "id": readonly["id"]},
    )
    assert response.status_code == 403, response.text
    assert response.json()["details"][0]["field"].startswith("operations.1")
    assert (await alice.get(f"/api/tasks/{writable['id']}")).json()["title"] == "Editable"


async def test_an_ex_member_keeps_nothing(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    list_id = await _shared_list(alice, bob, "editor")
    task = await create_task(alice, title="Secret later", list_id=list_id)
    keyed = {"title": "Bob's", "list_id": list_id}
    key = {"Idempotency-Key": f"bob-{uuid.uuid4()}"}
    made = await bob.post("/api/tasks", json=keyed, headers=key)
    replayed = await bob.post("/api/tasks", json=keyed, headers=key)
    assert (made.status_code, replayed.headers["Idempotent-Replayed"]) == (201, "true")
    listed = await bob.get("/api/tasks?limit=1")
    tag = (await bob.get(f"/api/tasks/{task['id']}")).headers["ETag"]
    await create_task(alice, title="Second", list_id=list_id)
    cursor = (await bob.get("/api/tasks?limit=1")).headers["X-Next-Cursor"]
    assert listed.status_code == 200
    await remove(alice, list_id, await user_id(bob))

    assert await _titles(bob) == []
    assert (await bob.get(f"/api/tasks?limit=1&cursor={cursor}")).json() == []
    again = await bob.post("/api/tasks", json=keyed, headers=key)
    assert again.status_code == 404, again.text
    assert made.json()["id"] not in again.text
    for response in (
        await bob.get(f"/api/tasks/{task['id']}", headers={"If-None-Match": tag}),
        await bob.patch(f"/api/tasks/{task['id']}", json={"title": "x"}, headers={"If-Match": tag}),
        await bob.get(f"/api/lists/{list_id}"),
    ):
        assert response.status_code == 404, response.text


async def test_an_editors_bulk_does_every_kind_of_operation_and_a_viewers_none(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    editable, viewable = await _editable_and_viewable(alice, bob)
    done = await create_task(alice, title="Done", list_id=editable)
    gone = await create_task(alice, title="Gone", list_id=editable)
    response = await bulk(
        bob,
        {"op": "create", "data": {"title": "Bob's", "list_id": editable}},
        {"op": "update", "id": done["id"], "data": {"priority": "high"}},
        {"op": "complete", "id": done["id"]},
        {"op": "reopen", "id": done["id"]},
        {"op": "complete", "id": done["id"]},
        {"op": "delete", "id": gone["id"]},
    )
    assert response.status_code == 200, response.text
    assert [result["status"] for result in response.json()["results"]] == [
        201, 200, 200, 200, 200, 204,
    ]  # fmt: skip
    assert sorted(await _titles(alice, f"?list_id={editable}")) == ["Bob's", "Done"]
    bobs_id = await user_id(bob)
    changed = (await alice.get(f"/api/tasks/{done['id']}")).json()
    assert (changed["priority"], changed["completed_by"]) == ("high", bobs_id)

    readonly = await create_task(alice, title="Readonly", list_id=viewable)
    before = await _titles(alice, f"?list_id={viewable}")
    for operation in [
        {"op": "create", "data": {"title": "No", "list_id": viewable}},
        {"op": "update", "id": readonly["id"], "data": {"title": "No"}},
        {"op": "complete", "id": readonly["id"]},
        {"op": "reopen", "id": readonly["id"]},
        {"op": "delete", "id": readonly["id"]},
    ]:
        refused = await bulk(bob, operation)
        assert refused.status_code == 403, (operation, refused.text)
        assert refused.json()["details"][0]["field"].startswith("operations.0")
    assert await _titles(alice, f"?list_id={viewable}") == before


async def test_two_members_with_one_idempotency_key_each_create_their_own_task(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    list_id = await _shared_list(alice, bob, "editor")
    body = {"title": "Bread", "list_id": list_id}
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    alices = await alice.post("/api/tasks", json=body, headers=key)
    bobs = await bob.post("/api/tasks", json=body, headers=key)
    assert (alices.status_code, bobs.status_code) == (201, 201), bobs.text
    assert "idempotent-replayed" not in bobs.headers  # keys are the caller's own
    assert bobs.json()["id"] != alices.json()["id"]
    assert bobs.json()["created_by"] == await user_id(bob)
    replayed = await bob.post("/api/tasks", json=body, headers=key)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == bobs.json()
    assert sorted(await _titles(alice, f"?list_id={list_id}")) == ["Bread", "Bread"]
