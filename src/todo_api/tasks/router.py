"""The task routes: parse, call the service, shape the response.

Handlers answer with JSON bytes made straight from the rows (`task_body`); the response models
document the shapes in OpenAPI without validating the rows again. Bodies are read after the
token is checked (`read_json`).
"""

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from todo_api.auth import Caller, caller
from todo_api.config import Settings
from todo_api.db import Connection
from todo_api.kit import access
from todo_api.kit.conditional import etag, matches_none, not_modified, preconditions
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, MethodNotAllowed, TaskNotFound, error_responses
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    header,
    header_parameter,
    json_response,
    no_content,
    only,
    read_json,
)
from todo_api.kit.idempotency import StoredResponse, respond_idempotently
from todo_api.kit.paging import PAGE_HEADERS, Page, next_link, page_headers, page_query
from todo_api.tables.tasks import TaskRow
from todo_api.tasks import bulk as bulk_service
from todo_api.tasks import completions, pages, quick, service, trash
from todo_api.tasks.dependencies import TaskIdPath, list_query, parse_task_id
from todo_api.tasks.listing import TOTAL_COUNT_CAP, CursorCodec, InvalidCursor, ListQuery
from todo_api.tasks.schemas import (
    BulkCreate,
    BulkRequest,
    BulkResponse,
    BulkUpdate,
    CompletionRead,
    FilterGroups,
    QuickAdd,
    QuickAddRead,
    QuickPreview,
    TaskCreate,
    TaskMove,
    TaskRead,
    TaskUpdate,
    task_body,
)

PREFIX = "/api/tasks"
router = APIRouter(prefix=PREFIX, tags=["tasks"], responses=error_responses(401, 500, 503))

IDEMPOTENCY_KEY = header_parameter(
    "Idempotency-Key",
    "Retries with the same key get the first response instead of a new task; the same key "
    "with another request is 422 IDEMPOTENCY_KEY_REUSED",
    "6f1c2b7e-create-milk",
)
IDEMPOTENCY_KEY["schema"] = {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"}
LIST_HEADERS = {
    "X-Total-Count": {
        "description": f"Tasks matching the filters, on all pages; past {TOTAL_COUNT_CAP} "
        f'it reads "{TOTAL_COUNT_CAP}+". With `q` (or a filter with `search:`), the matches on '
        "this page and the ones "
        'before it, followed by "+" when another page follows',
        "schema": {"type": "string"},
    },
    **PAGE_HEADERS,
}
IF_MATCH, IF_NONE_MATCH, ETAG_HEADER, ANSWER, READ_RESPONSES = preconditions("task")
CREATED_HEADERS = {
    **ETAG_HEADER,
    "Location": {"description": "The task's URL", "schema": {"type": "string"}},
}


def task_response(task: TaskRow, status_code: int = 200, **headers: str) -> Response:
    """A task as JSON, with its ETag."""
    return json_response(task_body(task), status_code, {"ETag": etag(task["version"]), **headers})


@router.get(
    "",
    response_model=list[TaskRead] | FilterGroups,
    responses={
        **error_responses(400),
        200: {"description": "A page of tasks", "headers": LIST_HEADERS},
    },
    summary="List your tasks: filter, search, sort, page",
)
async def list_tasks(
    query: Annotated[ListQuery, Depends(list_query)], request: Request
) -> Response:
    return await answer_listing(request, await caller(request), query)


async def answer_listing(request: Request, call: Caller, query: ListQuery) -> Response:
    """A page of the listing, or a filter's groups each with its first page."""
    cursors = held(request.app, CursorCodec)
    if query.groups:
        groups = await call.run(pages.list_groups, query=query, cursors=cursors)
        return json_response({"groups": [_group_body(group) for group in groups]})
    try:
        page = await call.run(pages.list_tasks, query=query, cursors=cursors)
    except InvalidCursor as exc:
        raise InvalidField("cursor", str(exc)) from None
    headers = {"X-Total-Count": f"{page.total}{'+' if page.total_is_minimum else ''}"}
    if page.next_cursor is not None:
        headers["X-Next-Cursor"] = page.next_cursor
        headers["Link"] = next_link(request, page.next_cursor)
    return json_response(page.tasks, headers=headers)


def _group_body(group: tuple[str, pages.Page]) -> dict[str, Any]:
    text, page = group
    return {
        "query": text,
        "tasks": page.tasks,
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/{task_id}",
    response_model=TaskRead,
    responses=READ_RESPONSES,
    summary="Get a task",
    openapi_extra=documented(headers=[IF_NONE_MATCH]),
)
async def get_task(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    if_none_match = header(request, b"if-none-match")
    try:
        task_uuid = parse_task_id(task_id)
    except TaskNotFound:
        if request.url.path == f"{PREFIX}/bulk":  # matched here before the route below
            raise MethodNotAllowed("POST") from None
        raise
    task = await call.run(service.get_task, task_id=task_uuid)
    if not matches_none(if_none_match, task["version"]):
        return not_modified(task["version"])
    return task_response(task)


@router.post(
    "",
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 403, 409, 413, 422),
        201: {
            "description": "The task",
            "headers": CREATED_HEADERS,
        },
    },
    summary="Create a task",
    openapi_extra=documented(body=TaskCreate, headers=[IDEMPOTENCY_KEY]),
)
async def create_task(request: Request) -> Response:
    call = await caller(request)
    idempotency_key = header(request, b"idempotency-key")
    data = await read_json(request, TaskCreate)

    async def create(conn: Any) -> Response:
        task = await call.with_user_row(
            conn, lambda: service.create_task(conn, user_id=call.user_id, data=data)
        )
        return task_response(task, status.HTTP_201_CREATED, Location=f"{PREFIX}/{task['id']}")

    return await respond_idempotently(
        request, call.user_id, idempotency_key, data, create, replayable=_still_seen(call.user_id)
    )


@router.post(
    "/quick",
    response_model=QuickAddRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 403, 409, 413, 422),
        201: {
            "description": "The task, and the spans of `text` that were read",
            "headers": CREATED_HEADERS,
        },
    },
    summary="Create a task from words: dates, recurrence, #list, @tags and p1..p4 read",
    openapi_extra=documented(body=QuickAdd, headers=[IDEMPOTENCY_KEY]),
)
async def quick_add(request: Request) -> Response:
    call = await caller(request)
    idempotency_key = header(request, b"idempotency-key")
    data = await read_json(request, QuickAdd)
    accepted = header(request, b"accept-language")

    async def create(conn: Any) -> Response:
        task, spans = await call.with_user_row(
            conn,
            lambda: quick.quick_add(
                conn, user_id=call.user_id, data=data, accept_language=accepted
            ),
        )
        body = task_body(task) | {"parsed": [vars(span) for span in spans]}
        headers = {"ETag": etag(task["version"]), "Location": f"{PREFIX}/{task['id']}"}
        return json_response(body, status.HTTP_201_CREATED, headers)

    return await respond_idempotently(
        request, call.user_id, idempotency_key, data, create, replayable=_still_seen(call.user_id)
    )


@router.post(
    "/quick/preview",
    response_model=QuickPreview,
    responses=error_responses(400, 403, 413),
    summary="What quick add would make of words, without making it (nothing is written)",
    openapi_extra=documented(body=QuickAdd),
)
async def quick_preview(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, QuickAdd)
    accepted = header(request, b"accept-language")
    task_data, spans = await call.run(quick.read, data=data, accept_language=accepted)
    fields = task_data.model_dump(mode="json", exclude_unset=True)
    return json_response(fields | {"parsed": [vars(span) for span in spans]})


def _still_seen(user_id: uuid.UUID) -> Callable[[Connection, StoredResponse], Awaitable[None]]:
    """A replay shows tasks again only while they are in lists the caller can see: someone who
    has left a shared list gets nothing of it back from an old key (404, as for a task that
    does not exist)."""

    async def check(conn: Connection, kept: StoredResponse) -> None:
        body = json.loads(kept.body)
        shown = [r["task"] for r in body["results"] if r["task"]] if "results" in body else [body]
        for list_id in {task["list_id"] for task in shown} - {None}:
            if await access.list_for_tasks(conn, user_id, uuid.UUID(list_id)) is None:
                raise TaskNotFound

    return check


@router.post(
    "/bulk",
    response_model=BulkResponse,
    responses=error_responses(400, 403, 404, 409, 412, 413, 422),
    summary="Apply up to 100 operations in one transaction: all or nothing",
    openapi_extra=documented(body=BulkRequest, headers=[IDEMPOTENCY_KEY]),
)
async def bulk(request: Request) -> Response:
    call = await caller(request)
    idempotency_key = header(request, b"idempotency-key")
    data = await read_json(request, BulkRequest)
    operations = [
        bulk_service.Operation(
            op=item.op,
            id=None if isinstance(item, BulkCreate) else item.id,
            data=item.data if isinstance(item, BulkCreate | BulkUpdate) else None,
        )
        for item in data.operations
    ]

    async def apply(conn: Any) -> Response:
        results = await call.with_user_row(
            conn,
            lambda: bulk_service.apply_all(conn, user_id=call.user_id, operations=operations),
        )
        body = [
            {
                "op": r.op,
                "id": r.id,
                "status": r.status,
                "task": task_body(r.task) if r.task is not None else None,
            }
            for r in results
        ]
        return json_response({"results": body})

    return await respond_idempotently(
        request, call.user_id, idempotency_key, data, apply, replayable=_still_seen(call.user_id)
    )


only(router, "/bulk", "POST")


async def _update(request: Request, task_id: str) -> Response:
    call = await caller(request)
    data = await read_json(request, TaskUpdate)
    task = await call.run(
        service.update_task, task_id=parse_task_id(task_id), data=data, if_match=call.if_match
    )
    return task_response(task)


UPDATE_DOCS: dict[str, Any] = {
    "response_model": TaskRead,
    "responses": {
        **error_responses(400, 403, 404, 412, 413),
        200: ANSWER,
    },
    "summary": "Change a task (fields left out stay as they are)",
    "openapi_extra": documented(body=TaskUpdate, headers=[IF_MATCH]),
}


@router.patch("/{task_id}", **UPDATE_DOCS)
async def patch_task(task_id: TaskIdPath, request: Request) -> Response:
    return await _update(request, task_id)


@router.put("/{task_id}", **UPDATE_DOCS)
async def put_task(task_id: TaskIdPath, request: Request) -> Response:
    return await _update(request, task_id)


async def _set_completed(request: Request, task_id: str, completed: bool) -> Response:
    call = await caller(request)
    task = await call.run(
        service.set_completed,
        task_id=parse_task_id(task_id),
        completed=completed,
        if_match=call.if_match,
    )
    return task_response(task)


COMPLETION_DOCS: dict[str, Any] = {
    "response_model": TaskRead,
    "openapi_extra": documented(headers=[IF_MATCH]),
    "responses": {
        **error_responses(400, 403, 404, 412),
        200: ANSWER,
    },
}


@router.post(
    "/{task_id}/complete",
    summary="Complete a task (a completed one stays as it is); a repeating task stays one "
    "task, moved to its next occurrence, the one completed recorded in its completions",
    **COMPLETION_DOCS,
)
async def complete_task(task_id: TaskIdPath, request: Request) -> Response:
    return await _set_completed(request, task_id, True)


@router.post("/{task_id}/reopen", summary="Reopen a completed task (idempotent)", **COMPLETION_DOCS)
async def reopen_task(task_id: TaskIdPath, request: Request) -> Response:
    return await _set_completed(request, task_id, False)


completions_page = page_query(
    "Completions", most=completions.MAX_PAGE, default=completions.DEFAULT_PAGE
)


@router.get(
    "/{task_id}/completions",
    response_model=list[CompletionRead],
    responses={
        **error_responses(400, 404),
        200: {"description": "A page of completions, newest first", "headers": PAGE_HEADERS},
    },
    summary="The occurrences of a repeating task completed so far, newest first",
)
async def list_completions(
    task_id: TaskIdPath, request: Request, page: Annotated[Page, Depends(completions_page)]
) -> Response:
    call = await caller(request)
    rows, next_cursor = await call.run(
        completions.list_completions,
        parse_task_id(task_id),
        limit=page.limit,
        cursor=page.cursor,
    )
    return json_response(rows, headers=page_headers(request, next_cursor))


@router.post(
    "/{task_id}/completions/latest/undo",
    response_model=TaskRead,
    openapi_extra=documented(headers=[IF_MATCH]),
    responses={**error_responses(400, 403, 404, 409, 412), 200: ANSWER},
    summary="Put back the occurrence completed last: its due and start again, the task open "
    "(409 when none is recorded)",
)
async def undo_completion(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    task = await call.run(
        completions.undo_latest, task_id=parse_task_id(task_id), if_match=call.if_match
    )
    return task_response(task)


@router.post(
    "/{task_id}/move",
    response_model=TaskRead,
    responses={
        **error_responses(400, 403, 404, 412, 413),
        200: ANSWER,
    },
    summary="Place a task: another list or parent, right before or after a task, or last",
    openapi_extra=documented(body=TaskMove, headers=[IF_MATCH]),
)
async def move_task(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    task_uuid = parse_task_id(task_id)
    data = await read_json(request, TaskMove)
    task = await call.run(service.move_task, task_id=task_uuid, move=data, if_match=call.if_match)
    return task_response(task)


@router.delete(
    "/{task_id}",
    **NO_CONTENT,
    responses=error_responses(400, 403, 404, 412),
    summary="Delete a task",
    openapi_extra=documented(headers=[IF_MATCH]),
)
async def delete_task(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    await call.run(service.delete_task, task_id=parse_task_id(task_id), if_match=call.if_match)
    return no_content()


@router.post(
    "/{task_id}/restore",
    response_model=TaskRead,
    responses={**error_responses(404, 409, 413), 200: ANSWER},
    summary="Bring back a task deleted within DELETED_TASK_GRACE_SECONDS, as it was",
)
async def restore_task(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    grace = timedelta(seconds=held(request.app, Settings).deleted_task_grace_seconds)
    task = await call.run(trash.restore, task_id=parse_task_id(task_id), grace=grace)
    return task_response(task)
