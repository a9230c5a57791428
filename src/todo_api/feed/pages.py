"""A change-feed page as clients get it: the feed read from a position, and its JSON with the
token to use next. `GET /api/tasks/changes` answers one; a live stream (todo_api.live) sends
each as a message."""

import uuid
from dataclasses import dataclass
from typing import Any

from todo_api.collaboration.schemas import comment_body
from todo_api.db import Connection
from todo_api.files.schemas import attachment_body
from todo_api.kit import changes
from todo_api.lists.schemas import list_body
from todo_api.lists.section_schemas import section_body
from todo_api.tasks import completions
from todo_api.tasks.schemas import task_body


@dataclass(frozen=True, slots=True)
class Page:
    body: dict[str, Any]  # the JSON of GET /api/tasks/changes
    feed: changes.Feed
    next: tuple[changes.Position, float]  # what `body["next"]` says: where to read on, its age

    @property
    def token(self) -> str:
        token: str = self.body["next"]
        return token

    @property
    def empty(self) -> bool:
        feed = self.feed
        return not (
            feed.changes
            or feed.deleted
            or feed.lists
            or feed.deleted_lists
            or feed.comments
            or feed.deleted_comments
            or feed.sections
            or feed.deleted_sections
            or feed.attachments
            or feed.deleted_attachments
        )


async def read_page(
    conn: Connection,
    tokens: changes.SyncTokens,
    user_id: uuid.UUID,
    since: tuple[changes.Position, float] | None,
    limit: int,
) -> Page:
    """The page after `since` (a token's position and age, as `SyncTokens.read` gives them;
    None: from the start)."""
    position, as_of = since if since is not None else (None, None)
    feed = await changes.read_changes(conn, user_id=user_id, since=position, limit=limit)
    after = (feed.position, tokens.next_as_of(feed, as_of))
    # A repeating task's completed occurrence (or its undo) moves the task: its entry says
    # which occurrence was completed last, by whom and when (null: none, or undone). A task
    # that does not repeat is as GET /api/tasks/{id} has it.
    repeating = [row["id"] for row in feed.changes if row["recurrence"] is not None]
    latest = await completions.latest_of_tasks(conn, repeating)
    body = {
        "changes": [
            {**task_body(row), "last_completion": latest.get(row["id"])}
            if row["recurrence"] is not None
            else task_body(row)
            for row in feed.changes
        ],
        "deleted": feed.deleted,
        "lists": [list_body(row) for row in feed.lists],
        "deleted_lists": feed.deleted_lists,
        "comments": [comment_body(row) for row in feed.comments],
        "deleted_comments": feed.deleted_comments,
        "sections": [section_body(row) for row in feed.sections],
        "deleted_sections": feed.deleted_sections,
        "attachments": [attachment_body(row) for row in feed.attachments],
        "deleted_attachments": feed.deleted_attachments,
        "next": tokens.issue(user_id, *after),
        "has_more": feed.has_more,
    }
    return Page(body, feed, after)
