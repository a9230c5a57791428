"""A calendar app's changes are in the activity as any other, with who made them: created,
changed, completed and deleted through CalDAV."""

import httpx
from fastapi import FastAPI

from tests.dav.helpers import DavUser, dav_user, new_list, vtodo
from tests.lists.sharing import share
from todo_api.config import Settings


async def _actions(user: DavUser, path: str) -> list[dict[str, object]]:
    response = await user.api.get(path)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_a_calendar_apps_writes_are_activity(ada: DavUser) -> None:
    list_id = await new_list(ada, "Calendar")
    path = f"{ada.home}{list_id}/bread.ics"
    created = await ada.dav.put(path, content=vtodo("bread", "Buy bread"))
    assert created.status_code == 201, created.text
    changed = await ada.dav.put(path, content=vtodo("bread", "Buy rye bread", "STATUS:COMPLETED"))
    assert changed.status_code in (200, 204), changed.text
    gone: httpx.Response = await ada.dav.delete(path)
    assert gone.status_code == 204, gone.text
    items = await _actions(ada, f"/api/lists/{list_id}/activity")
    assert [item["action"] for item in items] == ["task.deleted", "task.completed", "task.created"]
    assert {item["actor_id"] for item in items} == {ada.id}
    assert items[1]["changes"]["title"] == ["Buy bread", "Buy rye bread"]  # type: ignore[index]


async def test_a_calendar_apps_move_is_one_task_moved_item_either_way(ada: DavUser) -> None:
    """A DELETE then a PUT into another calendar (the task made again with its id), and a PUT
    into the other calendar then the DELETE (Thunderbird's order): each one `task.moved`, as a
    move through the API is, in the list it went to; nothing deleted or created."""
    home = await new_list(ada, "Home")
    work = await new_list(ada, "Work")
    for uid in ("first", "second"):
        put = await ada.dav.put(f"{ada.home}{home}/{uid}.ics", content=vtodo(uid, uid))
        assert put.status_code == 201, put.text
    # Deleted, then made again elsewhere, renamed on the way.
    gone = await ada.dav.delete(f"{ada.home}{home}/first.ics")
    assert gone.status_code == 204, gone.text
    again = await ada.dav.put(f"{ada.home}{work}/first.ics", content=vtodo("first", "First!"))
    assert again.status_code == 201, again.text
    # Put elsewhere, then deleted where it was.
    moved = await ada.dav.put(f"{ada.home}{work}/second.ics", content=vtodo("second", "second"))
    assert moved.status_code == 201, moved.text
    assert (await ada.dav.delete(f"{ada.home}{home}/second.ics")).status_code == 204
    tasks = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
    assert {t["list_id"] for t in tasks.values()} == {work}
    first = await _actions(ada, f"/api/tasks/{tasks['First!']['id']}/activity")
    assert [item["action"] for item in first] == ["task.moved", "task.created"]
    assert first[0]["changes"] == {"list_id": [home, work], "title": ["first", "First!"]}
    assert first[0]["actor_id"] == ada.id
    second = await _actions(ada, f"/api/tasks/{tasks['second']['id']}/activity")
    assert [item["action"] for item in second] == ["task.moved", "task.created"]
    assert second[0]["changes"] == {"list_id": [home, work]}
    assert [i["action"] for i in await _actions(ada, f"/api/lists/{home}/activity")] == [
        "task.created",
        "task.created",
    ]
    in_work = await _actions(ada, f"/api/lists/{work}/activity")
    assert [item["action"] for item in in_work] == ["task.moved", "task.moved"]


async def test_a_task_deleted_and_put_back_where_it_was_is_only_what_changed(
    ada: DavUser,
) -> None:
    list_id = await new_list(ada, "Again")
    path = f"{ada.home}{list_id}/back.ics"
    assert (await ada.dav.put(path, content=vtodo("back", "Back"))).status_code == 201
    assert (await ada.dav.delete(path)).status_code == 204
    assert (await ada.dav.put(path, content=vtodo("back", "Back"))).status_code == 201
    [task] = (await ada.api.get("/api/tasks", params={"list_id": list_id})).json()
    path_of_task = f"/api/tasks/{task['id']}/activity"
    assert [item["action"] for item in await _actions(ada, path_of_task)] == ["task.created"]
    assert (await ada.dav.delete(path)).status_code == 204
    assert (await ada.dav.put(path, content=vtodo("back", "Back again"))).status_code == 201
    found = await _actions(ada, path_of_task)
    assert [item["action"] for item in found] == ["task.updated", "task.created"]
    assert found[0]["changes"] == {"title": ["Back", "Back again"]}


async def test_a_calendar_apps_move_by_delete_keeps_the_tasks_comments(ada: DavUser) -> None:
    """Some clients move a task between calendars by a DELETE, then a PUT of the same UID: the
    task comes back with its id, its comments as they were (ids, author, times) and its
    activity, where it went, with the new data."""
    home = await new_list(ada, "Home")
    work = await new_list(ada, "Work")
    put = await ada.dav.put(f"{ada.home}{home}/report.ics", content=vtodo("report", "Report"))
    assert put.status_code == 201, put.text
    [task] = (await ada.api.get("/api/tasks")).json()
    said = []
    for body in ("Draft is in the shared folder", "Numbers checked"):
        made = await ada.api.post(f"/api/tasks/{task['id']}/comments", json={"body": body})
        assert made.status_code == 201, made.text
        said.append(made.json())
    assert (await ada.dav.delete(f"{ada.home}{home}/report.ics")).status_code == 204
    assert (await ada.api.get(f"/api/tasks/{task['id']}")).status_code == 404
    again = await ada.dav.put(
        f"{ada.home}{work}/report.ics", content=vtodo("report", "Quarterly report")
    )
    assert again.status_code == 201, again.text
    moved = (await ada.api.get(f"/api/tasks/{task['id']}")).json()
    assert (moved["list_id"], moved["title"], moved["comment_count"]) == (
        work,
        "Quarterly report",
        2,
    )
    back = await ada.api.get(f"/api/tasks/{task['id']}/comments")
    assert back.status_code == 200, back.text
    assert sorted(back.json(), key=lambda c: c["created_at"]) == said
    actions = [item["action"] for item in await _actions(ada, f"/api/tasks/{task['id']}/activity")]
    assert actions == ["task.moved", "comment.created", "comment.created", "task.created"]


async def test_a_moved_tasks_comments_by_someone_gone_meanwhile_stay_gone(
    app: FastAPI, settings: Settings, ada: DavUser
) -> None:
    """A member of the list comments, the task is deleted by a calendar app, the member's
    account goes (and with it their comments), then the app's PUT moves the task: it comes
    back with the comments of those still here."""
    home = await new_list(ada, "Home")
    work = await new_list(ada, "Work")
    put = await ada.dav.put(f"{ada.home}{home}/plan.ics", content=vtodo("plan", "Plan"))
    assert put.status_code == 201, put.text
    [task] = (await ada.api.get("/api/tasks")).json()
    async with dav_user(app, settings, "cyd@example.com") as cyd:
        await share(ada.api, cyd.api, home, "editor")
        said = await cyd.api.post(f"/api/tasks/{task['id']}/comments", json={"body": "Mine"})
        assert said.status_code == 201, said.text
        kept = await ada.api.post(f"/api/tasks/{task['id']}/comments", json={"body": "Ada's"})
        assert kept.status_code == 201, kept.text
        assert (await ada.dav.delete(f"{ada.home}{home}/plan.ics")).status_code == 204
        gone = await cyd.api.request("DELETE", "/api/auth/me", json={"confirm": cyd.email})
        assert gone.status_code == 204, gone.text
    again = await ada.dav.put(f"{ada.home}{work}/plan.ics", content=vtodo("plan", "Plan"))
    assert again.status_code == 201, again.text
    back = await ada.api.get(f"/api/tasks/{task['id']}/comments")
    assert [c["body"] for c in back.json()] == ["Ada's"]
    assert (await ada.api.get(f"/api/tasks/{task['id']}")).json()["comment_count"] == 1
