"""POST /api/tasks/{id}/restore: a task deleted (by any face) within DELETED_TASK_GRACE_SECONDS
comes back as it was: its id, subtasks, comments, reminders, position and activity. Meanwhile
every read answers 404; the change feed says it was deleted, then has it again. On both
databases."""

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.support import app_for, assert_error, client_for, make_settings, token_for
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import bulk, create_task
from todo_api.config import Settings


async def _deleted(client: httpx.AsyncClient, task_id: str) -> None:
    assert (await client.delete(f"/api/tasks/{task_id}")).status_code == 204


async def test_a_deleted_task_comes_back_whole_with_its_id(alice: httpx.AsyncClient) -> None:
    first = await create_task(alice, title="First")
    task = await create_task(
        alice, title="Call Anna", tags=["home"], reminders=[{"at": "2099-01-01T09:00:00Z"}]
    )
    subtask = await create_task(alice, title="Find the number", parent_id=task["id"])
    comment = await alice.post(f"/api/tasks/{task['id']}/comments", json={"body": "Before 5"})
    assert comment.status_code == 201, comment.text
    on_subtask = await alice.post(f"/api/tasks/{subtask['id']}/comments", json={"body": "0151"})
    assert on_subtask.status_code == 201, on_subtask.text
    start = await read_feed(alice)
    await _deleted(alice, task["id"])

    for path in (f"/api/tasks/{task['id']}", f"/api/tasks/{subtask['id']}"):
        assert_error(await alice.get(path), 404, "NOT_FOUND")
    listed = [t["id"] for t in (await alice.get("/api/tasks")).json()]
    assert listed == [first["id"]]
    assert (await alice.get("/api/tasks", params={"q": "Anna"})).json() == []
    gone = await read_feed(alice, since=start["next"], wait_for=[task["id"], subtask["id"]])
    assert set(gone["deleted"]) == {task["id"], subtask["id"]}

    restored = await alice.post(f"/api/tasks/{task['id']}/restore")
    assert restored.status_code == 200, restored.text
    back = restored.json()
    for field in ("id", "title", "tags", "reminders", "created_at", "user_id", "list_id"):
        assert back[field] == task[field]
    assert back["updated_at"] > task["updated_at"]
    assert (await alice.get(f"/api/tasks/{subtask['id']}")).json()["parent_id"] == task["id"]
    comments = (await alice.get(f"/api/tasks/{task['id']}/comments")).json()
    assert [(c["id"], c["body"]) for c in comments] == [(comment.json()["id"], "Before 5")]
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["comment_count"] == 1
    sub_comments = (await alice.get(f"/api/tasks/{subtask['id']}/comments")).json()
    assert [c["id"] for c in sub_comments] == [on_subtask.json()["id"]]
    ordered = (await alice.get("/api/tasks", params={"sort": "position"})).json()
    assert [t["id"] for t in ordered if t["parent_id"] is None] == [first["id"], task["id"]]
    again = await read_feed(alice, since=gone["next"], wait_for=[task["id"], subtask["id"]])
    assert {t["id"] for t in again["changes"]} >= {task["id"], subtask["id"]}
    assert again["deleted"] == []
    activity = (await alice.get(f"/api/tasks/{task['id']}/activity")).json()["items"]
    actions = [item["action"] for item in activity]
    assert actions[:2] == ["task.restored", "task.deleted"]
    assert "task.created" in actions[2:]


async def test_restore_is_404_for_an_unknown_a_strangers_or_after_the_grace(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, settings: Settings
) -> None:
    task = await create_task(alice)
    await _deleted(alice, task["id"])
    assert_error(await bob.post(f"/api/tasks/{task['id']}/restore"), 404, "NOT_FOUND")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_error(await alice.post(f"/api/tasks/{unknown}/restore"), 404, "NOT_FOUND")
    assert_error(await alice.post("/api/tasks/not-a-uuid/restore"), 404, "NOT_FOUND")

    no_grace = make_settings(
        settings.database_url or "", settings.data_dir, deleted_task_grace_seconds=0
    )
    async with app_for(no_grace) as app, client_for(app, token_for(no_grace)) as carol:
        late = await create_task(carol)
        await _deleted(carol, late["id"])
        assert_error(await carol.post(f"/api/tasks/{late['id']}/restore"), 404, "NOT_FOUND")


async def test_restoring_a_task_that_is_not_deleted_answers_it(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    await _deleted(alice, task["id"])
    assert (await alice.post(f"/api/tasks/{task['id']}/restore")).status_code == 200
    again = await alice.post(f"/api/tasks/{task['id']}/restore")  # a retry
    assert again.status_code == 200
    assert again.json()["id"] == task["id"]


async def test_a_shared_list_s_editor_restores_what_a_viewer_may_not(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with new_user_client() as owner, new_user_client() as editor, new_user_client() as viewer:
        listed = await create_list(owner, "Home")
        await share(owner, editor, listed["id"], "editor")
        await share(owner, viewer, listed["id"], "viewer")
        task = await create_task(owner, title="Shared", list_id=listed["id"])
        await _deleted(editor, task["id"])
        assert (await viewer.get(f"/api/lists/{listed['id']}")).json()["open_count"] == 0
        assert_error(await viewer.post(f"/api/tasks/{task['id']}/restore"), 404, "NOT_FOUND")
        assert (await editor.post(f"/api/tasks/{task['id']}/restore")).status_code == 200
        assert (await viewer.get(f"/api/tasks/{task['id']}")).status_code == 200
        assert (await viewer.get(f"/api/lists/{listed['id']}")).json()["open_count"] == 1


async def test_a_bulk_deletion_is_restored_as_one_deleted_alone(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    assert (await bulk(alice, {"op": "delete", "id": task["id"]})).status_code == 200
    assert (await alice.get(f"/api/tasks/{task['id']}")).status_code == 404
    assert (await alice.post(f"/api/tasks/{task['id']}/restore")).json()["id"] == task["id"]


async def test_a_subtask_of_a_deleted_task_waits_for_its_parent(alice: httpx.AsyncClient) -> None:
    parent = await create_task(alice, title="Parent")
    subtask = await create_task(alice, title="Child", parent_id=parent["id"])
    await _deleted(alice, subtask["id"])
    await _deleted(alice, parent["id"])
    assert_error(await alice.post(f"/api/tasks/{subtask['id']}/restore"), 409, "CONFLICT")
    assert (await alice.post(f"/api/tasks/{parent['id']}/restore")).status_code == 200
    back: dict[str, Any] = (await alice.post(f"/api/tasks/{subtask['id']}/restore")).json()
    assert back["parent_id"] == parent["id"]


async def test_the_route_is_in_the_openapi_document(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert "post" in paths["/api/tasks/{task_id}/restore"]


async def test_a_restored_repeating_task_keeps_its_completed_occurrences(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title="Water", due_date="2026-12-01", recurrence="FREQ=WEEKLY")
    for _ in range(2):
        done = await alice.post(f"/api/tasks/{task['id']}/complete")
        assert done.status_code == 200, done.text
    completions = f"/api/tasks/{task['id']}/completions"
    before = (await alice.get(completions)).json()
    assert [c["occurrence"] for c in before] == ["2026-12-08", "2026-12-01"]
    await _deleted(alice, task["id"])
    assert (await alice.post(f"/api/tasks/{task['id']}/restore")).status_code == 200
    assert (await alice.get(completions)).json() == before
    undone = await alice.post(completions + "/latest/undo")
    assert undone.status_code == 200, undone.text
    assert undone.json()["due_date"] == "2026-12-08"


async def test_the_tasks_of_a_deleted_section_come_back_one_by_one(
    alice: httpx.AsyncClient,
) -> None:
    home = await create_list(alice, "Home")
    made = await alice.post(f"/api/lists/{home['id']}/sections", json={"name": "Garden"})
    assert made.status_code == 201, made.text
    section = made.json()
    task = await create_task(alice, title="Mow", list_id=home["id"], section_id=section["id"])
    subtask = await create_task(alice, title="Oil the mower", parent_id=task["id"])
    other = await create_task(alice, title="Rake", list_id=home["id"], section_id=section["id"])
    assert (await alice.delete(f"/api/sections/{section['id']}")).status_code == 204
    for gone in (task, subtask, other):
        assert_error(await alice.get(f"/api/tasks/{gone['id']}"), 404, "NOT_FOUND")

    restored = await alice.post(f"/api/tasks/{task['id']}/restore")
    assert restored.status_code == 200, restored.text
    back = restored.json()
    assert (back["id"], back["list_id"], back["section_id"]) == (task["id"], home["id"], None)
    assert (await alice.get(f"/api/tasks/{subtask['id']}")).json()["parent_id"] == task["id"]
    assert_error(await alice.get(f"/api/tasks/{other['id']}"), 404, "NOT_FOUND")  # its own undo


async def test_the_tasks_of_a_deleted_list_go_with_it(alice: httpx.AsyncClient) -> None:
    """A list's deletion is the list's (there is no list to put them back in): its tasks are
    not restored on their own."""
    home = await create_list(alice, "Home")
    task = await create_task(alice, title="Mow", list_id=home["id"])
    assert (await alice.delete(f"/api/lists/{home['id']}")).status_code == 204
    assert_error(await alice.post(f"/api/tasks/{task['id']}/restore"), 404, "NOT_FOUND")
