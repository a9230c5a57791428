"""One error mechanism: every failure, from any layer, leaves with the contract's body."""

import logging
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from todo_api.kit.throttle import TracebackThrottle

log = logging.getLogger("todo_api")

DATABASE_RETRY_AFTER_SECONDS = 5
# A validation error names at most this many problems.
MAX_VALIDATION_DETAILS = 20


class ErrorCode(StrEnum):
    UNAUTHORIZED = "UNAUTHORIZED"
    INVALID_TOKEN = "INVALID_TOKEN"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_REQUEST = "INVALID_REQUEST"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    RANGE_NOT_SATISFIABLE = "RANGE_NOT_SATISFIABLE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    DATABASE_ERROR = "DATABASE_ERROR"
    AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE"
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    SYNC_TOKEN_EXPIRED = "SYNC_TOKEN_EXPIRED"
    EMAIL_UNAVAILABLE = "EMAIL_UNAVAILABLE"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"


class FieldError(BaseModel):
    field: str
    message: str


class LocatedFieldError(FieldError):
    """A field of one record of a file (an import): its 1-based `line` in the file, or its
    `index` (a position, or a path such as `items[0].items[3]`)."""

    line: int | None = None
    index: int | str | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    code: ErrorCode
    details: list[FieldError] | None = None


class ApiError(Exception):
    """An error the service means to return; raised anywhere below the router. One subclass
    per code sets the status once; a subclass per error its usual sentence (`message`), which
    an instance may replace, and carries its details and headers."""

    status: int = 500
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    message: str = "Something went wrong on our side"
    # `details` that are not field errors (an attachment quota's usage), as they are.
    body_details: dict[str, Any] | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)
        self.details = details
        self.headers = headers


class ValidationFailed(ApiError):
    status, code = 400, ErrorCode.VALIDATION_ERROR

    def __init__(self, details: list[FieldError]) -> None:
        super().__init__("The request is not valid", details=details)


class InvalidField(ValidationFailed):
    """A VALIDATION_ERROR about one field, raised after the request's schema has passed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__([FieldError(field=field, message=message)])


class InvalidRequest(ApiError):
    status, code = 400, ErrorCode.INVALID_REQUEST


class NotFound(ApiError):
    status, code = 404, ErrorCode.NOT_FOUND

    message = "Not found"


# A task or a list the caller does not see: several domains answer it, each the same way (and
# the same for someone else's, CONTRACT.md), so it is declared once, here.
class TaskNotFound(NotFound):
    """No such task for this user: the same answer for someone else's task."""

    message = "Task not found"


class ListNotFound(NotFound):
    """No such list for this user: the same answer for someone else's list."""

    message = "List not found"


class RateLimited(ApiError):
    """Too many attempts (a sign-in, an invitation): try again after `retry_after` seconds."""

    status, code = 429, ErrorCode.RATE_LIMITED

    def __init__(
        self, retry_after: int, message: str = "Too many attempts; try again later"
    ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class Forbidden(ApiError):
    """The caller may see the thing but not do this to it (a viewer writing, a member managing
    a list); never the answer to someone who cannot see it (that is NotFound)."""

    status, code = 403, ErrorCode.FORBIDDEN


class MethodNotAllowed(ApiError):
    status, code = 405, ErrorCode.METHOD_NOT_ALLOWED

    def __init__(self, allowed: str) -> None:
        super().__init__("Method not allowed", headers={"Allow": allowed})


class Conflict(ApiError):
    status, code = 409, ErrorCode.CONFLICT


class SyncTokenExpired(ApiError):
    status, code = 410, ErrorCode.SYNC_TOKEN_EXPIRED


class PreconditionFailed(ApiError):
    status, code = 412, ErrorCode.PRECONDITION_FAILED


class IdempotencyKeyReused(ApiError):
    status, code = 422, ErrorCode.IDEMPOTENCY_KEY_REUSED


class InternalError(ApiError):
    status, code = 500, ErrorCode.INTERNAL_ERROR


class DatabaseUnavailable(ApiError):
    status, code = 503, ErrorCode.DATABASE_ERROR

    def __init__(self, message: str = "The database is unavailable; try again shortly") -> None:
        super().__init__(message, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})


def error_response(error: ApiError) -> JSONResponse:
    if error.body_details is not None:
        content = {"error": error.message, "code": error.code, "details": error.body_details}
        return JSONResponse(content, status_code=error.status, headers=error.headers)
    return error_body_response(
        error.status, error.code, error.message, error.details, error.headers
    )


def error_body_response(
    status: int,
    code: ErrorCode,
    message: str,
    details: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The contract's error body, for any status (Starlette's own ones included)."""
    content = ErrorBody(error=message, code=code, details=details).model_dump(mode="json")
    if details and any(isinstance(detail, LocatedFieldError) for detail in details):
        content["details"] = [d.model_dump(mode="json", exclude_none=True) for d in details]
    return JSONResponse(content, status_code=status, headers=headers)


def internal_error_response() -> JSONResponse:
    return error_response(InternalError())


# Body-level failures: the request as a whole is unusable, not one field of it.
_INVALID_BODY = {
    "json_invalid": "The request body is not valid JSON",
    "missing": "A JSON request body is required",
    "model_attributes_type": "The request body must be a JSON object",
    "dict_type": "The request body must be a JSON object",
    "model_type": "The request body must be a JSON object",
}


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in {"body", "query", "header"} else []
    return ".".join(parts) or (str(loc[0]) if loc else "request")


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown field"
    message = str(error["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def validation_failure(errors: Iterable[Mapping[str, Any]], *, json_body: bool = True) -> ApiError:
    """The error for input that failed validation, from pydantic's errors (each located under
    `body`, `query`, `header` or `path`): a malformed path is 404, a body unusable as a whole
    is INVALID_REQUEST, anything else VALIDATION_ERROR naming its fields. `json_body`: whether
    the body was declared as JSON."""
    # One pass over the errors, however many there are; only the first few become details:
    # they are enough to fix a request, and a body of a million bad keys is not worth a
    # million details (nor the time to write them).
    whole_body: Mapping[str, Any] | None = None
    shown: list[Mapping[str, Any]] = []
    for err in errors:
        loc = err["loc"]
        # A path that does not parse (a malformed id) names no resource: 404, like any
        # unknown id.
        if loc and loc[0] == "path":
            return NotFound()
        if whole_body is None and (
            err["type"] == "json_invalid"
            or (err["type"] in _INVALID_BODY and len(loc) == 1 and loc[0] == "body")
        ):
            whole_body = err
        elif len(shown) < MAX_VALIDATION_DETAILS:
            shown.append(err)
    if whole_body is not None:
        message = _INVALID_BODY[whole_body["type"]]
        if whole_body["type"] not in {"json_invalid", "missing"} and not json_body:
            message = "Content-Type must be application/json"
        return InvalidRequest(message)
    details = [FieldError(field=_field_name(tuple(e["loc"])), message=_message(e)) for e in shown]
    return ValidationFailed(details)


_tracebacks = TracebackThrottle()


def database_failure(exc: Exception, where: str) -> ApiError:
    """DATABASE_ERROR for a database that failed `where` (a request, a tool call): logged, with
    at most one traceback per kind of failure a minute."""
    _tracebacks.log(log, logging.ERROR, exc, "database unavailable in %s: %s", where)
    return DatabaseUnavailable()


def integrity_failure(exc: Exception, where: str) -> ApiError:
    """A write a constraint refused: retrying the same request cannot succeed, so CONFLICT."""
    log.warning("integrity violation in %s: %s", where, exc)
    return Conflict("The change conflicts with the data already stored")


def refused_text(name: str) -> ApiError:
    """NUL in text bound for the database (`todo_api.db.RefusedText`): input no check before
    caught, named by the statement's parameter (a column's name; a comparison's carries a
    number SQLAlchemy gave it, dropped here)."""
    return InvalidField(re.sub(r"_\d+$", "", name), "must not contain the NUL character")


def api_error(exc: Exception, where: str) -> ApiError:
    """The error any failure `where` (outside a route: a tool call) is answered with, as the
    handlers below answer it in a route; an unexpected one is logged and shown as INTERNAL_ERROR."""
    from todo_api.db import DatabaseFailure, IntegrityViolation, RefusedText

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RefusedText):
        return refused_text(exc.name)
    if isinstance(exc, DatabaseFailure):
        return database_failure(exc, where)
    if isinstance(exc, IntegrityViolation):
        return integrity_failure(exc, where)
    log.error("unhandled error in %s", where, exc_info=exc)
    return InternalError()


def _example(code: ErrorCode, error: str, *details: FieldError) -> ErrorBody:
    return ErrorBody(error=error, code=code, details=list(details) or None)


# What each error status looks like, one body per code, sentences as the service writes them:
# the OpenAPI document's examples (else Swagger UI makes one up from the schema, and every
# status shows the first code, UNAUTHORIZED).
ERROR_EXAMPLES: dict[int, list[ErrorBody]] = {
    400: [
        _example(
            ErrorCode.VALIDATION_ERROR,
            "The request is not valid",
            FieldError(field="title", message="must not be blank"),
        ),
        _example(ErrorCode.INVALID_REQUEST, "The request body is not valid JSON"),
    ],
    401: [
        _example(ErrorCode.UNAUTHORIZED, "Missing bearer token"),
        _example(ErrorCode.INVALID_TOKEN, "The token is not valid"),
        _example(ErrorCode.TOKEN_EXPIRED, "The token has expired"),
    ],
    403: [_example(ErrorCode.FORBIDDEN, "Only the list's owner may change the list")],
    404: [_example(ErrorCode.NOT_FOUND, "Task not found")],
    405: [_example(ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed")],
    409: [_example(ErrorCode.CONFLICT, "The change conflicts with the data already stored")],
    410: [
        _example(
            ErrorCode.SYNC_TOKEN_EXPIRED,
            "This sync token is older than the retention; sync again from the start",
        )
    ],
    412: [
        _example(
            ErrorCode.PRECONDITION_FAILED,
            "The task has changed since the version given in If-Match",
        )
    ],
    413: [
        _example(
            ErrorCode.PAYLOAD_TOO_LARGE,
            "The request body is larger than the limit of 1048576 bytes",
        )
    ],
    415: [_example(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type")],
    416: [
        _example(
            ErrorCode.RANGE_NOT_SATISFIABLE, "The range asked for is beyond the file's 1024 bytes"
        )
    ],
    422: [
        _example(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was used with a different request",
        )
    ],
    429: [_example(ErrorCode.RATE_LIMITED, "Too many attempts; try again later")],
    500: [_example(ErrorCode.INTERNAL_ERROR, "Something went wrong on our side")],
    503: [_example(ErrorCode.DATABASE_ERROR, "The database is unavailable; try again shortly")],
}


def error_examples(status: int) -> dict[str, Any]:
    """The OpenAPI `examples` of an error status, named by code."""
    return {
        body.code.value: {"summary": body.code.value, "value": body.model_dump(mode="json")}
        for body in ERROR_EXAMPLES.get(status, [])
    }


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries that document the error body for the given statuses."""
    descriptions = {
        400: "VALIDATION_ERROR or INVALID_REQUEST",
        401: "UNAUTHORIZED, INVALID_TOKEN or TOKEN_EXPIRED",
        403: "FORBIDDEN (you may see it, not do this to it)",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        409: "CONFLICT",
        410: "SYNC_TOKEN_EXPIRED",
        412: "PRECONDITION_FAILED",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
        416: "RANGE_NOT_SATISFIABLE (with Content-Range: bytes */size)",
        422: "IDEMPOTENCY_KEY_REUSED",
        429: "RATE_LIMITED (with Retry-After)",
        500: "INTERNAL_ERROR",
        503: "DATABASE_ERROR (with Retry-After)",
    }
    return {
        status: {
            "model": ErrorBody,
            "description": descriptions.get(status, HTTPStatus(status).phrase),
        }
        for status in statuses
    }
