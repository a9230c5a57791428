"""The saved-filter routes: parse, call the service, shape the response; a filter's tasks
are the task listing's (todo_api.tasks.router) with the saved query."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from todo_api.auth import caller
from todo_api.filters import service
from todo_api.filters.errors import FilterNotFound
from todo_api.filters.schemas import (
    FilterCreate,
    FilterMove,
    FilterRead,
    FilterUpdate,
    filter_body,
)
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.tasks import router as tasks_router
from todo_api.tasks.dependencies import list_query, with_filter
from todo_api.tasks.listing import ListQuery
from todo_api.tasks.schemas import FilterGroups, TaskRead

PREFIX = "/api/filters"
router = APIRouter(prefix=PREFIX, tags=["filters"], responses=error_responses(401, 500, 503))

FilterIdPath = Annotated[str, id_in_path("The saved filter's id")]


def _filter_id(text: str) -> uuid.UUID:
    return parse_id(text, FilterNotFound)


@router.get("", response_model=list[FilterRead], summary="Your saved filters, in your order")
async def list_filters(request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(service.list_filters)
    return json_response([filter_body(row) for row in rows])


@router.post(
    "",
    response_model=FilterRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 409, 413),
        201: {
            "description": "The filter, last among yours",
            "headers": {
                "Location": {"description": "The filter's URL", "schema": {"type": "string"}}
            },
        },
    },
    summary="Save a filter (409 CONFLICT for a name you have, in any case, or a 101st filter)",
    openapi_extra=documented(body=FilterCreate),
)
async def create_filter(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, FilterCreate)
    row = await call.create(service.create_filter, data)
    return json_response(
        filter_body(row), status.HTTP_201_CREATED, {"Location": f"{PREFIX}/{row['id']}"}
    )


@router.get(
    "/{filter_id}",
    response_model=FilterRead,
    responses=error_responses(404),
    summary="Get a saved filter",
)
async def get_filter(filter_id: FilterIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.get_filter, _filter_id(filter_id))
    return json_response(filter_body(row))


@router.patch(
    "/{filter_id}",
    response_model=FilterRead,
    responses=error_responses(400, 404, 409, 413),
    summary="Rename a saved filter, change its query or colour (fields left out stay)",
    openapi_extra=documented(body=FilterUpdate),
)
async def update_filter(filter_id: FilterIdPath, request: Request) -> Response:
    call = await caller(request)
    filter_uuid = _filter_id(filter_id)
    data = await read_json(request, FilterUpdate)
    row = await call.run(service.update_filter, filter_uuid, data)
    return json_response(filter_body(row))


@router.delete(
    "/{filter_id}",
    **NO_CONTENT,
    responses=error_responses(404),
    summary="Delete a saved filter (its tasks stay)",
)
async def delete_filter(filter_id: FilterIdPath, request: Request) -> Response:
    call = await caller(request)
    await call.run(service.delete_filter, _filter_id(filter_id))
    return no_content()


@router.post(
    "/{filter_id}/move",
    response_model=FilterRead,
    responses=error_responses(400, 404, 413),
    summary="Place a saved filter right before or after another of yours (neither: last)",
    openapi_extra=documented(body=FilterMove),
)
async def move_filter(filter_id: FilterIdPath, request: Request) -> Response:
    call = await caller(request)
    filter_uuid = _filter_id(filter_id)
    data = await read_json(request, FilterMove)
    row = await call.run(service.move_filter, filter_uuid, before=data.before, after=data.after)
    return json_response(filter_body(row))


@router.get(
    "/{filter_id}/tasks",
    response_model=list[TaskRead] | FilterGroups,
    responses={
        **error_responses(400, 404),
        200: {
            "description": "A page of the tasks the saved query answers (a query of groups: "
            '`{"groups": [...]}`, as `GET /api/tasks?filter=`)',
            "headers": tasks_router.LIST_HEADERS,
        },
    },
    summary="The saved filter's tasks: GET /api/tasks with its query and every other "
    "parameter (a `filter` of one group narrows it)",
)
async def filter_tasks(
    filter_id: FilterIdPath, query: Annotated[ListQuery, Depends(list_query)], request: Request
) -> Response:
    call = await caller(request)
    filter_uuid = _filter_id(filter_id)
    saved = await call.run(service.get_filter, filter_uuid)
    return await tasks_router.answer_listing(request, call, with_filter(query, saved["query"]))
