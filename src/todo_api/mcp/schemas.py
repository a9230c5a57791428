"""What the tools take and give, as JSON Schema and as the models that check it.

A tool's arguments are read by the REST API's own models (the task bodies, the listing's query
parameters), so every rule is the one the REST API applies; a tool's result has the REST
response's shape.
"""

import inspect
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, create_model

from todo_api.collaboration.schemas import CommentCreate, CommentRead
from todo_api.files.schemas import AttachmentRead
from todo_api.filters.schemas import FilterRead
from todo_api.kit import text
from todo_api.kit.inputs import UUID_EXAMPLE, Input
from todo_api.lists.schemas import ListRead, ListUpdate
from todo_api.lists.section_schemas import SectionRead
from todo_api.lists.sharing_schemas import InvitationCreate, MemberRead
from todo_api.reminders.schemas import UpcomingReminder
from todo_api.tables.filters import FILTER_QUERY_MAX_LENGTH
from todo_api.tasks.dependencies import list_query
from todo_api.tasks.listing import DEFAULT_LIMIT, DEFAULT_SORT, MAX_LIMIT, Sort
from todo_api.tasks.schemas import (
    DateText,
    DateTimeText,
    FilterGroup,
    TaskMove,
    TaskRead,
    TaskUpdate,
)


def _parameters_model(function: Callable[..., Any], name: str) -> type[Input]:
    """A model of a dependency's parameters: their types, limits, defaults and descriptions."""
    fields: dict[str, Any] = {
        parameter.name: (parameter.annotation, parameter.default)
        for parameter in inspect.signature(function).parameters.values()
    }
    return create_model(name, __base__=Input, **fields)


# The listing's query parameters, as `list_query` reads them for GET /api/tasks.
ListTasksArguments = _parameters_model(list_query, "ListTasksArguments")


class TaskRef(Input):
    task_id: str = Field(
        description="The task's id (a UUID), as list_tasks or create_task gave it",
        examples=[UUID_EXAMPLE],
        json_schema_extra={"format": "uuid"},
    )


class ListRef(Input):
    list_id: str = Field(
        description="The list's id (a UUID), as list_lists or create_list gave it",
        examples=[UUID_EXAMPLE],
        json_schema_extra={"format": "uuid"},
    )


class DueOnArguments(Input):
    date: DateText = Field(
        description="The day (YYYY-MM-DD), in the user's time zone: timed tasks due at any "
        "time of it there, and all-day tasks due on it",
        examples=["2026-12-24"],
    )
    cursor: str | None = Field(
        default=None, description="The `next_cursor` of the previous call, for the next page"
    )


class RemindersArguments(Input):
    start: DateTimeText | None = Field(
        default=None,
        alias="from",
        description="From this time, included (RFC 3339); default: now",
        examples=["2026-12-01T00:00:00Z"],
    )
    end: DateTimeText | None = Field(
        default=None,
        alias="to",
        description="Until this time, excluded (RFC 3339); default: 30 days after `from`",
        examples=["2026-12-31T00:00:00Z"],
    )


class TaskWithFiles(TaskRead):
    attachments: list[AttachmentRead] = Field(description="The task's files, oldest first")


class TaskPage(BaseModel):
    tasks: list[TaskRead]
    next_cursor: str | None = Field(
        default=None,
        description="Only when more tasks match: pass it as `cursor`, with the same filters "
        "and sort, for the next page",
    )


class ListsResult(BaseModel):
    lists: list[ListRead]


class FiltersResult(BaseModel):
    filters: list[FilterRead]


class FilterTasksArguments(Input):
    query: str | None = Field(
        default=None,
        min_length=1,
        max_length=FILTER_QUERY_MAX_LENGTH,
        description="A query in the filter language, such as `(today | overdue) & #Work` or "
        "`p1 & @errands`; `,` between groups answers each group apart. Give it or `filter_id`",
        examples=["(today | overdue) & #Work"],
    )
    filter_id: str | None = Field(
        default=None,
        description="A saved filter's id (a UUID), as list_filters gave it, whose query to run",
        json_schema_extra={"format": "uuid"},
    )
    completed: bool | None = Field(
        default=None, description="Completed tasks (true) instead of open ones (the default)"
    )
    sort: Sort = Field(default=DEFAULT_SORT, description="The order, as list_tasks' `sort`")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Tasks per page")
    cursor: str | None = Field(
        default=None,
        description="The `next_cursor` of the previous call (a query of one group), for the "
        "next page",
    )


class FilterTasksResult(BaseModel):
    tasks: list[TaskRead] | None = Field(default=None, description="A query of one group's page")
    next_cursor: str | None = Field(
        default=None, description="Only when more tasks match: pass it as `cursor`"
    )
    groups: list[FilterGroup] | None = Field(
        default=None, description="A query of several groups: each group's first page"
    )


class NoArguments(Input):
    pass


class Deleted(BaseModel):
    deleted: uuid.UUID = Field(description="The id of the task deleted")


class DeletedList(BaseModel):
    deleted: uuid.UUID = Field(description="The id of the list deleted")


class RemindersResult(BaseModel):
    reminders: list[UpcomingReminder]


class MembersResult(BaseModel):
    members: list[MemberRead]


class SectionsResult(BaseModel):
    sections: list[SectionRead]


class CommentsArguments(TaskRef):
    limit: int = Field(default=50, ge=1, le=100, description="Comments per call")
    cursor: str | None = Field(
        default=None, max_length=256, description="`next_cursor` of the previous call"
    )


class CommentsResult(BaseModel):
    comments: list[CommentRead]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next comments (only when there are)"
    )


# Where a REST parameter's description speaks of HTTP, the tool's says the same for a call.
_LIST_TASKS_WORDING: dict[str, dict[str, Any]] = {
    "priority": {
        "description": "Only tasks of any of these priorities",
        "examples": [["high", "medium"]],
    },
    "tag": {
        "description": "Only tasks carrying every one of these tags",
        "examples": [["errands"]],
    },
    "cursor": {
        "description": "The `next_cursor` of the previous call, for the next page (good only "
        "with the same filters and sort)"
    },
}


def _list_tasks_schema() -> dict[str, Any]:
    schema = ListTasksArguments.model_json_schema()
    for name, wording in _LIST_TASKS_WORDING.items():
        schema["properties"][name].update(wording)
    return schema


def _with_ref(
    ref: type[Input], body: type[BaseModel], min_properties: int | None
) -> dict[str, Any]:
    """A tool's arguments: the row's id beside the fields of the REST body."""
    ref_schema, change = ref.model_json_schema(), body.model_json_schema()
    schema = {
        **change,
        "properties": {**ref_schema["properties"], **change["properties"]},
        "required": [*ref_schema["required"], *change.get("required", [])],
    }
    if min_properties is not None:
        schema["minProperties"] = min_properties
    return schema


# Each pattern of a tool's schemas compiles alike with and without ECMA-262's `u` flag, as AI
# apps compile them either way (todo_api.kit.text.PORTABLE_LINE_PATTERN).
_PORTABLE = {text.LINE_PATTERN: text.PORTABLE_LINE_PATTERN}


def portable(schema: Any) -> Any:
    """`schema` with each pattern replaced by its portable form."""
    if isinstance(schema, dict):
        return {
            key: _PORTABLE.get(value, value)
            if key == "pattern" and isinstance(value, str)
            else portable(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [portable(item) for item in schema]
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return portable(model.model_json_schema(mode="serialization"))  # type: ignore[no-any-return]


LIST_TASKS_INPUT = _list_tasks_schema()
TASK_REF_INPUT = TaskRef.model_json_schema()
TASK_CHANGE_INPUT = _with_ref(TaskRef, TaskUpdate, 2)
NO_INPUT = NoArguments.model_json_schema()
LIST_REF_INPUT = ListRef.model_json_schema()
LIST_CHANGE_INPUT = _with_ref(ListRef, ListUpdate, 2)
TASK_MOVE_INPUT = _with_ref(TaskRef, TaskMove, None)
DUE_ON_INPUT = DueOnArguments.model_json_schema()
REMINDERS_INPUT = RemindersArguments.model_json_schema()
FILTER_TASKS_INPUT = FilterTasksArguments.model_json_schema()
INVITE_INPUT = _with_ref(ListRef, InvitationCreate, None)
COMMENT_INPUT = _with_ref(TaskRef, CommentCreate, None)
COMMENTS_INPUT = CommentsArguments.model_json_schema()
