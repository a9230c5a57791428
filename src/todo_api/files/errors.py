"""The attachments' errors, each in the contract's body."""

from typing import Any

from todo_api.kit.errors import ApiError, Conflict, ErrorCode, Forbidden, NotFound


class AttachmentNotFound(NotFound):
    """No such file for this user: the same answer for a file of a task they do not see."""

    message = "Attachment not found"


class AttachmentForbidden(Forbidden):
    message = "Only the uploader or the list's owner may delete this file"


class TaskReadOnly(Forbidden):
    message = "You may read this task but not add files to it"


class TooManyAttachments(Conflict):
    message = "A task has at most 100 files"


class FileTooLarge(ApiError):
    status, code = 413, ErrorCode.PAYLOAD_TOO_LARGE

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"The file is larger than the limit of {max_bytes} bytes")


class QuotaExceeded(ApiError):
    """The files of the task's owner would pass their quota; `details` says how far."""

    status, code = 413, ErrorCode.QUOTA_EXCEEDED

    def __init__(self, *, used: int, quota: int, size: int | None) -> None:
        super().__init__(
            f"The owner's files would take more than their quota of {quota} bytes ({used} used)"
        )
        self.body_details: dict[str, Any] = {
            "used_bytes": used,
            "quota_bytes": quota,
            "file_bytes": size,
        }


class RangeNotSatisfiable(ApiError):
    status, code = 416, ErrorCode.RANGE_NOT_SATISFIABLE

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The range asked for is beyond the file's {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        )


class StorageUnavailable(ApiError):
    """The attachments' storage did not answer (or refused): try again shortly."""

    status, code = 503, ErrorCode.STORAGE_UNAVAILABLE
    message = "The file storage is unavailable; try again shortly"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "5"})
