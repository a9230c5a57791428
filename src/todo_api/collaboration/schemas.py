"""What a client sends and gets back for comments."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from todo_api.kit import text
from todo_api.kit.inputs import Input
from todo_api.tables.attachments import ATTACHMENTS_MAX_COUNT
from todo_api.tables.comments import COMMENT_BODY_MAX_LENGTH


def _body(value: str) -> str:
    """Markdown kept as written (never trimmed nor normalised): something visible, at most
    COMMENT_BODY_MAX_LENGTH characters, and storable."""
    text.storable(value)
    if not value.strip():
        raise ValueError("must not be blank")
    if len(value) > COMMENT_BODY_MAX_LENGTH:
        raise ValueError(f"must be at most {COMMENT_BODY_MAX_LENGTH} characters")
    return value


Body = Annotated[
    str,
    AfterValidator(_body),
    Field(
        description=f"Markdown, 1 to {COMMENT_BODY_MAX_LENGTH} characters, kept as written (the "
        "service never renders it). `@` and a member's email, or `@[Name](user id)`, mentions "
        "a member who can see the task",
        examples=["Done on my side, @bob@example.com can you check?"],
        json_schema_extra={"minLength": 1, "maxLength": COMMENT_BODY_MAX_LENGTH},
    ),
]


class CommentCreate(Input):
    body: Body
    attachment_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=ATTACHMENTS_MAX_COUNT,
        description="Files uploaded for the task (POST /api/tasks/{id}/attachments) that the "
        "comment carries",
    )


class CommentUpdate(Input):
    body: Body


class CommentRead(BaseModel):
    id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    mentions: list[uuid.UUID] = Field(
        description="The members the body mentions who can see the task"
    )
    created_at: datetime
    updated_at: datetime


COMMENT_FIELDS = tuple(CommentRead.model_fields)


def comment_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored comment as the API shows it (CommentRead's shape)."""
    return {name: row[name] for name in COMMENT_FIELDS}


class ActivityItem(BaseModel):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None = Field(description="Who did it; null: the service")
    action: str = Field(
        description="task.created, task.updated, task.completed, task.reopened, task.deleted, "
        "task.restored, task.moved, task.emailed (came by email; `from`: the sender), "
        "comment.created, comment.deleted, member.joined, member.left, member.role_changed, "
        "list.updated, section.created, section.updated (renamed) or section.deleted",
        examples=["task.updated"],
    )
    task_id: uuid.UUID | None
    changes: dict[str, list[Any]] = Field(
        description='Each field the change touched, as `"field": [old, new]` (a comment\'s '
        "`comment_id`, a member's `user_id` and `role`, a section's `section_id` and `name`)",
        examples=[{"title": ["Milk", "Oat milk"]}],
    )


class ActivityPage(BaseModel):
    items: list[ActivityItem] = Field(description="Newest first")
    next: str | None = Field(description="Pass as `cursor` for older items; null: no more")
