"""What a client sends and gets back for notifications."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from todo_api.kit.inputs import Change, Input, change_schema, refuse_null

Kind = Literal["assigned", "mentioned", "commented", "completed", "member_joined"]
KINDS: tuple[str, ...] = ("assigned", "mentioned", "commented", "completed", "member_joined")
EmailMode = Literal["off", "instant", "daily"]
DEFAULT_EMAIL = "instant"
DEFAULT_KINDS = {
    "assigned": True,
    "mentioned": True,
    "commented": False,
    "completed": False,
    "member_joined": False,
}
MAX_READ_IDS = 500


class NotificationRead(BaseModel):
    id: uuid.UUID
    kind: Kind
    at: datetime
    read: bool
    actor_id: uuid.UUID | None
    task_id: uuid.UUID | None
    list_id: uuid.UUID | None
    comment_id: uuid.UUID | None


class NotificationPage(BaseModel):
    items: list[NotificationRead] = Field(description="Newest first")
    next: str | None = Field(description="Pass as `cursor` for older ones; null: no more")
    unread_count: int


class MarkRead(Input):
    """`{"ids": [...]}` or `{"all": true}`."""

    # Exactly one of them (a null is the same as left out), as `_one` checks.
    model_config = ConfigDict(
        json_schema_extra={
            "minProperties": 1,
            "oneOf": [
                {"required": ["ids"], "properties": {"ids": {"type": "array"}}},
                {"required": ["all"], "properties": {"all": {"const": True}}},
            ],
        }
    )

    ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_READ_IDS)
    all: Literal[True] | None = None

    @model_validator(mode="after")
    def _one(self) -> "MarkRead":
        if (self.ids is None) == (self.all is None):
            raise ValueError('give either "ids" or "all": true')
        return self


class SettingsRead(BaseModel):
    email: EmailMode
    kinds: dict[Kind, bool]


class SettingsUpdate(Change):
    # Fields left out stay; neither may be cleared (null), and a kind is true or false, not 0.
    model_config = ConfigDict(json_schema_extra=change_schema("email", "kinds"))

    email: EmailMode | None = None
    kinds: dict[Kind, StrictBool] | None = None

    _not_null = field_validator("email", "kinds")(refuse_null)


NOTIFICATION_FIELDS = tuple(NotificationRead.model_fields)


def notification_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in NOTIFICATION_FIELDS}
