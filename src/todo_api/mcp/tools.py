"""The tools: each reads its arguments with the REST API's models, calls the service function
the matching route calls, and gives what that route answers (as plain JSON values)."""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp_types import Tool, ToolAnnotations
from pydantic import BaseModel, ValidationError

from todo_api.auth.dependencies import Caller
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, validation_failure
from todo_api.lists import service as lists_service
from todo_api.lists.schemas import ListCreate, ListRead, list_body
from todo_api.mcp.schemas import (
    LIST_TASKS_INPUT,
    NO_INPUT,
    TASK_CHANGE_INPUT,
    TASK_REF_INPUT,
    Deleted,
    ListsResult,
    ListTasksArguments,
    NoArguments,
    TaskPage,
    TaskRef,
    output_schema,
)
from todo_api.tasks import pages, service
from todo_api.tasks.dependencies import list_query, parse_task_id
from todo_api.tasks.listing import CursorCodec, InvalidCursor
from todo_api.tasks.schemas import TaskCreate, TaskRead, TaskUpdate, task_body

Model = TypeVar("Model", bound=BaseModel)


def _read(model: type[Model], arguments: Mapping[str, Any]) -> Model:
    """The arguments as `model`; a failure is the REST API's error for the same body."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        errors = exc.errors()
    raise validation_failure({**e, "loc": ("body", *e["loc"])} for e in errors)


def _task_id(arguments: Mapping[str, Any]) -> uuid.UUID:
    """The task named by arguments of `TaskRef`'s shape; an id that does not parse names no
    task (404), as in a path."""
    return parse_task_id(_read(TaskRef, arguments).task_id)


async def list_tasks(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    parameters = _read(ListTasksArguments, arguments)
    query = await list_query(**dict(parameters))
    cursors = held(caller.request.app, CursorCodec)
    try:
        page = await caller.run(pages.list_tasks, query=query, cursors=cursors)
    except InvalidCursor as exc:
        raise InvalidField("cursor", str(exc)) from None
    result: dict[str, Any] = {"tasks": [task_body(task) for task in page.tasks]}
    if page.next_cursor is not None:
        result["next_cursor"] = page.next_cursor
    return result


async def get_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id(arguments)
    task = await caller.run(service.get_task, task_id=task_id)
    return task_body(task)


async def create_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    data = _read(TaskCreate, arguments)
    task = await caller.create(service.create_task, data=data)
    return task_body(task)


async def update_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id({k: v for k, v in arguments.items() if k == "task_id"})
    data = _read(TaskUpdate, {k: v for k, v in arguments.items() if k != "task_id"})
    task = await caller.run(service.update_task, task_id=task_id, data=data)
    return task_body(task)


def _set_completed(completed: bool) -> Callable[[Caller, Mapping[str, Any]], Awaitable[Any]]:
    async def run(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
        task_id = _task_id(arguments)
        task = await caller.run(service.set_completed, task_id=task_id, completed=completed)
        return task_body(task)

    return run


async def delete_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id(arguments)
    await caller.run(service.delete_task, task_id=task_id)
    return {"deleted": task_id}


async def list_lists(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(NoArguments, arguments)
    rows = await caller.run(lists_service.list_lists)
    return {"lists": [list_body(row) for row in rows]}


async def create_list(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    data = _read(ListCreate, arguments)
    row = await caller.create(lists_service.create_list, data)
    return list_body(row)


@dataclass(frozen=True)
class ToolSpec:
    tool: Tool
    run: Callable[[Caller, Mapping[str, Any]], Awaitable[Any]]

    @property
    def read_only(self) -> bool:
        """Whether the tool only reads (a `read` token may call it)."""
        annotations = self.tool.annotations
        return annotations is not None and annotations.read_only_hint is True


def _spec(
    run: Callable[[Caller, Mapping[str, Any]], Awaitable[Any]],
    *,
    name: str,
    title: str,
    description: str,
    input_schema: dict[str, Any],
    output: type[BaseModel],
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
) -> ToolSpec:
    annotations = ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )
    tool = Tool(
        name=name,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema(output),
        annotations=annotations,
    )
    return ToolSpec(tool=tool, run=run)


_TIMES = "Times are RFC 3339 date-times (2026-12-01T17:00:00Z); results give them in UTC."

TOOLS: dict[str, ToolSpec] = {
    spec.tool.name: spec
    for spec in (
        _spec(
            list_tasks,
            name="list_tasks",
            title="List tasks",
            description="List the user's tasks, newest first unless `sort` says otherwise, "
            "optionally filtered: open or completed, priorities, tags (all of them), text in "
            "the title or description (`q`), due before or after a time, overdue. Gives at "
            "most `limit` tasks (default 50, at most 200); when more match, the result "
            "carries `next_cursor` for the next page. Use it to find a task's id before "
            "changing the task. " + _TIMES,
            input_schema=LIST_TASKS_INPUT,
            output=TaskPage,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            get_task,
            name="get_task",
            title="Get a task",
            description="Get one task of the user's by its id.",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            create_task,
            name="create_task",
            title="Create a task",
            description="Create a task for the user and give it back with its new id. Only "
            "`title` is required. `due_at` is when it is due, or `due_date` (2026-12-24) the day "
            "it is due, all day (not both); `timezone` (an IANA name such as Europe/Berlin, by "
            "default the user's) is the zone its day and recurrence are read in; `recurrence` "
            "(an RRULE such as FREQ=WEEKLY;BYDAY=MO) makes it repeat on that zone's clock and "
            "needs `due_at` or `due_date`; `tags` are free-form labels. Each call creates "
            "another task, so call it once per task. " + _TIMES,
            input_schema=TaskCreate.model_json_schema(),
            output=TaskRead,
        ),
        _spec(
            update_task,
            name="update_task",
            title="Change a task",
            description="Change some fields of a task: the fields given are set, those left "
            "out stay as they are, and null clears `description`, `due_at`, `due_date` or "
            "`recurrence`. Give `task_id` and at least one field. To mark a task done or not done, "
            "complete_task and reopen_task say so more plainly. " + _TIMES,
            input_schema=TASK_CHANGE_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            _set_completed(True),
            name="complete_task",
            title="Complete a task",
            description="Mark a task as done (doing it again changes nothing). Completing a "
            "recurring task creates its next occurrence, due at the rule's next date.",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            _set_completed(False),
            name="reopen_task",
            title="Reopen a task",
            description="Mark a completed task as not done (doing it again changes nothing).",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            delete_task,
            name="delete_task",
            title="Delete a task",
            description="Delete a task for good; it cannot be undone. When the user has "
            "finished a task, complete_task keeps it instead.",
            input_schema=TASK_REF_INPUT,
            output=Deleted,
            destructive=True,
            idempotent=True,
        ),
        _spec(
            list_lists,
            name="list_lists",
            title="List the lists",
            description='List the user\'s lists (such as "Groceries" or "Work") in their '
            "order, each with its id and `open_count`, the number of its open tasks. Use it to "
            "find a list's id for list_tasks' `list_id` filter or create_task's `list_id`; "
            'tasks in no list are the inbox (`list_id` "inbox" in list_tasks).',
            input_schema=NO_INPUT,
            output=ListsResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            create_list,
            name="create_list",
            title="Create a list",
            description="Create a list for the user, last among their lists. `name` (1 to 100 "
            "characters) must differ from every other list's name, ignoring case: call "
            "list_lists first when the list may exist already. `color` is optional, "
            '"#rrggbb".',
            input_schema=ListCreate.model_json_schema(),
            output=ListRead,
        ),
    )
}
