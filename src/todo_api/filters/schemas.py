"""What a client sends and gets back for saved filters."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from todo_api.kit import text
from todo_api.kit.inputs import Change, Input, Move, change_schema, refuse_null
from todo_api.lists.schemas import Color
from todo_api.tables.filters import FILTER_NAME_MAX_LENGTH, FILTER_QUERY_MAX_LENGTH

Name = Annotated[
    str,
    AfterValidator(text.line(FILTER_NAME_MAX_LENGTH)),
    Field(
        description=f"1 to {FILTER_NAME_MAX_LENGTH} characters once trimmed and in NFC; unique "
        "among your filters ignoring case, as list names are",
        examples=["Work this week"],
        json_schema_extra=text.documented(text.LINE_PATTERN, FILTER_NAME_MAX_LENGTH, min_length=1),
    ),
]
Query = Annotated[
    str,
    AfterValidator(text.storable),
    Field(
        min_length=1,
        max_length=FILTER_QUERY_MAX_LENGTH,
        description="A query in the filter language (`GET /api/tasks?filter=`), checked at once",
        examples=["(today | overdue) & #Work"],
    ),
]


class FilterCreate(Input):
    name: Name
    query: Query
    color: Color | None = None


class FilterUpdate(Change):
    """A partial change: fields left out stay as they are; `color` can be cleared with null."""

    model_config = ConfigDict(json_schema_extra=change_schema("name", "query"))

    name: Name | None = None
    query: Query | None = None
    color: Color | None = None

    _not_null = field_validator("name", "query")(refuse_null)


class FilterMove(Move):
    """Where a filter goes: right before or right after another of yours; neither: last."""


class FilterRead(BaseModel):
    id: uuid.UUID
    name: str
    query: str
    color: str | None
    position: int = Field(
        description="The filter's place among yours; opaque: compare positions only to order"
    )
    created_at: datetime
    updated_at: datetime


FILTER_FIELDS = tuple(FilterRead.model_fields)


def filter_body(row: Mapping[str, Any]) -> dict[str, Any]:
    """A saved filter as the API shows it (FilterRead's shape, without validating it again)."""
    return {name: row[name] for name in FILTER_FIELDS}
