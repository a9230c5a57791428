"""The task routes: parse, call the service, shape the response."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy.exc import IntegrityError

from todo_api.auth.deps import CurrentUser
from todo_api.auth.tokens import Identity
from todo_api.auth.users import ensure_user
from todo_api.db import Connection
from todo_api.errors import ApiError, ErrorCode, FieldError, NotFound, error_responses
from todo_api.tasks import service
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
from todo_api.tasks.schemas import PriorityName, TaskCreate, TaskRead, TaskUpdate

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=error_responses(401, 500, 503))

TASK_NOT_FOUND = "Task not found"
UUID_EXAMPLE = "0192f0c1-7a4e-7c3d-9b1a-3f6e2d8c4b5a"


def _task_id(
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


def _list_query(
    completed: Annotated[
        bool | None, Query(description="Only completed (true) or open (false) tasks")
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
        Query(description="Open tasks whose due time has passed (true), or all others (false)"),
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
        raise ApiError(
            400,
            ErrorCode.VALIDATION_ERROR,
            "The request is not valid",
            details=[FieldError(field="cursor", message=str(exc))],
        ) from None
    response.headers["X-Total-Count"] = str(page.total)
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return page.tasks


@router.get(
    "/{task_id}", response_model=TaskRead, responses=error_responses(404), summary="Get a task"
)
async def get_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> Any:
    return _found(await service.get_task(conn=conn, user_id=user.user_id, task_id=task_id))


@router.post(
    "",
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400),
    summary="Create a task",
)
async def create_task(
    user: CurrentUser, conn: Connection, data: TaskCreate, response: Response
) -> Any:
    try:
        task = await service.create_task(conn=conn, user_id=user.user_id, data=data)
    except IntegrityError:
        # The user row went away behind this process's cache of known users (an account was
        # deleted while its token lives on): the token's subject is a user again, as on first sight.
        await conn.rollback()
        await ensure_user(conn, user)
        task = await service.create_task(conn=conn, user_id=user.user_id, data=data)
    response.headers["Location"] = f"{router.prefix}/{task['id']}"
    return task


async def update_task(
    user: CurrentUser, conn: Connection, task_id: TaskId, data: TaskUpdate
) -> Any:
    return _found(
        await service.update_task(conn=conn, user_id=user.user_id, task_id=task_id, data=data)
    )


for method in ("PUT", "PATCH"):
    router.add_api_route(
        "/{task_id}",
        update_task,
        methods=[method],
        response_model=TaskRead,
        responses=error_responses(400, 404),
        summary="Change a task (fields left out stay as they are)",
        name=f"update_task_{method.lower()}",
        operation_id=f"update_task_{method.lower()}",
    )


@router.post(
    "/{task_id}/complete",
    response_model=TaskRead,
    responses=error_responses(404),
    summary="Complete a task (idempotent)",
)
async def complete_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> Any:
    return _found(
        await service.set_completed(
            conn=conn, user_id=user.user_id, task_id=task_id, completed=True
        )
    )


@router.post(
    "/{task_id}/reopen",
    response_model=TaskRead,
    responses=error_responses(404),
    summary="Reopen a completed task (idempotent)",
)
async def reopen_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> Any:
    return _found(
        await service.set_completed(
            conn=conn, user_id=user.user_id, task_id=task_id, completed=False
        )
    )


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404),
    summary="Delete a task",
)
async def delete_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> None:
    if not await service.delete_task(conn=conn, user_id=user.user_id, task_id=task_id):
        raise NotFound(TASK_NOT_FOUND)


def _found(task: Any) -> Any:
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


# The route shape that many Next.js frontends for this kind of backend call, with the user in
# the path. Served by the same handlers; a user id that is not the caller's finds nothing.


def _own_user_path(
    user: CurrentUser,
    user_id: Annotated[
        str, Path(description="Your user id, or your token's subject", examples=[UUID_EXAMPLE])
    ],
) -> Identity:
    if user_id not in {str(user.user_id), user.subject}:
        raise NotFound(TASK_NOT_FOUND)
    return user


async def toggle_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> Any:
    return _found(await service.toggle_completed(conn=conn, user_id=user.user_id, task_id=task_id))


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
