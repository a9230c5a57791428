"""JSON in and out of the routes: bodies read after authentication, rows written as bytes."""

import json
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from todo_api.kit.errors import InvalidRequest, MethodNotAllowed, error_responses

Model = TypeVar("Model", bound=BaseModel)


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID type included
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(value: Any) -> bytes:
    """The service's JSON: UTF-8, RFC 3339 timestamps with `Z`, ids as strings. A timestamp
    without a zone is UTC: asyncpg gives the first and last instants (0001-01-01T00:00:00Z,
    9999-12-31T23:59:59.999999Z), which PostgreSQL keeps as -infinity and infinity, so."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


class JsonResponse(Response):
    """JSON bytes with `headers`: what `Response(body, status_code, headers,
    "application/json")` sends, header for header in the same order, with the raw headers made
    at once (Starlette's `init_headers` looks through the given ones for a length and a type
    that a JSON answer's never carry)."""

    media_type = "application/json"

    def __init__(
        self, body: bytes, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        raw = (
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            if headers
            else []
        )
        raw.append((b"content-length", b"%d" % len(body)))
        raw.append(_JSON_TYPE)
        self.raw_headers = raw


_JSON_TYPE = (b"content-type", b"application/json")


def json_response(
    value: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JsonResponse(json_bytes(value), status_code, headers)


def public_base(request: Request, public_url: str | None) -> str:
    """The service's address as people and apps reach it (no trailing slash): PUBLIC_URL, else
    this request's own."""
    return (public_url or str(request.base_url)).rstrip("/")


def header(request: Request, name: bytes) -> str | None:
    """The request's first header `name` (lower case, as ASGI servers give them), as
    `request.headers.get` gives it, without making a Headers object, nor raising and
    catching a KeyError for a header not sent (as Mapping.get does): for the hot routes."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _media_type(request: Request) -> str:
    return (header(request, b"content-type") or "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    main, _, sub = media_type.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


FORM_MEDIA_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def form_content_type(request: Request) -> None:
    """For a route that takes a form: a body of another type is 400 INVALID_REQUEST, as a
    JSON route's is, rather than a list of missing fields. (A dependency runs before the
    form's fields are checked.)"""
    if _media_type(request) not in FORM_MEDIA_TYPES:
        raise InvalidRequest("Content-Type must be application/x-www-form-urlencoded")


async def read_json(request: Request, model: type[Model]) -> Model:
    """The request body as `model`. Read by the route itself, after the token is checked, so
    that a request without a valid token is refused before its body is read."""
    body = await _body(request)
    if not body:
        raise InvalidRequest("A JSON request body is required")
    if not _is_json(_media_type(request)):
        raise InvalidRequest("Content-Type must be application/json")
    try:
        # model_validate_json, without its Python wrapper's keyword arguments
        return model.__pydantic_validator__.validate_json(body)  # type: ignore[no-any-return]
    except ValidationError as exc:
        errors = exc.errors()
    if any(error["type"] == "json_invalid" for error in errors):
        # pydantic's parser refuses some JSON the standard allows (a lone surrogate escape);
        # such a body is read again, so that its field gets the field's own error.
        try:
            return model.model_validate(json.loads(body))
        except ValidationError as exc:
            errors = exc.errors()
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep to read
            raise InvalidRequest("The request body is not valid JSON") from None
    raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors])


async def _body(request: Request) -> bytes:
    """`request.body()`, read as Starlette reads it but without its stream, an async generator
    per request (a body read already is Starlette's to give)."""
    if hasattr(request, "_body") or request._stream_consumed:
        return await request.body()
    chunks = []
    more = True
    while more:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            request._is_disconnected = True
            raise ClientDisconnect
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
    request._stream_consumed = True
    request._body = body = b"".join(chunks)
    return body


def header_parameter(name: str, description: str, example: str | None) -> dict[str, Any]:
    """An optional request header; with no example where none could be taken (a value the
    server signed)."""
    parameter = {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }
    return parameter if example is None else {**parameter, "example": example}


# A route that answers 204 and no body: `@router.delete(path, **NO_CONTENT, ...)`, and its
# handler `return no_content()`.
NO_CONTENT: dict[str, Any] = {"status_code": 204, "response_class": Response}


def no_content() -> Response:
    return Response(status_code=204)


def documented(
    *, body: type[BaseModel] | None = None, headers: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """OpenAPI for what a route reads from the request itself: its body (see `read_json`;
    the app adds the model's schema to the document's components) and headers."""
    extra: dict[str, Any] = {}
    if body is not None:
        DOCUMENTED_MODELS.add(body)
        schema = {"$ref": f"#/components/schemas/{body.__name__}"}
        content = {"application/json": {"schema": schema}}
        extra["requestBody"] = {"required": True, "content": content}
    if headers:
        extra["parameters"] = list(headers)
    return extra


DOCUMENTED_MODELS: set[type[BaseModel]] = set()


OTHER_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def only(router: APIRouter, path: str, method: str) -> None:
    """`path` answers `method` only: the others are 405 with `Allow`, not a match for a route
    after it (`/api/tasks/bulk` is no task id)."""

    # HEAD is answered wherever GET is (todo_api.edge.head), so Allow names it too.
    allowed = "GET, HEAD" if method == "GET" else method

    async def other_methods(request: Request) -> Response:
        raise MethodNotAllowed(allowed)

    other_methods.__name__ = f"{path.strip('/').replace('/', '_')}_other_methods"
    router.api_route(
        path,
        methods=sorted(OTHER_METHODS - {method}),
        include_in_schema=False,
        responses=error_responses(405),
    )(other_methods)
