"""The task routes: parse, call the service, shape the response."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from sqlalchemy.exc import IntegrityError

from todo_api.auth.deps import CurrentUser
from todo_api.auth.users import ensure_user
from todo_api.db import Connection
from todo_api.errors import NotFound, error_responses
from todo_api.tasks import service
from todo_api.tasks.schemas import TaskCreate, TaskRead, TaskUpdate

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=error_responses(401, 500, 503))

TASK_NOT_FOUND = "Task not found"


def _task_id(
    task_id: Annotated[
        str, Path(description="The task's id", json_schema_extra={"format": "uuid"})
    ],
) -> uuid.UUID:
    """The id in the path; one that does not parse names no task, like an unknown one."""
    try:
        return uuid.UUID(task_id)
    except ValueError:
        raise NotFound(TASK_NOT_FOUND) from None


TaskId = Annotated[uuid.UUID, Depends(_task_id)]


@router.get("", response_model=list[TaskRead], summary="List your tasks, newest first")
async def list_tasks(user: CurrentUser, conn: Connection) -> Any:
    return await service.list_tasks(conn=conn, user_id=user.user_id)


@router.get(
    "/{task_id}", response_model=TaskRead, responses=error_responses(404), summary="Get a task"
)
async def get_task(user: CurrentUser, conn: Connection, task_id: TaskId) -> Any:
    task = await service.get_task(conn=conn, user_id=user.user_id, task_id=task_id)
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


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


@router.put(
    "/{task_id}",
    response_model=TaskRead,
    responses=error_responses(400, 404),
    summary="Change a task (fields left out stay as they are)",
)
async def update_task(
    user: CurrentUser, conn: Connection, task_id: TaskId, data: TaskUpdate
) -> Any:
    task = await service.update_task(conn=conn, user_id=user.user_id, task_id=task_id, data=data)
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


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
