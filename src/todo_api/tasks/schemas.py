"""What a client sends and gets back for tasks."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from todo_api.tasks.models import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH


def _storable(text: str) -> str:
    # PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded at all.
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValueError("must be valid Unicode text")
    return text


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_not_blank),
    AfterValidator(_storable),
    Field(examples=["Buy milk"], json_schema_extra={"minLength": 1}),
]
Description = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX_LENGTH, examples=["Two litres, semi-skimmed"]),
    AfterValidator(_storable),
]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    is_completed: StrictBool = False


class TaskUpdate(BaseModel):
    """A partial change: fields left out stay as they are; `description: null` clears it."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    is_completed: StrictBool | None = None

    @field_validator("title", "is_completed")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _at_least_one_field(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("at least one field must be given")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str | None
    is_completed: bool
    created_at: datetime
    updated_at: datetime
