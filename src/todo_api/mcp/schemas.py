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

from todo_api.kit.inputs import UUID_EXAMPLE, Input
from todo_api.lists.schemas import ListRead
from todo_api.tasks.dependencies import list_query
from todo_api.tasks.schemas import TaskRead, TaskUpdate


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


class TaskPage(BaseModel):
    tasks: list[TaskRead]
    next_cursor: str | None = Field(
        default=None,
        description="Only when more tasks match: pass it as `cursor`, with the same filters "
        "and sort, for the next page",
    )


class ListsResult(BaseModel):
    lists: list[ListRead]


class NoArguments(Input):
    pass


class Deleted(BaseModel):
    deleted: uuid.UUID = Field(description="The id of the task deleted")


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


def _task_change_schema() -> dict[str, Any]:
    """update_task's arguments: the task's id beside the fields of a REST update."""
    ref, change = TaskRef.model_json_schema(), TaskUpdate.model_json_schema()
    return {
        **change,
        "properties": {**ref["properties"], **change["properties"]},
        "required": ["task_id"],
        "minProperties": 2,
    }


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


LIST_TASKS_INPUT = _list_tasks_schema()
TASK_REF_INPUT = TaskRef.model_json_schema()
TASK_CHANGE_INPUT = _task_change_schema()
NO_INPUT = NoArguments.model_json_schema()
