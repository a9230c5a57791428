"""Errors in WebDAV's shape: a status, and a `DAV:error` body naming the precondition that
failed (RFC 4918 §16, RFC 4791 §1.3) with a sentence for a person."""

from starlette.responses import Response

from todo_api.dav.xml import CALDAV, DAV, Name, error_body

XML_TYPE = "application/xml; charset=utf-8"
NEED_PRIVILEGES = Name(DAV, "need-privileges")
VALID_DATA = Name(CALDAV, "valid-calendar-data")


class DavError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        condition: Name | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.condition = status, message, condition
        self.headers = headers or {}

    def response(self) -> Response:
        return Response(
            error_body(self.condition, self.message),
            status_code=self.status,
            media_type=XML_TYPE,
            headers=self.headers,
        )


def not_found() -> DavError:
    return DavError(404, "Nothing here")


def forbidden(message: str = "You may only read this calendar") -> DavError:
    return DavError(403, message, NEED_PRIVILEGES)
