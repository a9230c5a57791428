"""Helpers for the comment tests, through the API."""

from typing import Any

import httpx

COMMENT_FIELDS = {"id", "task_id", "author_id", "body", "mentions", "created_at", "updated_at"}


async def comment(client: httpx.AsyncClient, task_id: str, body: str) -> dict[str, Any]:
    """POST a comment and return it, failing on anything but 201."""
    response = await client.post(f"/api/tasks/{task_id}/comments", json={"body": body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert set(created) == COMMENT_FIELDS
    return created


async def comments_of(client: httpx.AsyncClient, task_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/tasks/{task_id}/comments")
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


async def task_of(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
