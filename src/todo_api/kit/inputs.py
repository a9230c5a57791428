"""The base of every request body (unknown fields are refused, and cheaply), of every partial
change (PATCH) and of every move; ids in the path."""

import uuid
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Self

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictInt, model_validator

from todo_api.kit.text import canonical_email

# The id every example in the OpenAPI document shows.
UUID_EXAMPLE = "0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a"


def id_in_path(description: str) -> Any:
    """An id in the path, documented as a uuid but taken as text (`Annotated[str, ...]`), so
    that `parse_id` answers one that does not parse as the 404 of an unknown id."""
    return Path(
        description=description, json_schema_extra={"format": "uuid"}, examples=[UUID_EXAMPLE]
    )


def parse_id(text: str, not_found: type[Exception]) -> uuid.UUID:
    """The id in the path; one that does not parse names nothing, like an unknown one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise not_found from None


def integral(value: Any) -> Any:
    # JSON has numbers, not integers: 7.0 is the integer 7 (JSON Schema says so too).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer in a body: a whole number, written 7 or 7.0; not "7", not true.
WholeNumber = Annotated[StrictInt, BeforeValidator(integral)]
# Bounds go on the integer, before the validator: `Annotated[StrictInt, Field(ge=1),
# BeforeValidator(integral)]`. Put on `WholeNumber | None`, they reach the document in
# pydantic's words (`ge`, `le`), which JSON Schema does not know.


# A body naming more unknown fields than this is refused with one error for all of them, so
# that a body of a million made-up keys costs one set difference, not a million errors.
MAX_UNKNOWN_FIELDS = 20


class Input(BaseModel):
    """A request body: fields outside the model are a validation error (so that a typo never
    silently does nothing)."""

    model_config = ConfigDict(extra="forbid")
    # How many keys a body may have before its unknown ones are counted (pydantic's
    # `model_fields` is a descriptor that costs a call each time it is read).
    keys_counted_past: ClassVar[int] = MAX_UNKNOWN_FIELDS

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.keys_counted_past = len(cls.model_fields) + MAX_UNKNOWN_FIELDS

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > cls.keys_counted_past:
            unknown = len(data.keys() - cls.model_fields.keys())
            if unknown > MAX_UNKNOWN_FIELDS:
                raise ValueError(f"{unknown} unknown fields; at most {MAX_UNKNOWN_FIELDS} allowed")
        return data


class Change(Input):
    """A partial change: fields left out stay as they are, and at least one is given."""

    @model_validator(mode="after")
    def _at_least_one_field(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("at least one field must be given")
        return self


def email_address(value: Any) -> Any:
    """For a field of an email address (`BeforeValidator(email_address)`): the address as it
    is stored (`canonical_email`), or a ValueError when the text is not one."""
    if isinstance(value, str):
        email = canonical_email(value)
        if email is None:
            raise ValueError("must be an email address")
        return email
    return value


def refuse_null(value: Any) -> Any:
    """For a field of a change that may be left out but not cleared:
    `_not_null = field_validator("name")(refuse_null)`."""
    if value is None:
        raise ValueError("must not be null")
    return value


def change_schema(*not_null: str, also: dict[str, Any] | None = None) -> Callable[..., None]:
    """OpenAPI for a `Change`: at least one field, and the `not_null` fields may be left out
    but not given as null; `also` adds keywords of the model's own."""

    def rewrite(schema: dict[str, Any]) -> None:
        schema["minProperties"] = 1
        schema.update(also or {})
        for name in not_null:
            field = schema["properties"][name]
            options = [o for o in field.pop("anyOf") if o.get("type") != "null"]
            field.pop("default", None)
            field.update(options[0])

    return rewrite


class Move(Input):
    """Where a row goes among its siblings: right before or right after another one (not both;
    a null is the same as one left out), or, with neither, last. No example id in the
    document: whatever it showed would name none of the reader's rows."""

    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["before", "after"],
                "properties": {"before": {"type": "string"}, "after": {"type": "string"}},
            }
        }
    )

    before: uuid.UUID | None = None
    after: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_neighbour_at_most(self) -> Self:
        if self.before is not None and self.after is not None:
            raise ValueError("give before or after, not both")
        return self
