"""What a client sends and gets back for sections."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from todo_api.kit import text
from todo_api.kit.inputs import Change, Input, Move, change_schema, refuse_null
from todo_api.tables.sections import SECTION_NAME_MAX_LENGTH

Name = Annotated[
    str,
    AfterValidator(text.line(SECTION_NAME_MAX_LENGTH)),
    Field(
        description=f"1 to {SECTION_NAME_MAX_LENGTH} characters once trimmed and in NFC; unique "
        "among the list's sections ignoring case, as list names are",
        examples=["Next week"],
        json_schema_extra=text.documented(text.LINE_PATTERN, SECTION_NAME_MAX_LENGTH, min_length=1),
    ),
]


class SectionCreate(Input):
    name: Name


class SectionUpdate(Change):
    """A rename (the only change a section takes besides `move`)."""

    model_config = ConfigDict(json_schema_extra=change_schema("name"))

    name: Name | None = None

    _not_null = field_validator("name")(refuse_null)


class SectionMove(Move):
    """Where a section goes: right before or right after another of its list's; neither: last."""


class SectionRead(BaseModel):
    id: uuid.UUID
    list_id: uuid.UUID
    name: str
    position: int = Field(
        description="The section's place in its list; opaque: compare positions only to order"
    )
    created_at: datetime
    updated_at: datetime


SECTION_FIELDS = tuple(SectionRead.model_fields)


def section_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A section as the API shows it (SectionRead's shape, without validating it again)."""
    return {name: row[name] for name in SECTION_FIELDS}
