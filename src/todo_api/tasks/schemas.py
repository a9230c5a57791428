"""What a client sends and gets back for tasks."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

from todo_api.tasks.models import (
    DESCRIPTION_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TAGS_MAX_COUNT,
    TITLE_MAX_LENGTH,
    Priority,
)
from todo_api.text import storable

PriorityName = Literal["none", "low", "medium", "high"]


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be blank")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _unique_tags(tags: list[str]) -> list[str]:
    unique = list(dict.fromkeys(tags))  # duplicates after normalising are dropped, order kept
    if len(unique) > TAGS_MAX_COUNT:
        raise ValueError(f"at most {TAGS_MAX_COUNT} tags")
    return unique


Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=TITLE_MAX_LENGTH),
    AfterValidator(_not_blank),
    AfterValidator(storable),
    Field(examples=["Buy milk"], json_schema_extra={"minLength": 1}),
]
Description = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX_LENGTH, examples=["Two litres, semi-skimmed"]),
    AfterValidator(storable),
]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=TAG_MAX_LENGTH),
    AfterValidator(_not_blank),
    AfterValidator(storable),
]
Tags = Annotated[
    list[Tag],
    AfterValidator(_unique_tags),
    Field(
        description=f"At most {TAGS_MAX_COUNT}; stored trimmed, lower-case, without duplicates",
        examples=[["groceries", "errands"]],
    ),
]
DueAt = Annotated[
    AwareDatetime,
    AfterValidator(_utc),
    Field(description="RFC 3339 with an offset; kept in UTC", examples=["2026-12-01T17:00:00Z"]),
]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    is_completed: StrictBool = False
    priority: PriorityName = "none"
    due_at: DueAt | None = None
    tags: Tags = []


class TaskUpdate(BaseModel):
    """A partial change: fields left out stay as they are; `description: null` and
    `due_at: null` clear those fields."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    is_completed: StrictBool | None = None
    priority: PriorityName | None = None
    due_at: DueAt | None = None
    tags: Tags | None = None

    @field_validator("title", "is_completed", "priority", "tags")
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


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str | None
    is_completed: bool
    priority: PriorityName
    due_at: datetime | None
    tags: list[str]
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @field_validator("priority", mode="before")
    @classmethod
    def _priority_name(cls, value: Any) -> Any:
        return Priority(value).name if isinstance(value, int) else value


def stored_values(data: TaskCreate | TaskUpdate) -> dict[str, Any]:
    """The columns a create or an update writes (priority names become their stored numbers)."""
    values = data.model_dump(exclude_unset=isinstance(data, TaskUpdate))
    if "priority" in values:
        values["priority"] = Priority[values["priority"]]
    return values
