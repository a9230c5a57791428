"""The activity of lists, inboxes and tasks, through HTTP on both databases: every change with
who made it and the values it replaced, whichever route it came by; who may read it; paging;
retention."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from tests.collaboration.helpers import comment
from tests.lists.helpers import create_list
from tests.lists.sharing import remove, share, user_id
from tests.support import assert_error
from tests.tasks.feed_helpers import database
from tests.tasks.helpers import assert_validation_error, bulk, create_task
from tests.yourdata.helpers import import_file
from todo_api.collaboration.activity import prune
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.tables.activity import activity

Clients = Callable[..., httpx.AsyncClient]
ITEM_FIELDS = {"id", "at", "actor_id", "action", "task_id", "changes"}


async def items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "next"}
    for item in body["items"]:
        assert set(item) == ITEM_FIELDS
    found: list[dict[str, Any]] = body["items"]
    return found


def actions(found: list[dict[str, Any]]) -> list[str]:
    return [item["action"] for item in found]


async def test_a_tasks_life_is_its_activity_with_old_and_new_values(
    alice: httpx.AsyncClient,
) -> None:
    me = await user_id(alice)
    home = await create_list(alice, "Home")
    task = await create_task(alice, title="Milk", priority="low", tags=["shop"])
    url = f"/api/tasks/{task['id']}"
    changed = await alice.patch(
        url, json={"title": "Oat milk", "priority": "high", "due_date": "2031-01-02"}
    )
    assert changed.status_code == 200, changed.text
    assert (await alice.patch(url, json={"is_completed": True})).status_code == 200
    assert (await alice.patch(url, json={"is_completed": False})).status_code == 200
    await comment(alice, task["id"], "Any brand")
    moved = await alice.post(f"{url}/move", json={"list_id": home["id"]})
    assert moved.status_code == 200, moved.text

    found = await items(alice, f"{url}/activity")
    assert actions(found) == [
        "task.moved",
        "comment.created",
        "task.reopened",
        "task.completed",
        "task.updated",
        "task.created",
    ]
    assert {item["actor_id"] for item in found} == {me}
    assert {item["task_id"] for item in found} == {task["id"]}
    updated = found[4]["changes"]
    assert updated["title"] == ["Milk", "Oat milk"]
    assert updated["priority"] == ["low", "high"]
    assert updated["due_date"] == [None, "2031-01-02"]
    assert found[3]["changes"]["is_completed"] == [False, True]
    assert found[0]["changes"]["list_id"] == [None, home["id"]]
    assert list(found[1]["changes"]) == ["comment_id"]
    assert found[0]["at"] >= found[-1]["at"]

    # The inbox held it until the move; the list has the move on.
    assert actions(await items(alice, f"/api/lists/{home['id']}/activity")) == ["task.moved"]
    inbox = await items(alice, "/api/lists/inbox/activity")
    assert actions(inbox)[-1] == "task.created"
    assert (await alice.delete(url)).status_code == 204
    gone = await items(alice, f"/api/lists/{home['id']}/activity")
    assert actions(gone)[0] == "task.deleted"
    assert gone[0]["changes"] == {"title": ["Oat milk", None]}
    assert gone[0]["actor_id"] == me
    assert_error(await alice.get(f"{url}/activity"), 404, "NOT_FOUND")


async def test_changes_of_every_route_are_there_with_whoever_made_them(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    async with new_user_client() as editor:
        listed = await create_list(alice, "Shared")
        await share(alice, editor, listed["id"], "editor")
        editor_id = await user_id(editor)
        task = await create_task(alice, title="Plan", list_id=listed["id"])
        response = await bulk(
            editor,
            {"op": "update", "id": task["id"], "data": {"tags": ["q1"]}},
            {"op": "create", "data": {"title": "From bulk", "list_id": listed["id"]}},
            {"op": "complete", "id": task["id"]},
        )
        assert response.status_code == 200, response.text
        assert (await editor.delete(f"/api/tasks/{task['id']}")).status_code == 204
        found = await items(alice, f"/api/lists/{listed['id']}/activity")
    assert actions(found)[:4] == ["task.deleted", "task.completed", "task.created", "task.updated"]
    assert {item["actor_id"] for item in found[:4]} == {editor_id}
    assert found[3]["changes"] == {"tags": [[], ["q1"]]}
    assert "member.joined" in actions(found)


async def test_an_import_is_in_the_activity(alice: httpx.AsyncClient) -> None:
    document = {
        "format": "todo-api",
        "version": 1,
        "lists": [{"id": "l1", "name": f"Imported {uuid.uuid4().hex[:6]}"}],
        "tasks": [{"id": "t1", "title": "From a file", "list_id": "l1"}],
    }
    answer = await import_file(alice, "todo-api", httpx.Response(200, json=document).content)
    assert answer.status_code == 200, answer.text
    [made] = [
        item
        for item in (await alice.get("/api/lists")).json()
        if item["name"].startswith("Imported")
    ]
    found = await items(alice, f"/api/lists/{made['id']}/activity")
    assert actions(found) == ["task.created"]
    assert found[0]["actor_id"] == await user_id(alice)


async def test_members_coming_and_going_and_who_may_read(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    async with new_user_client() as viewer, new_user_client() as outsider:
        listed = await create_list(alice, "People")
        path = f"/api/lists/{listed['id']}/activity"
        await share(alice, viewer, listed["id"], "viewer")
        viewer_id = await user_id(viewer)
        changed = await alice.patch(
            f"/api/lists/{listed['id']}/members/{viewer_id}", json={"role": "editor"}
        )
        assert changed.status_code == 200, changed.text
        renamed = await alice.patch(f"/api/lists/{listed['id']}", json={"name": "Team"})
        assert renamed.status_code == 200, renamed.text
        seen = await items(viewer, path)
        assert actions(seen) == ["list.updated", "member.role_changed", "member.joined"]
        assert seen[0]["changes"] == {"name": ["People", "Team"]}
        assert seen[1]["changes"] == {
            "user_id": [viewer_id, viewer_id],
            "role": ["viewer", "editor"],
        }
        assert seen[2]["actor_id"] == viewer_id
        assert_error(await outsider.get(path), 404, "NOT_FOUND")
        assert_error(await outsider.get(f"/api/lists/{uuid.uuid4()}/activity"), 404, "NOT_FOUND")
        assert_error(await alice.get("/api/lists/not-a-uuid/activity"), 404, "NOT_FOUND")
        # The inbox's activity is its user's alone.
        await create_task(alice, title="Mine")
        assert actions(await items(outsider, "/api/lists/inbox/activity")) == []
        await remove(alice, listed["id"], viewer_id)
        assert_error(await viewer.get(path), 404, "NOT_FOUND")
        left = await items(alice, path)
        assert left[0]["action"] == "member.left"
        assert left[0]["actor_id"] == await user_id(alice)


async def test_pages_newest_first_with_next(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="0")
    for n in range(1, 5):
        response = await alice.patch(f"/api/tasks/{task['id']}", json={"title": str(n)})
        assert response.status_code == 200
    path = f"/api/tasks/{task['id']}/activity"
    titles: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await alice.get(path, params=params)
        body = response.json()
        titles += [item["changes"].get("title", [None, "0"])[1] for item in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert titles == ["4", "3", "2", "1", "0"]
    assert_validation_error(await alice.get(path, params={"cursor": "x"}), "cursor")
    assert_validation_error(await alice.get(path, params={"limit": 0}), "limit")


async def test_items_past_the_retention_are_neither_shown_nor_kept(
    alice: httpx.AsyncClient, settings: Settings
) -> None:
    task = await create_task(alice, title="Old")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"title": "New"})
    assert response.status_code == 200
    long_ago = utcnow() - timedelta(days=settings.activity_retention_days + 1)
    async with database(settings) as db:
        async with db.transaction() as conn:
            await conn.execute(
                update(activity)
                .where(
                    activity.c.task_id == uuid.UUID(task["id"]),
                    activity.c.action == "task.created",
                )
                .values(at=long_ago)
            )
        path = f"/api/tasks/{task['id']}/activity"
        assert actions(await items(alice, path)) == ["task.updated"]
        assert await prune(db, settings) >= 1
        async with db.connection() as conn:
            kept = await conn.execute(
                select(activity.c.action).where(activity.c.task_id == uuid.UUID(task["id"]))
            )
    assert [row.action for row in kept.rows] == ["task.updated"]


async def test_a_comment_is_one_item_and_its_deletion_another(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    async with new_user_client() as editor:
        listed = await create_list(alice, f"Talk {uuid.uuid4().hex[:6]}")
        await share(alice, editor, listed["id"], "editor")
        task = await create_task(alice, title="Discuss", list_id=listed["id"])
        made = await comment(editor, task["id"], "Hello")
        gone = await alice.delete(f"/api/tasks/{task['id']}/comments/{made['id']}")
        assert gone.status_code == 204
        found = await items(editor, f"/api/tasks/{task['id']}/activity")
    assert actions(found) == ["comment.deleted", "comment.created", "task.created"]
    assert found[0]["actor_id"] == await user_id(alice)
    assert found[1]["actor_id"] != found[0]["actor_id"]
    assert found[0]["changes"] == {"comment_id": [made["id"], None]}
    assert found[1]["changes"] == {"comment_id": [None, made["id"]]}


async def test_a_reorder_is_a_task_updated_with_its_position(alice: httpx.AsyncClient) -> None:
    listed = await create_list(alice, f"Order {uuid.uuid4().hex[:6]}")
    first = await create_task(alice, title="First", list_id=listed["id"])
    second = await create_task(alice, title="Second", list_id=listed["id"])
    moved = await alice.post(f"/api/tasks/{second['id']}/move", json={"before": first["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["position"] < first["position"]
    found = await items(alice, f"/api/tasks/{second['id']}/activity")
    assert actions(found) == ["task.updated", "task.created"]
    assert found[0]["changes"] == {"position": [second["position"], moved.json()["position"]]}
    assert found[0]["actor_id"] == await user_id(alice)
    # The task placed, not also the tasks around it.
    list_actions = actions(await items(alice, f"/api/lists/{listed['id']}/activity"))
    assert list_actions == ["task.updated", "task.created", "task.created"]


async def test_an_account_deleted_leaves_its_shared_lists(
    alice: httpx.AsyncClient, new_user_client: Clients
) -> None:
    email = f"gone{uuid.uuid4().hex[:8]}@example.test"
    alice_id = await user_id(alice)
    async with new_user_client(email=email) as gone:
        gone_id = await user_id(gone)
        theirs = await create_list(alice, f"Alice's {uuid.uuid4().hex[:6]}")
        await share(alice, gone, theirs["id"], "viewer")
        owned = await create_list(gone, f"Passed on {uuid.uuid4().hex[:6]}")
        await share(gone, alice, owned["id"], "editor")
        deleted = await gone.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert deleted.status_code == 204, deleted.text
    left = await items(alice, f"/api/lists/{theirs['id']}/activity")
    assert actions(left)[0] == "member.left"
    assert left[0]["changes"] == {"user_id": [gone_id, None], "role": ["viewer", None]}
    assert left[0]["actor_id"] == gone_id
    passed = await items(alice, f"/api/lists/{owned['id']}/activity")
    by_action = {item["action"]: item for item in passed}
    assert by_action["member.left"]["changes"] == {
        "user_id": [gone_id, None],
        "role": ["owner", None],
    }
    assert by_action["list.updated"]["changes"]["owner_id"] == [gone_id, alice_id]


async def test_a_deleted_list_and_a_deleted_account_take_their_items_with_them(
    alice: httpx.AsyncClient, new_user_client: Clients, settings: Settings
) -> None:
    email = f"leaving{uuid.uuid4().hex[:8]}@example.test"
    listed = await create_list(alice, f"Short-lived {uuid.uuid4().hex[:6]}")
    await create_task(alice, title="In the list", list_id=listed["id"])
    renamed = await alice.patch(f"/api/lists/{listed['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200, renamed.text
    kept = await create_task(alice, title="In the inbox")
    async with new_user_client(email=email) as leaving:
        leaving_id = uuid.UUID(await user_id(leaving))
        await create_task(leaving, title="Theirs")
        assert len(await items(leaving, "/api/lists/inbox/activity")) == 1
        deleted = await leaving.request("DELETE", "/api/auth/me", json={"confirm": email})
        assert deleted.status_code == 204, deleted.text
    assert (await alice.delete(f"/api/lists/{listed['id']}")).status_code == 204
    async with database(settings) as db, db.connection() as conn:
        left = await conn.execute(
            select(activity.c.action).where(
                (activity.c.list_id == uuid.UUID(listed["id"]))
                | (activity.c.owner_id == leaving_id)
            )
        )
    assert left.rows == []
    # Nobody else's: alice's inbox keeps its items.
    assert actions(await items(alice, f"/api/tasks/{kept['id']}/activity")) == ["task.created"]
