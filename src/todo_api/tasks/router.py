"""The task routes: parse, call the service, shape the response."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from todo_api.auth.deps import CurrentUser
from todo_api.auth.tokens import Identity
from todo_api.auth.users import ensure_user
from todo_api.config import Settings
from todo_api.db import Connection, savepoint
from todo_api.errors import (
    ApiError,
    ErrorCode,
    FieldError,
    NotFound,
    error_responses,
    invalid_field,
)
from todo_api.idempotency import StoredResponse, request_fingerprint, respond_once, valid_key
from todo_api.tasks import changes, service
from todo_api.tasks.conditional import etag, if_match, matches_none, with_etag
from todo_api.tasks.listing import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    MAX_LIMIT,
    CursorCodec,
    InvalidCursor,
    ListQuery,
    Sort,
    TaskFilters,
)
from todo_api.tasks.models import TAG_MAX_LENGTH, TAGS_MAX_COUNT, Priority
from todo_api.tasks.schemas import (
    UUID_EXAMPLE,
    BulkCreate,
    BulkRequest,
    BulkResponse,
    BulkResult,
    BulkUpdate,
    ChangeFeed,
    PriorityName,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)
from todo_api.tasks.service import Versions

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=error_responses(401, 500, 503))

TASK_NOT_FOUND = "Task not found"
IfMatch = Annotated[Versions, Depends(if_match)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retries with the same key get the first response instead of a new task",
        examples=["6f1c2b7e-create-milk"],
    ),
]


async def _task_id(
    task_id: Annotated[
        str,
        Path(
            description="The task's id",
            json_schema_extra={"format": "uuid"},
            examples=[UUID_EXAMPLE],
        ),
    ],
) -> uuid.UUID:
    """The id in the path; one that does not parse names no task, like an unknown one."""
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


TaskId = Annotated[uuid.UUID, Depends(_task_id)]


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _list_query(
    completed: Annotated[
        bool | None,
        Query(description="Only completed (true) or open (false) tasks", examples=[False]),
    ] = None,
    priority: Annotated[
        list[PriorityName] | None,
        Query(description="Any of these priorities (repeat the parameter)", examples=["high"]),
    ] = None,
    tag: Annotated[
        list[Annotated[str, Query(min_length=1, max_length=TAG_MAX_LENGTH)]] | None,
        Query(
            description="All of these tags (repeat the parameter)",
            max_length=TAGS_MAX_COUNT,
            examples=["errands"],
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Case-insensitive search in title and description; % and _ are literal",
            examples=["milk"],
        ),
    ] = None,
    due_before: Annotated[
        datetime | None,
        Query(
            description="Due strictly before this time (RFC 3339)",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ] = None,
    due_after: Annotated[
        datetime | None,
        Query(
            description="Due at or after this time (RFC 3339)", examples=["2026-11-01T00:00:00Z"]
        ),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(
            description="Open tasks whose due time has passed (true), or all others (false)",
            examples=[True],
        ),
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="Order; a leading - for descending. Ties are broken by id. Tasks "
            "without a due date come last when sorting by due date.",
            examples=["-priority"],
        ),
    ] = DEFAULT_SORT,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Tasks per page", examples=[20])
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=1024,
            description="Where the previous page ended: the X-Next-Cursor it carried",
            examples=["3q2-7wAbLsMJ2nbHRF7dDlsiMjAyNi0xMS0yMVQwOTozMDowMCswMDowMCJd"],
        ),
    ] = None,
) -> ListQuery:
    tags = tuple(dict.fromkeys(t.strip().lower() for t in tag or []))
    filters = TaskFilters(
        completed=completed,
        priorities=tuple(Priority[p] for p in dict.fromkeys(priority or [])),
        tags=tuple(t for t in tags if t),
        q=q,
        due_before=_as_utc(due_before),
        due_after=_as_utc(due_after),
        overdue=overdue,
    )
    return ListQuery(filters=filters, sort=sort, limit=limit, cursor=cursor)


@router.get(
    "",
    response_model=list[TaskRead],
    responses={
        **error_responses(400),
        200: {
            "description": "A page of tasks",
            "headers": {
                "X-Total-Count": {"description": "Tasks matching the filters, on all pages"},
                "X-Next-Cursor": {"description": "Pass as `cursor` for the next page"},
                "Link": {"description": 'The next page, as `<url>; rel="next"`'},
            },
        },
    },
    summary="List your tasks: filter, search, sort, page",
)
async def list_tasks(
    user: CurrentUser,
    conn: Connection,
    query: Annotated[ListQuery, Depends(_list_query)],
    request: Request,
    response: Response,
) -> Any:
    cursors: CursorCodec = request.app.state.cursor_codec
    try:
        page = await service.list_tasks(
            conn=conn, user_id=user.user_id, query=query, cursors=cursors
        )
    except InvalidCursor as exc:
        raise invalid_field("cursor", str(exc)) from None
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return page.tasks


@router.get(
    "/changes",
    response_model=ChangeFeed,
    responses=error_responses(400, 410),
    summary="What changed since a sync token (for offline clients)",
)
async def list_changes(
    user: CurrentUser,
    conn: Connection,
    request: Request,
    since: Annotated[
        str | None,
        Query(
            max_length=512,
            description="The `next` of the previous call; leave out to get everything",
            examples=["q2V8nT1Bd0v3pWm1XH1bWzQ1LDEyLDE3OTUyNDY0NDRd"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Changes per call", examples=[100])
    ] = 100,
) -> Any:
    tokens: changes.SyncTokens = request.app.state.sync_tokens
    try:
        position, as_of = tokens.read(user.user_id, since) if since is not None else (None, None)
    except changes.InvalidSyncToken as exc:
        raise invalid_field("since", str(exc)) from None
    except changes.ExpiredSyncToken:
        raise ApiError(
            410,
            ErrorCode.SYNC_TOKEN_EXPIRED,
            "This sync token is older than the retention; sync again from the start",
        ) from None
    feed = await changes.read_changes(conn=conn, user_id=user.user_id, since=position, limit=limit)
    return ChangeFeed(
        changes=[TaskRead.model_validate(row) for row in feed.changes],
        deleted=feed.deleted,
        next=tokens.next_token(user.user_id, feed, as_of),
        has_more=feed.has_more,
    )


@router.get(
    "/{task_id}",
    response_model=TaskRead,
    responses={**error_responses(400, 404), 304: {"description": "Not modified (If-None-Match)"}},
    summary="Get a task",
)
async def get_task(
    user: CurrentUser,
    conn: Connection,
    task_id: TaskId,
    response: Response,
    if_none_match: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="Answer 304 if the task is still at this ETag",
            examples=['"3"'],
        ),
    ] = None,
) -> Any:
    task = _found(await service.get_task(conn=conn, user_id=user.user_id, task_id=task_id))
    if not matches_none(if_none_match, task.version):
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag(task.version)}
        )
    return with_etag(response, task)


@router.post(
    "",
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 409, 422),
    summary="Create a task",
)
async def create_task(
    user: CurrentUser,
    conn: Connection,
    data: TaskCreate,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    async def produce() -> StoredResponse:
        task = await _create(conn, user, data)
        return StoredResponse(
            status_code=status.HTTP_201_CREATED,
            body=TaskRead.model_validate(task).model_dump_json(),
            headers={"Location": f"{router.prefix}/{task['id']}", "ETag": etag(task["version"])},
        )

    return await _once(request, conn, user, idempotency_key, data.model_dump_json(), produce)


async def _create(conn: Connection, user: Identity, data: TaskCreate) -> dict[str, Any]:
    try:
        async with savepoint(conn):
            return await service.create_task(conn=conn, user_id=user.user_id, data=data)
    except IntegrityError:
        # The user row went away behind this process's cache of known users (an account was
        # deleted while its token lives on): the token's subject is a user again, as on first sight.
        await ensure_user(conn, user)
        return await service.create_task(conn=conn, user_id=user.user_id, data=data)


async def _once(
    request: Request,
    conn: Connection,
    user: Identity,
    key: str | None,
    canonical_body: str,
    produce: Callable[[], Awaitable[StoredResponse]],
) -> Response:
    """Produce the response, once per Idempotency-Key (when the request carries one)."""
    if key is None:
        stored = await produce()
    else:
        if not valid_key(key):
            raise invalid_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
        settings: Settings = request.app.state.settings
        stored = await respond_once(
            conn=conn,
            user_id=user.user_id,
            key=key,
            fingerprint=request_fingerprint(request.method, request.url.path, canonical_body),
            ttl=timedelta(hours=settings.idempotency_key_hours),
            produce=produce,
        )
    headers = dict(stored.headers)
    if stored.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        headers=headers,
        media_type="application/json",
    )


@router.post(
    "/bulk",
    response_model=BulkResponse,
    responses=error_responses(400, 404, 409, 412, 422),
    summary="Apply up to 100 operations in one transaction: all or nothing",
)
async def bulk(
    user: CurrentUser,
    conn: Connection,
    data: BulkRequest,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    operations = [
        service.Operation(
            op=item.op,
            id=None if isinstance(item, BulkCreate) else item.id,
            data=item.data if isinstance(item, BulkCreate | BulkUpdate) else None,
        )
        for item in data.operations
    ]

    async def produce() -> StoredResponse:
        try:
            results = await service.apply_all(
                conn=conn, user_id=user.user_id, operations=operations
            )
        except service.OperationFailed as failed:
            raise _operation_error(failed) from None
        body = BulkResponse(
            results=[
                BulkResult(
                    op=r.op,
                    id=r.id,
                    status=r.status,
                    task=TaskRead.model_validate(r.task) if r.task is not None else None,
                )
                for r in results
            ]
        )
        return StoredResponse(status_code=status.HTTP_200_OK, body=body.model_dump_json())

    return await _once(request, conn, user, idempotency_key, data.model_dump_json(), produce)


def _operation_error(failed: service.OperationFailed) -> ApiError:
    """The failing operation's own error, its details naming the operation's index."""
    field = f"operations.{failed.index}"
    reason = failed.reason or NotFound(TASK_NOT_FOUND)
    details = [
        FieldError(field=f"{field}.{d.field}" if d.field != "body" else field, message=d.message)
        for d in reason.details or [FieldError(field="body", message=reason.message)]
    ]
    return ApiError(
        reason.status,
        reason.code,
        f"Operation {failed.index} failed, so none was applied: {reason.message}",
        details=details,
    )


async def update_task(
    user: CurrentUser,
    conn: Connection,
    task_id: TaskId,
    data: TaskUpdate,
    versions: IfMatch,
    response: Response,
) -> Any:
    task = await service.update_task(
        conn=conn, user_id=user.user_id, task_id=task_id, data=data, if_match=versions
    )
    return with_etag(response, _found(task))


for method in ("PUT", "PATCH"):
    router.add_api_route(
        "/{task_id}",
        update_task,
        methods=[method],
        response_model=TaskRead,
        responses=error_responses(400, 404, 412),
        summary="Change a task (fields left out stay as they are)",
        name=f"update_task_{method.lower()}",
        operation_id=f"update_task_{method.lower()}",
    )


def _completion_route(completed: bool) -> Any:
    async def set_completed(
        user: CurrentUser, conn: Connection, task_id: TaskId, versions: IfMatch, response: Response
    ) -> Any:
        task = await service.set_completed(
            conn=conn, user_id=user.user_id, task_id=task_id, completed=completed, if_match=versions
        )
        return with_etag(response, _found(task))

    return set_completed


for action, completed, summary in (
    ("complete", True, "Complete a task (idempotent; a recurring task gets its next occurrence)"),
    ("reopen", False, "Reopen a completed task (idempotent)"),
):
    router.add_api_route(
        f"/{{task_id}}/{action}",
        _completion_route(completed),
        methods=["POST"],
        response_model=TaskRead,
        responses=error_responses(400, 404, 412),
        summary=summary,
        name=f"{action}_task",
        operation_id=f"{action}_task",
    )


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(400, 404, 412),
    summary="Delete a task",
)
async def delete_task(
    user: CurrentUser, conn: Connection, task_id: TaskId, versions: IfMatch
) -> None:
    deleted = await service.delete_task(
        conn=conn, user_id=user.user_id, task_id=task_id, if_match=versions
    )
    if not deleted:
        raise NotFound(TASK_NOT_FOUND)


def _found(task: Any) -> Any:
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


# The route shape that many Next.js frontends for this kind of backend call, with the user in
# the path. Served by the same handlers; a user id that is not the caller's finds nothing.


async def _own_user_path(
    user: CurrentUser,
    user_id: Annotated[
        str, Path(description="Your user id, or your token's subject", examples=[UUID_EXAMPLE])
    ],
) -> Identity:
    if user_id not in {str(user.user_id), user.subject}:
        raise NotFound(TASK_NOT_FOUND)
    return user


async def toggle_task(
    user: CurrentUser, conn: Connection, task_id: TaskId, versions: IfMatch, response: Response
) -> Any:
    task = await service.toggle_completed(
        conn=conn, user_id=user.user_id, task_id=task_id, if_match=versions
    )
    return with_etag(response, _found(task))


user_scoped_router = APIRouter(
    prefix="/api/{user_id}/tasks",
    tags=["tasks (user in path)"],
    dependencies=[Depends(_own_user_path)],
    responses=error_responses(400, 401, 404, 500, 503),
)
user_scoped_router.add_api_route(
    "", list_tasks, methods=["GET"], response_model=list[TaskRead], name="list_user_tasks"
)
user_scoped_router.add_api_route(
    "",
    create_task,
    methods=["POST"],
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    name="create_user_task",
)
user_scoped_router.add_api_route(
    "/{task_id}", get_task, methods=["GET"], response_model=TaskRead, name="get_user_task"
)
user_scoped_router.add_api_route(
    "/{task_id}", update_task, methods=["PUT"], response_model=TaskRead, name="update_user_task"
)
user_scoped_router.add_api_route(
    "/{task_id}",
    delete_task,
    methods=["DELETE"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    name="delete_user_task",
)
user_scoped_router.add_api_route(
    "/{task_id}/complete",
    toggle_task,
    methods=["PATCH"],
    response_model=TaskRead,
    summary="Toggle a task between completed and open",
    name="toggle_user_task",
)
