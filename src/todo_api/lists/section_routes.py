"""The section routes: a list's sections (`/api/lists/{id}/sections`) and each one
(`/api/sections/{id}`): parse, call the service, shape the response."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from todo_api.auth import caller
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.lists import sections as service
from todo_api.lists.dependencies import ListIdPath, parse_list_id
from todo_api.lists.errors import SectionNotFound
from todo_api.lists.section_schemas import (
    SectionCreate,
    SectionMove,
    SectionRead,
    SectionUpdate,
    section_body,
)

PREFIX = "/api/sections"
router = APIRouter(tags=["sections"], responses=error_responses(401, 500, 503))

SectionIdPath = Annotated[str, id_in_path("The section's id")]


def _section_id(text: str) -> uuid.UUID:
    return parse_id(text, SectionNotFound)


@router.get(
    "/api/lists/{list_id}/sections",
    response_model=list[SectionRead],
    responses=error_responses(404),
    summary="A list's sections, in its order",
)
async def list_sections(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(service.list_sections, parse_list_id(list_id))
    return json_response([section_body(row) for row in rows])


@router.post(
    "/api/lists/{list_id}/sections",
    response_model=SectionRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 403, 404, 409, 413),
        201: {
            "description": "The section, last in its list",
            "headers": {
                "Location": {"description": "The section's URL", "schema": {"type": "string"}}
            },
        },
    },
    summary="Add a section to a list (409 CONFLICT for a name it has, in any case, or a "
    "101st section)",
    openapi_extra=documented(body=SectionCreate),
)
async def create_section(list_id: ListIdPath, request: Request) -> Response:
    call = await caller(request)
    list_uuid = parse_list_id(list_id)
    data = await read_json(request, SectionCreate)
    row = await call.run(service.create_section, list_uuid, data)
    return json_response(
        section_body(row), status.HTTP_201_CREATED, {"Location": f"{PREFIX}/{row['id']}"}
    )


@router.get(
    PREFIX + "/{section_id}",
    response_model=SectionRead,
    responses=error_responses(404),
    summary="Get a section",
)
async def get_section(section_id: SectionIdPath, request: Request) -> Response:
    call = await caller(request)
    row = await call.run(service.get_section, _section_id(section_id))
    return json_response(section_body(row))


@router.patch(
    PREFIX + "/{section_id}",
    response_model=SectionRead,
    responses=error_responses(400, 403, 404, 409, 413),
    summary="Rename a section",
    openapi_extra=documented(body=SectionUpdate),
)
async def update_section(section_id: SectionIdPath, request: Request) -> Response:
    call = await caller(request)
    section_uuid = _section_id(section_id)
    data = await read_json(request, SectionUpdate)
    row = await call.run(service.update_section, section_uuid, data)
    return json_response(section_body(row))


@router.delete(
    PREFIX + "/{section_id}",
    **NO_CONTENT,
    responses=error_responses(400, 403, 404),
    summary="Delete a section and its tasks (with `keep_tasks=true`, its tasks stay in the "
    "list without a section)",
)
async def delete_section(
    section_id: SectionIdPath,
    request: Request,
    keep_tasks: Annotated[
        bool, Query(description="Leave its tasks in the list, without a section")
    ] = False,
) -> Response:
    call = await caller(request)
    await call.run(service.delete_section, _section_id(section_id), keep_tasks=keep_tasks)
    return no_content()


@router.post(
    PREFIX + "/{section_id}/move",
    response_model=SectionRead,
    responses=error_responses(400, 403, 404, 413),
    summary="Place a section right before or after another of its list's (neither: last)",
    openapi_extra=documented(body=SectionMove),
)
async def move_section(section_id: SectionIdPath, request: Request) -> Response:
    call = await caller(request)
    section_uuid = _section_id(section_id)
    data = await read_json(request, SectionMove)
    row = await call.run(service.move_section, section_uuid, before=data.before, after=data.after)
    return json_response(section_body(row))
