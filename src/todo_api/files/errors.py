"""The attachments' errors, each in the contract's body."""

from todo_api.kit.errors import ApiError, Conflict, ErrorCode, Forbidden, NotFound
from todo_api.kit.quota import QuotaExceeded as QuotaExceeded  # the quota is the kit's


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
