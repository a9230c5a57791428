"""The export: what the user owns, each thing as its own route shows it, as an attachment."""

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.lists.sharing import share
from tests.yourdata.helpers import TODOIST_HEADER, export, import_file

SECTIONS = {
    *("format", "version", "exported_at", "user"),
    *("lists", "tasks", "webhooks", "tokens", "push_subscriptions", "attachments"),
}


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_export_shows_each_thing_as_its_route_does(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person(email="kim@example.com") as kim, person() as lee:
        own = await kim.post("/api/lists", json={"name": "Own", "color": "#123456"})
        assert own.status_code == 201, own.text
        own_id = own.json()["id"]
        await share(kim, lee, own_id, "viewer")
        section = await kim.post(f"/api/lists/{own_id}/sections", json={"name": "Part"})
        assert section.status_code == 201, section.text
        leez = await lee.post("/api/lists", json={"name": "Lee's"})
        await share(lee, kim, leez.json()["id"], "editor")
        made = []
        for fields in (
            {"title": "Inbox", "reminders": [{"at": "2031-01-01T10:00:00Z"}]},
            {"title": "Listed", "list_id": own_id, "tags": ["a"], "due_date": "2031-01-02"},
        ):
            response = await kim.post("/api/tasks", json=fields)
            assert response.status_code == 201, response.text
            made.append(response.json())
        sub = await kim.post(
            "/api/tasks", json={"title": "Sub", "parent_id": made[1]["id"], "list_id": own_id}
        )
        made.append(sub.json())
        # A task of Kim's in Lee's list is Lee's: not in Kim's export.
        elsewhere = await kim.post(
            "/api/tasks", json={"title": "Lee's list", "list_id": leez.json()["id"]}
        )
        assert elsewhere.status_code == 201, elsewhere.text
        hook = await kim.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:1/h", "events": ["*"]}
        )
        assert hook.status_code == 201, hook.text

        response = await kim.get("/api/export")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.headers["content-disposition"].startswith("attachment; filename=")
        document = response.json()
        assert set(document) == SECTIONS
        assert document["format"] == "todo-api"
        assert document["version"] == 1
        assert document["exported_at"].endswith("Z")
        assert document["user"] == await _get(kim, "/api/auth/me")
        (listed,) = document["lists"]
        members = listed.pop("members")
        sections = listed.pop("sections")
        assert sections == await _get(kim, f"/api/lists/{own_id}/sections")
        assert [s["name"] for s in sections] == ["Part"]
        assert listed == await _get(kim, f"/api/lists/{own_id}")
        assert members == await _get(kim, f"/api/lists/{own_id}/members")
        assert [m["role"] for m in members] == ["owner", "viewer"]
        # Each task as its route shows it, with its comments (none here).
        assert [task.pop("comments") for task in document["tasks"]] == [[] for _ in made]
        assert document["tasks"] == [await _get(kim, f"/api/tasks/{t['id']}") for t in made]
        assert document["tasks"][0]["reminders"][0]["at"] == "2031-01-01T10:00:00Z"
        assert document["webhooks"] == await _get(kim, "/api/webhooks")
        assert "secret" not in document["webhooks"][0]
        assert hook.json()["secret"] not in response.text
        assert document["tokens"] == []  # none made yet
        made_token = await kim.post("/api/tokens", json={"name": "a script", "scope": "read"})
        assert made_token.status_code == 201, made_token.text
        again = await export(kim)
        assert again["tokens"] == await _get(kim, "/api/tokens")
        assert [t["name"] for t in again["tokens"]] == ["a script"]
        assert made_token.json()["token"] not in json.dumps(again)


async def test_an_empty_account_exports_empty_sections(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        document = await export(client)
        sections = ("lists", "tasks", "webhooks", "tokens", "push_subscriptions")
        assert {name: document[name] for name in sections} == {
            "lists": [],
            "tasks": [],
            "webhooks": [],
            "tokens": [],
            "push_subscriptions": [],
        }


async def test_many_tasks_are_exported_page_after_page(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        rows = "\n".join(f"task,Task {i:04},,4,1,,,,," for i in range(1234))
        body = f"{TODOIST_HEADER}\n{rows}\n"
        answer = await import_file(client, "todoist", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        tasks = (await export(client))["tasks"]
        assert len({task["id"] for task in tasks}) == 1234
        assert sorted(task["title"] for task in tasks) == [f"Task {i:04}" for i in range(1234)]


async def test_the_export_needs_a_token(data_app: Any) -> None:
    from tests.support import assert_error, client_for

    async with client_for(data_app) as anonymous:
        assert_error(await anonymous.get("/api/export"), 401, "UNAUTHORIZED")
