"""The errors of comments."""

from todo_api.kit.errors import Forbidden, NotFound


class CommentNotFound(NotFound):
    message = "Comment not found"


class CommentForbidden(Forbidden):
    """A viewer commenting, or someone changing a comment that is not theirs."""

    message = (
        "You may read these comments but not do this (comment on a task you may change; "
        "change or delete your own comments)"
    )
