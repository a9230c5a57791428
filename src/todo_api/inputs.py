"""The base of every request body: unknown fields are refused, and cheaply."""

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

# The id every example in the OpenAPI document shows.
UUID_EXAMPLE = "0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a"

# A body naming more unknown fields than this is refused with one error for all of them, so
# that a body of a million made-up keys costs one set difference, not a million errors.
MAX_UNKNOWN_FIELDS = 20


class Input(BaseModel):
    """A request body: fields outside the model are a validation error (so that a typo never
    silently does nothing)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _few_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + MAX_UNKNOWN_FIELDS:
            unknown = len(data.keys() - cls.model_fields.keys())
            if unknown > MAX_UNKNOWN_FIELDS:
                raise ValueError(f"{unknown} unknown fields; at most {MAX_UNKNOWN_FIELDS} allowed")
        return data
