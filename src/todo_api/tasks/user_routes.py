"""The route shape many Next.js frontends for this kind of backend call, with the user in the
path: `/api/{user_id}/tasks`. Served by the same handlers as `/api/tasks`; a user id that is
not the caller's finds nothing."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status

from todo_api.auth import Identity, caller
from todo_api.kit.errors import TaskNotFound, error_responses
from todo_api.kit.http import NO_CONTENT, documented
from todo_api.kit.inputs import UUID_EXAMPLE
from todo_api.tasks import router as tasks
from todo_api.tasks import service
from todo_api.tasks.dependencies import TaskIdPath, parse_task_id
from todo_api.tasks.schemas import FilterGroups, TaskCreate, TaskRead


async def _own_user_path(
    request: Request,
    user_id: Annotated[
        str, Path(description="Your user id, or your token's subject", examples=[UUID_EXAMPLE])
    ],
) -> Identity:
    user = (await caller(request)).user
    if user_id not in {str(user.user_id), user.subject}:
        raise TaskNotFound
    return user


router = APIRouter(
    prefix="/api/{user_id}/tasks",
    tags=["tasks (user in path)"],
    dependencies=[Depends(_own_user_path)],
    responses=error_responses(400, 401, 404, 500, 503),
)
router.add_api_route(
    "",
    tasks.list_tasks,
    methods=["GET"],
    response_model=list[TaskRead] | FilterGroups,
    name="list_user_tasks",
    responses={200: {"description": "A page of tasks", "headers": tasks.LIST_HEADERS}},
)
router.add_api_route(
    "",
    tasks.create_task,
    methods=["POST"],
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    name="create_user_task",
    responses={
        **error_responses(403, 409, 413, 422),
        201: {"description": "The task", "headers": tasks.CREATED_HEADERS},
    },
    openapi_extra=documented(body=TaskCreate, headers=[tasks.IDEMPOTENCY_KEY]),
)
router.add_api_route(
    "/{task_id}",
    tasks.get_task,
    methods=["GET"],
    response_model=TaskRead,
    name="get_user_task",
    responses=tasks.READ_RESPONSES,
    openapi_extra=documented(headers=[tasks.IF_NONE_MATCH]),
)
router.add_api_route(
    "/{task_id}", tasks.put_task, name="update_user_task", methods=["PUT"], **tasks.UPDATE_DOCS
)
router.add_api_route(
    "/{task_id}",
    tasks.delete_task,
    methods=["DELETE"],
    **NO_CONTENT,
    name="delete_user_task",
    responses=error_responses(403, 412),
    openapi_extra=documented(headers=[tasks.IF_MATCH]),
)


@router.patch(
    "/{task_id}/complete",
    summary="Toggle a task between completed and open",
    name="toggle_user_task",
    **tasks.COMPLETION_DOCS,
)
async def toggle_task(task_id: TaskIdPath, request: Request) -> Response:
    call = await caller(request)
    task = await call.run(
        service.toggle_completed, task_id=parse_task_id(task_id), if_match=call.if_match
    )
    return tasks.task_response(task)
