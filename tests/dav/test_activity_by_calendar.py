"""A calendar app's changes are in the activity as any other, with who made them: created,
changed, completed and deleted through CalDAV."""

import httpx

from tests.dav.helpers import DavUser, new_list, vtodo


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
