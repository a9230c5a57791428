"""Helpers of the tests of your data: export, import, and what to compare of an export."""

from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent.parent / "fixtures"
TODOIST_HEADER = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE"
)

# What a round trip keeps of a task, of a list.
TASK_CONTENT = (
    "title",
    "description",
    "is_completed",
    "completed_at",
    "priority",
    "due_at",
    "due_date",
    "timezone",
    "tags",
    "recurrence",
)
LIST_CONTENT = ("name", "color")


async def export(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment")
    document: dict[str, Any] = response.json()
    return document


async def import_file(
    client: httpx.AsyncClient,
    source: str,
    body: bytes | str,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    return await client.post(
        "/api/import",
        params={"source": source, **params},
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": content_type, **(headers or {})},
    )


def content(document: dict[str, Any]) -> Any:
    """An export's content, free of ids, times of making and places: each list's name and
    colour in order, with its tasks in order (each with its content, its reminders without
    ids, its section's name, and its subtasks in order), its sections' names in order, and the
    inbox's the same way."""
    section_names = {
        section["id"]: section["name"]
        for item in document["lists"]
        for section in item.get("sections", [])
    }

    def tasks_of(list_id: Any, parent_id: Any) -> list[Any]:
        siblings = [
            t for t in document["tasks"] if t["list_id"] == list_id and t["parent_id"] == parent_id
        ]
        siblings.sort(key=lambda t: t["position"])
        return [
            {
                **{name: t[name] for name in TASK_CONTENT},
                "reminders": [{k: v for k, v in r.items() if k != "id"} for r in t["reminders"]],
                "section": section_names.get(t.get("section_id")),
                # Who completed an occurrence is whoever imported it: its time and which one.
                "completions": [
                    (c["occurrence"], c["completed_at"]) for c in t.get("completions", [])
                ],
                "subtasks": tasks_of(list_id, t["id"]) if parent_id is None else [],
            }
            for t in siblings
        ]

    lists = sorted(document["lists"], key=lambda item: item["position"])
    return {
        "lists": [
            {
                **{name: item[name] for name in LIST_CONTENT},
                "sections": [section["name"] for section in item.get("sections", [])],
                "tasks": tasks_of(item["id"], None),
            }
            for item in lists
        ],
        "inbox": tasks_of(None, None),
    }


async def lists_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/lists")
    assert response.status_code == 200, response.text
    lists: list[dict[str, Any]] = response.json()
    return lists


async def tasks_of(client: httpx.AsyncClient, list_id: str) -> list[dict[str, Any]]:
    """The list's tasks in their order."""
    response = await client.get(
        "/api/tasks", params={"list_id": list_id, "sort": "position", "limit": 100}
    )
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


def counts(answer: httpx.Response) -> dict[str, Any]:
    """An import's answer as the first imports gave it: lists and tasks made, and what was
    skipped (the tests of sections, comments and the format read look at those apart)."""
    body: dict[str, Any] = answer.json()
    return {name: body[name] for name in ("lists", "tasks", "skipped")}
