"""What a client sends and gets back for its data."""

from typing import Annotated

from pydantic import BaseModel, Field

from todo_api.kit.inputs import Input


class AccountDeletion(Input):
    confirm: Annotated[
        str,
        Field(
            max_length=320,
            description="Your account's email (any case), to say you mean it",
            examples=["ada@example.com"],
        ),
    ]


class SkippedPart(BaseModel):
    line: int | None = Field(
        default=None, description="The file's 1-based line (a CSV, an iCalendar file)"
    )
    index: int | str | None = Field(
        default=None, description="Where in a JSON file: a position, or a path"
    )
    reason: str


class ImportResult(BaseModel):
    source: str | None = Field(default=None, description="The file's format, as read")
    lists: int = Field(description="Lists made")
    sections: int = Field(default=0, description="Sections made")
    tasks: int = Field(description="Tasks made, subtasks included")
    comments: int = Field(default=0, description="Comments made")
    skipped: list[SkippedPart] = Field(
        description="What was left out, whole records or parts of imported ones"
    )
