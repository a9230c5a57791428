"""Helpers for the tests of shared lists: people and memberships, made through the API."""

import uuid
from typing import Any

import httpx


async def user_id(client: httpx.AsyncClient) -> str:
    response = await client.get("/api/auth/me")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def invite(owner: httpx.AsyncClient, list_id: str, role: str = "editor") -> str:
    """A new invitation link's token."""
    response = await owner.post(f"/api/lists/{list_id}/invitations", json={"role": role})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def share(
    owner: httpx.AsyncClient, member: httpx.AsyncClient, list_id: str, role: str = "editor"
) -> dict[str, Any]:
    """Make `member` a member of the owner's list in `role`; the list as they now see it."""
    token = await invite(owner, list_id, role)
    response = await member.post("/api/invitations/accept", json={"token": token})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def remove(owner: httpx.AsyncClient, list_id: str, member_id: str) -> None:
    response = await owner.delete(f"/api/lists/{list_id}/members/{member_id}")
    assert response.status_code == 204, response.text


def unknown_id() -> str:
    return str(uuid.uuid4())
