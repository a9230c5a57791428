"""The errors of the tasks domain."""

from todo_api.kit.errors import ApiError, FieldError, Forbidden, PreconditionFailed


class TaskForbidden(Forbidden):
    """A task of a list shared with the caller as a viewer (or a list they may not write to)."""

    message = "You may see this task but not change it (the list is shared to view)"


class StaleVersion(PreconditionFailed):
    """The task exists, but not at any of the versions the write was conditional on."""

    message = "The task has changed since the version given in If-Match"


class OperationFailed(ApiError):
    """A bulk operation failed, so none was applied: its own error, its details naming the
    operation's index."""

    def __init__(self, index: int, reason: ApiError) -> None:
        field = f"operations.{index}"
        details = [
            FieldError(
                field=f"{field}.{d.field}" if d.field != "body" else field, message=d.message
            )
            for d in reason.details or [FieldError(field="body", message=reason.message)]
        ]
        super().__init__(
            f"Operation {index} failed, so none was applied: {reason.message}",
            details=details,
            headers=reason.headers,
        )
        self.status, self.code = reason.status, reason.code  # the failing operation's own
        self.index = index
