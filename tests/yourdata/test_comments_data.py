"""Comments in the JSON export (each task's, oldest first) and its import (the importer their
author, their times kept), all or nothing like the rest of the file."""

import json
from collections.abc import Callable

import httpx

from tests.collaboration.helpers import comment, comments_of
from tests.lists.sharing import user_id
from tests.tasks.helpers import create_task
from tests.yourdata.helpers import export, import_file


async def test_comments_go_out_with_their_task_and_come_back_the_importers(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        task = await create_task(first, title="With comments")
        await create_task(first, title="Without")
        made = [await comment(first, task["id"], f"Note {n}") for n in range(3)]
        exported = await export(first)
        by_title = {t["title"]: t for t in exported["tasks"]}
        assert [c["body"] for c in by_title["With comments"]["comments"]] == [
            "Note 0",
            "Note 1",
            "Note 2",
        ]
        assert by_title["With comments"]["comments"][0]["id"] == made[0]["id"]
        assert by_title["With comments"]["comment_count"] == 3
        assert by_title["Without"]["comments"] == []

        answer = await import_file(second, "todo-api", json.dumps(exported))
        assert answer.status_code == 200, answer.text
        again = {t["title"]: t for t in (await export(second))["tasks"]}
        imported = again["With comments"]
        assert imported["comment_count"] == 3
        comments = await comments_of(second, imported["id"])
        assert [c["body"] for c in comments] == ["Note 0", "Note 1", "Note 2"]
        assert {c["author_id"] for c in comments} == {await user_id(second)}
        assert [c["created_at"] for c in comments] == [c["created_at"] for c in made]


async def test_a_wrong_comment_refuses_the_whole_file(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        task = await create_task(first, title="Commented")
        await comment(first, task["id"], "Fine")
        exported = await export(first)
        exported["tasks"][0]["comments"].append({"body": "   "})
        answer = await import_file(second, "todo-api", json.dumps(exported))
        assert answer.status_code == 400, answer.text
        details = answer.json()["details"]
        assert [d["field"] for d in details] == ["comments[1].body"]
        assert details[0]["index"] == 0
        assert (await export(second))["tasks"] == []


async def test_imported_comments_are_events_as_imported_tasks_are(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        task = await create_task(first, title="Discussed")
        await comment(first, task["id"], "First")
        await comment(first, task["id"], "Second")
        exported = await export(first)
        hook = await second.post(
            "/api/webhooks",
            json={"url": "http://127.0.0.1:1/hook", "events": ["task.created", "comment.created"]},
        )
        assert hook.status_code == 201, hook.text
        answer = await import_file(second, "todo-api", json.dumps(exported))
        assert answer.status_code == 200, answer.text
        [imported] = (await second.get("/api/tasks")).json()
        listed = await second.get(
            f"/api/webhooks/{hook.json()['id']}/deliveries", params={"limit": 100}
        )
        assert listed.status_code == 200, listed.text
        types = sorted(row["type"] for row in listed.json())
        assert types == ["comment.created", "comment.created", "task.created"]
        comments = await comments_of(second, imported["id"])
        assert all(c["task_id"] == imported["id"] for c in comments)
