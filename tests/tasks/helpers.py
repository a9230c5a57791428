"""Small helpers shared by the task-route tests: creating tasks and checking error bodies."""

import uuid
from datetime import datetime
from typing import Any

import httpx

# The contract's seven fields, and what the task features add to them.
TASK_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "is_completed",
    "priority",
    "due_at",
    "tags",
    "completed_at",
    "created_at",
    "updated_at",
}
ERROR_FIELDS = {"error", "code", "details"}


async def create_task(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """POST a task (title defaults to "A task") and return its body, failing on anything but 201."""
    response = await client.post("/api/tasks", json={"title": "A task", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def random_task_url() -> str:
    return f"/api/tasks/{uuid.uuid4()}"


def timestamp(value: str) -> datetime:
    """Parse a response timestamp, insisting on the contract's UTC `Z` form."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an error in the contract's shape with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


def assert_not_found(response: httpx.Response) -> dict[str, Any]:
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["details"] is None
    return body


def assert_validation_error(response: httpx.Response, *fields: str) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR whose details name exactly the given fields (in any order)."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    details = body["details"]
    assert isinstance(details, list)
    assert details
    for detail in details:
        assert set(detail) == {"field", "message"}
        assert isinstance(detail["field"], str)
        assert isinstance(detail["message"], str)
        assert detail["message"]
    assert sorted(detail["field"] for detail in details) == sorted(fields)
    return details
