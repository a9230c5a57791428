"""The app's exception handlers: every failure a route raises, and Starlette's own, leaves
with the contract's error body (the errors themselves are in todo_api.kit.errors)."""

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from todo_api.config import Settings
from todo_api.db import DatabaseFailure, IntegrityViolation, RefusedText
from todo_api.edge.slashes import slash_redirect
from todo_api.kit.deps import held
from todo_api.kit.errors import (
    ApiError,
    DatabaseUnavailable,
    ErrorCode,
    database_failure,
    error_body_response,
    error_response,
    integrity_failure,
    refused_text,
    validation_failure,
)
from todo_api.kit.reads import failing_replica

log = logging.getLogger("todo_api")

# Statuses Starlette raises by itself (routing, body parsing), with the code each becomes.
_HTTP_STATUS_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    412: ErrorCode.PRECONDITION_FAILED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.RATE_LIMITED,
}
_HTTP_MESSAGES = {
    400: "The request body could not be read",
    404: "Not found",
    405: "Method not allowed",
}


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_STATUS_CODES.get(status, ErrorCode.INTERNAL_ERROR if status >= 500 else None)
    if code is None:
        code = ErrorCode.INVALID_REQUEST
    message = _HTTP_MESSAGES.get(status) or HTTPStatus(status).phrase
    if status == 404 and (redirect := slash_redirect(request, _public_url(request))):
        return redirect
    headers = dict(exc.headers) if exc.headers else {}
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    if request.url.path.startswith("/oauth/"):
        # OAuth clients read OAuth's error shape (RFC 6749 §5.2).
        error = "server_error" if status >= 500 else "invalid_request"
        body = {"error": error, "error_description": message}
        return JSONResponse(body, status_code=status, headers=headers or None)
    return error_body_response(status, code, message, headers=headers or None)


def _public_url(request: Request) -> str | None:
    return held(request.app, Settings).public_url


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to (Starlette's own Allow names one route's only): those
    the OpenAPI document lists for it. A path written out whole shadows a template that also
    matches it, as in OpenAPI: /api/auth/passkeys/login is POST only, whatever DELETE
    /api/auth/passkeys/{passkey_id} would make of it."""
    literal: set[str] = set()
    templated: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and route.methods:
            (templated if route.param_convertors else literal).update(route.methods)
    methods = literal or templated
    if "GET" in methods:  # every GET answers HEAD too (todo_api.edge.head)
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_failure(exc.errors(), json_body=_is_json(request)))


def _is_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _where(request: Request) -> str:
    route = getattr(request.scope.get("route"), "path", "-")
    return f"{request.method} {route} request_id={getattr(request.state, 'request_id', '-')}"


async def _on_database_failure(request: Request, exc: Exception) -> JSONResponse:
    replica = failing_replica(request.scope)
    if replica is not None:
        # The primary answers it again (todo_api.kit.reads): a fault of the replica's (a
        # standby stopping ends its sessions), which the request does not see. One line, no
        # traceback: the replica's leaving is logged beside it.
        cause = exc.__cause__ or exc
        log.warning(
            "read replica %s failed %s (%s: %s); the primary answers it",
            replica,
            _where(request),
            type(cause).__name__,
            cause,
        )
        return error_response(DatabaseUnavailable())
    return error_response(database_failure(exc, _where(request)))


async def _on_integrity_violation(request: Request, exc: Exception) -> JSONResponse:
    return error_response(integrity_failure(exc, _where(request)))


async def _on_refused_text(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RefusedText)
    error = refused_text(exc.name)
    if request.url.path.startswith("/oauth/"):
        description = f"{exc.name} must not contain the NUL character"
        return JSONResponse({"error": "invalid_request", "error_description": description}, 400)
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(DatabaseFailure, _on_database_failure)
    app.add_exception_handler(IntegrityViolation, _on_integrity_violation)
    app.add_exception_handler(RefusedText, _on_refused_text)
