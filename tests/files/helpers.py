"""Helpers for the attachments' tests: files made here, uploads through the API."""

import base64
import io
import zipfile
from typing import Any

import httpx

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
FIELDS = {
    "id", "task_id", "comment_id", "name", "size", "content_type", "sha256", "created_by",
    "created_at", "url",
}  # fmt: skip


async def new_task(client: httpx.AsyncClient, title: str = "With files", **extra: Any) -> str:
    response = await client.post("/api/tasks", json={"title": title, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upload(
    client: httpx.AsyncClient,
    task_id: str,
    content: bytes = b"hello, world\n",
    name: str = "notes.txt",
    content_type: str = "text/plain",
    expect: int = 201,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/tasks/{task_id}/attachments", files={"file": (name, content, content_type)}
    )
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


def zip_bomb(megabytes: int = 50) -> bytes:
    """A small zip that would unpack to `megabytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (megabytes * 1024 * 1024))
    return out.getvalue()
