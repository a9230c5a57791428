"""What every operation of the OpenAPI document shares, added once the routes are read."""

from typing import Any

from todo_api.kit.errors import error_examples

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'Bearer, with error="invalid_token" when a token was given',
        "schema": {"type": "string"},
    }
}
# Statuses any route that reads a body can answer, whatever the route. A body that is not
# JSON, or has another Content-Type, is 400 INVALID_REQUEST (the contract's table), never 415.
BODY_ERRORS = {
    "400": "VALIDATION_ERROR, or INVALID_REQUEST (not JSON, not an object, wrong Content-Type)",
    "413": "PAYLOAD_TOO_LARGE",
}
HEADERS_BY_STATUS = {"401": WWW_AUTHENTICATE, "429": RETRY_AFTER, "503": RETRY_AFTER}
# On every answer to a request whose token was accepted (errors included), unless the route
# sets its own (the token responses' no-store); documented on the successes.
PRIVATE = {
    "Cache-Control": {
        "description": "private, no-cache: one user's data, to be revalidated (ETag) before reuse",
        "schema": {"type": "string"},
    }
}


def complete(schema: dict[str, Any]) -> None:
    """Document the body limits on every route that takes a body, the headers that go with
    401, 429 and 503 wherever those are listed, each error status's own examples, and
    Cache-Control on the successes of every route that needs a token."""
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for body_status, code in BODY_ERRORS.items():
                    responses.setdefault(
                        body_status,
                        {
                            "description": code,
                            "content": {"application/json": {"schema": error_body}},
                        },
                    )
            for status, response in responses.items():
                media = response.get("content", {}).get("application/json", {})
                if media.get("schema") == error_body and (examples := error_examples(int(status))):
                    media["examples"] = examples
            for status, headers in HEADERS_BY_STATUS.items():
                if status in responses:
                    responses[status].setdefault("headers", {}).update(headers)
            if operation.get("security"):
                for status, response in responses.items():
                    if status.startswith("2") or status == "304":
                        # A route that sets its own (no-store for a secret) keeps it.
                        response.setdefault("headers", {}).setdefault(
                            "Cache-Control", PRIVATE["Cache-Control"]
                        )
