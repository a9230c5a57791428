"""Helpers for the attachments' tests: files made here, uploads through the API."""

import base64
import io
import struct
import zipfile
import zlib
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


def png_of(width: int, height: int) -> bytes:
    """A whole PNG of `width` x `height` white pixels, one bit each, made a row at a time: a
    20000 x 20000 one is about 250 kB, and would take 400 MB and more decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    packer = zlib.compressobj(1)
    row = b"\0" + b"\xff" * ((width + 7) // 8)  # no filter, white
    rows = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
