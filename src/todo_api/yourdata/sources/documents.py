"""Reading a JSON file an app exported (this service's, Google Takeout's)."""

import json
from typing import Any

from todo_api.kit.errors import InvalidRequest


def json_document(body: bytes, what: str) -> dict[str, Any]:
    """The file as a JSON object; 400 INVALID_REQUEST if it is not one."""
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"({what} expected)"
        ) from None
    except (ValueError, RecursionError):  # not UTF-8, or nested too deep
        raise InvalidRequest(f"The file is not valid JSON ({what} expected)") from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"The file must be a JSON object ({what} expected)")
    return document


def items(value: Any) -> list[Any]:
    """A JSON array, or nothing when the file left it out."""
    return value if isinstance(value, list) else []
