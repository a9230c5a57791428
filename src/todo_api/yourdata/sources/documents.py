"""Reading a JSON file an app exported (this service's, Google Takeout's)."""

import json
from typing import Any

from todo_api.kit.errors import InvalidRequest


def json_document(body: bytes, what: str) -> dict[str, Any]:
    """The file as a JSON object; 400 INVALID_REQUEST if it is not one."""
    document = _loaded(body, what)
    if not isinstance(document, dict):
        raise InvalidRequest(f"The file must be a JSON object ({what} expected)")
    return document


def json_value(body: bytes, what: str) -> Any:
    """The file as JSON (an object or an array); 400 INVALID_REQUEST if it is neither."""
    document = _loaded(body, what)
    if not isinstance(document, dict | list):
        raise InvalidRequest(f"The file must be a JSON object or array ({what} expected)")
    return document


def _loaded(body: bytes, what: str) -> Any:
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} "
            f"({what} expected)"
        ) from None
    except (ValueError, RecursionError):  # not UTF-8, or nested too deep
        raise InvalidRequest(f"The file is not valid JSON ({what} expected)") from None
    return document


def items(value: Any) -> list[Any]:
    """A JSON array, or nothing when the file left it out."""
    return value if isinstance(value, list) else []


def file_stem(options: dict[str, str]) -> str | None:
    """The uploaded file's name without its folders and extension ("Groceries.csv":
    "Groceries"), to name the list it makes; None when the request gave none."""
    name = options.get("filename", "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    return stem.strip()[:100] or None
