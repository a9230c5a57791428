"""Helpers shared by the list tests."""

from typing import Any

import httpx

LIST_FIELDS = {
    "id",
    "name",
    "color",
    "parent_id",
    "position",
    "open_count",
    "owner_id",
    "role",
    "member_count",
    "created_at",
    "updated_at",
}


async def create_list(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    """POST a list and return its body, failing on anything but 201."""
    response = await client.post("/api/lists", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == LIST_FIELDS
    return body


async def list_names(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/lists")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()]
