"""What a client sends and gets back for lists."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from todo_api.kit import text
from todo_api.kit.access import Role
from todo_api.kit.inputs import UUID_EXAMPLE, Change, Input, Move, change_schema, refuse_null
from todo_api.tables.lists import NAME_MAX_LENGTH

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


Name = Annotated[
    str,
    AfterValidator(text.line(NAME_MAX_LENGTH)),
    Field(
        description=f"1 to {NAME_MAX_LENGTH} characters once trimmed and in NFC, with a visible "
        "one and no control characters; unique among your lists ignoring case, compatibility "
        "forms and invisible characters (`Straße` = `STRASSE`, full-width `abc` = `abc`)",
        examples=["Groceries"],
        json_schema_extra=text.documented(text.LINE_PATTERN, NAME_MAX_LENGTH, min_length=1),
    ),
]
Color = Annotated[
    str,
    StringConstraints(pattern=COLOR_PATTERN, to_lower=True),
    Field(description='"#rrggbb", kept in lower case', examples=["#3b82f6"]),
]


ParentId = Annotated[
    uuid.UUID,
    Field(
        description="The list this one is inside: one of your own, in a tree at most 3 deep "
        "(null: at the top)",
        examples=[UUID_EXAMPLE],
    ),
]


class ListCreate(Input):
    name: Name
    color: Color | None = None
    parent_id: ParentId | None = None


class ListUpdate(Change):
    """A partial change: fields left out stay as they are; `color` can be cleared with null."""

    model_config = ConfigDict(json_schema_extra=change_schema("name"))

    name: Name | None = None
    color: Color | None = None
    parent_id: ParentId | None = None

    _not_null = field_validator("name")(refuse_null)


class ListMove(Move):
    """Where a list goes: right before or right after another of your lists; neither: last."""


class ListRead(BaseModel):
    id: uuid.UUID
    name: str
    color: str | None
    parent_id: uuid.UUID | None = Field(
        description="The list this one is inside (null: at the top, or inside a list you do "
        "not see: sharing is per list)"
    )
    position: int = Field(
        description="The list's place among your lists (each member orders their own); "
        "opaque: compare positions only to order lists"
    )
    open_count: int = Field(description="Open tasks in the list, subtasks included")
    owner_id: uuid.UUID = Field(
        description="The user who made the list and manages its people", examples=[UUID_EXAMPLE]
    )
    role: Role = Field(
        description="What you may do: `owner`, `editor` or `viewer`", examples=["editor"]
    )
    member_count: int = Field(description="Everyone with access, the owner included", examples=[3])
    created_at: datetime
    updated_at: datetime


LIST_FIELDS = tuple(name for name in ListRead.model_fields if name != "owner_id")


def list_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored list as the API shows it (ListRead's shape, without validating it again)."""
    return {**{name: row[name] for name in LIST_FIELDS}, "owner_id": row["user_id"]}
