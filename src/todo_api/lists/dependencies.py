"""What list routes take from a request: the list id in the path."""

import uuid
from typing import Annotated

from fastapi import Path

from todo_api.kit.inputs import UUID_EXAMPLE
from todo_api.lists.errors import ListNotFound

ListIdPath = Annotated[
    str,
    Path(
        description="The list's id", json_schema_extra={"format": "uuid"}, examples=[UUID_EXAMPLE]
    ),
]


def parse_list_id(text: str) -> uuid.UUID:
    """The id in the path; one that does not parse names no list, like an unknown one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ListNotFound from None
