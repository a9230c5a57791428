"""Helpers shared by the task-route tests: creating tasks, reading them back, checking errors."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.support import assert_error, validation_details

# The contract's seven fields, and what the task features add to them.
TASK_FIELDS = {
    "id",
    "user_id",
    "list_id",
    "parent_id",
    "section_id",
    "position",
    "title",
    "description",
    "is_completed",
    "priority",
    "due_at",
    "due_date",
    "start_at",
    "start_date",
    "timezone",
    "tags",
    "recurrence",
    "completed_at",
    "created_by",
    "completed_by",
    "assignee_id",
    "reminders",
    "comment_count",
    "created_at",
    "updated_at",
}

_STRONG_ETAG = re.compile(r'^"[^"]*"$')


async def create_task(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """POST a task (title defaults to "A task") and return its body, failing on anything but 201."""
    response = await client.post("/api/tasks", json={"title": "A task", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def bulk(client: httpx.AsyncClient, *operations: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/tasks/bulk", json={"operations": list(operations)})


def random_task_url() -> str:
    return f"/api/tasks/{uuid.uuid4()}"


def timestamp(value: str) -> datetime:
    """Parse a response timestamp, insisting on the contract's UTC `Z` form."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def assert_not_found(response: httpx.Response) -> dict[str, Any]:
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["details"] is None
    return body


def assert_validation_error(response: httpx.Response, *fields: str) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR whose details name exactly the given fields (in any order)."""
    details = validation_details(response)
    assert sorted(detail["field"] for detail in details) == sorted(fields)
    return details


def etag_of(response: httpx.Response) -> str:
    """The response's ETag, which must be a strong entity tag (`"..."`)."""
    etag = response.headers.get("etag")
    assert etag is not None, f"no ETag on {response.request.method} {response.request.url}"
    assert _STRONG_ETAG.match(etag), etag
    return etag


async def user_id_of(client: httpx.AsyncClient) -> uuid.UUID:
    """The caller's user id (their row exists once this returns)."""
    me = await client.get("/api/auth/me")
    assert me.status_code == 200, me.text
    return uuid.UUID(me.json()["id"])
