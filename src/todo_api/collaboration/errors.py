"""The errors of comments."""

from todo_api.kit.errors import Forbidden, NotFound


class TaskNotFound(NotFound):
    """No such task the caller sees: the same answer as the task routes give."""

    message = "Task not found"


class CommentNotFound(NotFound):
    message = "Comment not found"


class CommentForbidden(Forbidden):
    """A viewer commenting, or someone changing a comment that is not theirs."""

    message = (
        "You may read these comments but not do this (comment on a task you may change; "
        "change or delete your own comments)"
    )


class ListNotFound(NotFound):
    """No such list the caller sees: the same answer as the list routes give."""

    message = "List not found"
