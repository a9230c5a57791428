"""The shape of a change-feed page, for the OpenAPI document (pages are written from rows)."""

import uuid

from pydantic import BaseModel, Field

from todo_api.collaboration.schemas import CommentRead
from todo_api.files.schemas import AttachmentRead
from todo_api.lists.schemas import ListRead
from todo_api.lists.section_schemas import SectionRead
from todo_api.tasks.schemas import CompletionRead, TaskRead


class FeedTask(TaskRead):
    last_completion: CompletionRead | None = Field(
        default=None,
        description="A repeating task's latest completed occurrence (who completed which "
        "occurrence, and when): a completion moves the task to its next occurrence and brings "
        "it here with the one completed; an undo brings it back with the one before (null: "
        "none left). Only on a task with a `recurrence`. All of them: GET "
        "/api/tasks/{id}/completions",
    )


class ChangeFeed(BaseModel):
    changes: list[FeedTask] = Field(
        description="Tasks created or changed, yours and those of the lists shared with you, "
        "whoever changed them (a list newly shared with you brings all its tasks), oldest "
        "change first"
    )
    deleted: list[uuid.UUID] = Field(
        description="Ids of tasks deleted, or that you can no longer see (moved out of a list "
        "shared with you, or in a list no longer shared with you)"
    )
    lists: list[ListRead] = Field(
        description="Lists created or changed, or whose place or your role in them changed, "
        "oldest change first"
    )
    deleted_lists: list[uuid.UUID] = Field(
        description="Ids of lists deleted, or no longer shared with you"
    )
    comments: list[CommentRead] = Field(
        description="Comments written or changed on the tasks you see (a list newly shared "
        "with you brings its tasks' comments), oldest change first"
    )
    deleted_comments: list[uuid.UUID] = Field(
        description="Ids of comments deleted (a deleted task's comments go with it: its id in "
        "`deleted` says so)"
    )
    sections: list[SectionRead] = Field(
        description="Sections made, renamed or moved in the lists you see (a list newly "
        "shared with you brings its sections), oldest change first"
    )
    deleted_sections: list[uuid.UUID] = Field(
        description="Ids of sections deleted (a list deleted or no longer shared with you takes "
        "its sections: its id in `deleted_lists` says so)"
    )
    attachments: list[AttachmentRead] = Field(
        description="Files added to the tasks you see, or put on a comment or taken off one "
        "(a list newly shared with you brings its tasks' files, a task moved where you see it "
        "its own), oldest change first"
    )
    deleted_attachments: list[uuid.UUID] = Field(
        description="Ids of files deleted (a deleted task's files go with it: its id in "
        "`deleted` says so)"
    )
    next: str = Field(description="The `since` of the next call")
    has_more: bool
