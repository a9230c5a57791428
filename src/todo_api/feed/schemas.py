"""The shape of a change-feed page, for the OpenAPI document (pages are written from rows)."""

import uuid

from pydantic import BaseModel, Field

from todo_api.lists.schemas import ListRead
from todo_api.tasks.schemas import TaskRead


class ChangeFeed(BaseModel):
    changes: list[TaskRead] = Field(description="Tasks created or changed, oldest change first")
    deleted: list[uuid.UUID] = Field(description="Ids of tasks deleted")
    lists: list[ListRead] = Field(description="Lists created or changed, oldest change first")
    deleted_lists: list[uuid.UUID] = Field(description="Ids of lists deleted")
    next: str = Field(description="The `since` of the next call")
    has_more: bool
