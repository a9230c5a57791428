"""The comment routes: parse, call the service, shape the response."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from todo_api.auth import caller
from todo_api.collaboration import activity
from todo_api.collaboration import comments as service
from todo_api.collaboration.errors import CommentNotFound
from todo_api.collaboration.schemas import (
    ActivityPage,
    CommentCreate,
    CommentRead,
    CommentUpdate,
    comment_body,
)
from todo_api.config import Settings
from todo_api.kit.deps import held
from todo_api.kit.errors import ListNotFound, TaskNotFound, error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import id_in_path, parse_id
from todo_api.kit.paging import PAGE_HEADERS, Page, page_headers, page_query

router = APIRouter(tags=["comments"], responses=error_responses(401, 404, 500, 503))

TaskIdPath = Annotated[str, id_in_path("The task's id")]
CommentIdPath = Annotated[str, id_in_path("The comment's id")]


comments_page = page_query("Comments", most=service.MAX_PAGE, default=service.DEFAULT_PAGE)


def _ids(task_id: str, comment_id: str) -> tuple[uuid.UUID, uuid.UUID]:
    return parse_id(task_id, TaskNotFound), parse_id(comment_id, CommentNotFound)


@router.post(
    "/api/tasks/{task_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 403, 413),
    summary="Comment on a task you may change (a viewer: 403); mentions of members are found "
    "in the body",
    openapi_extra=documented(body=CommentCreate),
)
async def create_comment(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    task_uuid = parse_id(task_id, TaskNotFound)
    data = await read_json(request, CommentCreate)
    row = await call.create(service.create_comment, task_uuid, data)
    return json_response(comment_body(row), status.HTTP_201_CREATED)


@router.get(
    "/api/tasks/{task_id}/comments",
    response_model=list[CommentRead],
    responses={
        **error_responses(400),
        200: {"description": "A page of comments, oldest first", "headers": PAGE_HEADERS},
    },
    summary="The task's comments, oldest first (anyone who sees the task)",
)
async def list_comments(
    task_id: TaskIdPath,
    request: Request,
    page: Annotated[Page, Depends(comments_page)],
) -> Response:
    call = await caller(request)
    task_uuid = parse_id(task_id, TaskNotFound)
    rows, next_cursor = await call.run(
        service.list_comments, task_uuid, limit=page.limit, cursor=page.cursor
    )
    headers = page_headers(request, next_cursor)
    return json_response([comment_body(row) for row in rows], headers=headers)


@router.patch(
    "/api/tasks/{task_id}/comments/{comment_id}",
    response_model=CommentRead,
    responses=error_responses(400, 403, 413),
    summary="Change your comment's body",
    openapi_extra=documented(body=CommentUpdate),
)
async def update_comment(
    task_id: TaskIdPath, comment_id: CommentIdPath, request: Request
) -> Response:
    call = await caller(request)
    task_uuid, comment_uuid = _ids(task_id, comment_id)
    data = await read_json(request, CommentUpdate)
    row = await call.run(service.update_comment, task_uuid, comment_uuid, data)
    return json_response(comment_body(row))


@router.delete(
    "/api/tasks/{task_id}/comments/{comment_id}",
    **NO_CONTENT,
    responses=error_responses(403),
    summary="Delete a comment: yours, or any on a task of a list you own",
)
async def delete_comment(
    task_id: TaskIdPath, comment_id: CommentIdPath, request: Request
) -> Response:
    call = await caller(request)
    task_uuid, comment_uuid = _ids(task_id, comment_id)
    await call.run(service.delete_comment, task_uuid, comment_uuid)
    return no_content()


ListIdPath = Annotated[str, id_in_path("The list's id, or `inbox` for your inbox")]
ActivityLimit = Annotated[
    int, Query(ge=1, le=activity.MAX_PAGE, description="Items per page", examples=[20])
]
ActivityCursor = Annotated[
    str | None,
    Query(max_length=32, description="`next` of the previous page: older items"),
]


@router.get(
    "/api/lists/{list_id}/activity",
    response_model=ActivityPage,
    responses=error_responses(400),
    summary="What happened in a list (any member) or your inbox (`inbox`), newest first",
)
async def list_activity(
    list_id: ListIdPath,
    request: Request,
    limit: ActivityLimit = activity.DEFAULT_PAGE,
    cursor: ActivityCursor = None,
) -> Response:
    call = await caller(request)
    list_uuid = None if list_id == "inbox" else parse_id(list_id, ListNotFound)
    settings = held(request.app, Settings)
    page = await call.run(
        activity.of_list,
        list_uuid,
        limit=limit,
        cursor=cursor,
        retention_days=settings.activity_retention_days,
    )
    return json_response(page)


@router.get(
    "/api/tasks/{task_id}/activity",
    response_model=ActivityPage,
    responses=error_responses(400),
    summary="What happened to a task (whoever sees it), newest first",
)
async def task_activity(
    task_id: TaskIdPath,
    request: Request,
    limit: ActivityLimit = activity.DEFAULT_PAGE,
    cursor: ActivityCursor = None,
) -> Response:
    call = await caller(request)
    task_uuid = parse_id(task_id, TaskNotFound)
    settings = held(request.app, Settings)
    page = await call.run(
        activity.of_task,
        task_uuid,
        limit=limit,
        cursor=cursor,
        retention_days=settings.activity_retention_days,
    )
    return json_response(page)
