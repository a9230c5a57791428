"""What an attachment looks like in the API."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

PREFIX = "/api/attachments"


class AttachmentRead(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    comment_id: uuid.UUID | None = Field(description="The comment it is attached to, if any")
    name: str = Field(description="The file's name, without any folder")
    size: int = Field(description="Bytes")
    content_type: str = Field(
        description="The type its bytes show (application/octet-stream when they contradict "
        "the type the uploader declared)"
    )
    sha256: str = Field(description="The bytes' SHA-256, in hex (also the content's ETag)")
    created_by: uuid.UUID = Field(description="Who uploaded it")
    created_at: datetime
    url: str = Field(description="Where its bytes are: GET for the content")


def content_url(attachment_id: Any) -> str:
    return f"{PREFIX}/{attachment_id}/content"


def attachment_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "task_id": row["task_id"],
        "comment_id": row["comment_id"],
        "name": row["name"],
        "size": row["size"],
        "content_type": row["content_type"],
        "sha256": row["sha256"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "url": content_url(row["id"]),
    }
