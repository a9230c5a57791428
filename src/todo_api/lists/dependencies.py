"""What list routes take from a request: the list id in the path."""

import uuid
from typing import Annotated

from todo_api.kit.errors import ListNotFound
from todo_api.kit.inputs import id_in_path, parse_id

ListIdPath = Annotated[str, id_in_path("The list's id")]


def parse_list_id(text: str) -> uuid.UUID:
    return parse_id(text, ListNotFound)
