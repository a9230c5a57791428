"""The list routes: parse, call the service, shape the response (JSON bytes from the rows)."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from todo_api.auth import caller
from todo_api.kit.conditional import etag, matches_none, not_modified, preconditions
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.lists import service
from todo_api.lists.dependencies import ListIdPath, parse_list_id
from todo_api.lists.schemas import ListCreate, ListMove, ListRead, ListUpdate, list_body
from todo_api.tables.lists import ListRow

PREFIX = "/api/lists"
router = APIRouter(prefix=PREFIX, tags=["lists"], responses=error_responses(401, 500, 503))

IF_MATCH, IF_NONE_MATCH, ETAG_HEADER, ANSWER, READ_RESPONSES = preconditions("list")
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(400, 404, 409, 412, 413),
    200: ANSWER,
}


def list_response(row: ListRow, status_code: int = 200, **headers: str) -> Response:
    """A list as JSON, with its ETag."""
    return json_response(list_body(row), status_code, {"ETag": etag(row["version"]), **headers})


@router.get("", response_model=list[ListRead], summary="Your lists, in your order")
async def list_lists(request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(service.list_lists)
    return json_response([list_body(row) for row in rows])


@router.post(
    "",
    response_model=ListRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 409, 413),
        201: {
            "description": "The list, last among yours",
            "headers": {
                **ETAG_HEADER,
                "Location": {"description": "The list's URL", "schema": {"type": "string"}},
            },
        },
    },
    summary="Create a list (409 CONFLICT when you have one of that name, in any case)",
    openapi_extra=documented(body=ListCreate),
)
async def create_list(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, ListCreate)
    row = await call.create(service.create_list, data)
    return list_response(row, status.HTTP_201_CREATED, Location=f"{PREFIX}/{row['id']}")


@router.get(
    "/{list_id}",
    response_model=ListRead,
    responses=READ_RESPONSES,
    summary="Get a list",
    openapi_extra=documented(headers=[IF_NONE_MATCH]),
)
async def get_list(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    if_none_match = request.headers.get("if-none-match")
    list_uuid = parse_list_id(list_id)
    row = await call.run(service.get_list, list_uuid)
    if not matches_none(if_none_match, row["version"]):
        return not_modified(row["version"])
    return list_response(row)


@router.patch(
    "/{list_id}",
    response_model=ListRead,
    responses={**WRITE_RESPONSES, **error_responses(403)},
    summary="Rename, recolour or move a list inside another (fields left out stay as they are)",
    openapi_extra=documented(body=ListUpdate, headers=[IF_MATCH]),
)
async def update_list(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, ListUpdate)
    row = await call.run(service.update_list, list_uuid, data, call.if_match)
    return list_response(row)


@router.delete(
    "/{list_id}",
    **NO_CONTENT,
    responses=error_responses(400, 403, 404, 412),
    summary="Delete a list and every task in it (the lists inside it move up a level, or with "
    "`with_children=true` go with it)",
    openapi_extra=documented(headers=[IF_MATCH]),
)
async def delete_list(
    list_id: ListIdPath,
    request: Request,
    with_children: Annotated[
        bool, Query(description="Delete the lists inside it and their tasks too")
    ] = False,
) -> Response:
    call = await caller(request)
    await call.run(
        service.delete_list, parse_list_id(list_id), call.if_match, with_children=with_children
    )
    return no_content()


@router.post(
    "/{list_id}/move",
    response_model=ListRead,
    responses=WRITE_RESPONSES,
    summary="Place a list right before or after another of yours (neither: last)",
    openapi_extra=documented(body=ListMove, headers=[IF_MATCH]),
)
async def move_list(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, ListMove)
    row = await call.run(
        service.move_list, list_uuid, before=data.before, after=data.after, if_match=call.if_match
    )
    return list_response(row)
