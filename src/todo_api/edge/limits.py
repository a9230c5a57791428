"""The request body limit: 413 PAYLOAD_TOO_LARGE, decided before the body is read.

A declared `Content-Length` over the limit is refused before the application runs, without
reading a byte of the body. A body of unknown length (chunked) is counted as it streams in and
refused as soon as the count passes the limit; what the client has not sent yet is never read.
Nothing is buffered here: every chunk goes on to the application as it arrives.
"""

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.kit.errors import ErrorCode

# Methods whose body no route reads: their requests pass through untouched. (The server does
# not buffer a body the application leaves unread: it stops reading the connection instead.)
_BODILESS_METHODS = frozenset({"GET", "HEAD"})
DAV_PREFIX = "/dav/"


class BodyTooLarge(Exception):
    """Raised by `receive` once the streamed body passes the limit."""


def _refusal(max_bytes: int, *, dav: bool = False) -> tuple[Message, Message]:
    """The 413's start and body for a limit: the contract's JSON, or on /dav, where CalDAV's
    clients read WebDAV's error shape (todo_api.dav), the same as XML."""
    sentence = f"The request body is larger than the limit of {max_bytes} bytes"
    if dav:
        media_type = b"application/xml; charset=utf-8"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:">'
            f'<message xmlns="urn:todo-api">{sentence}</message></d:error>'
        ).encode()
    else:
        media_type = b"application/json"
        body = json.dumps(
            {"error": sentence, "code": ErrorCode.PAYLOAD_TOO_LARGE.value, "details": None}
        ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", media_type),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body is never read: the connection cannot carry another request.
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with the contract's 413."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, by_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes with a limit of their own (an import's file), by exact path.
        self.by_path = dict(by_path or {})
        self._refusals = {
            (limit, dav): _refusal(limit, dav=dav)
            for limit in {max_bytes, *self.by_path.values()}
            for dav in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODILESS_METHODS:
            await self.app(scope, receive, send)
            return
        max_bytes = self.by_path.get(scope["path"], self.max_bytes)
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if chunked or (length is not None and not length.isdigit()):  # isdigit: ASCII only
            await self._counted(scope, receive, send, max_bytes)
        elif length is not None and int(length) > max_bytes:
            await self._refuse(scope, send, max_bytes)
        else:
            # No body, or one of a declared length the server will not exceed.
            await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, max_bytes: int) -> None:
        start, body = self._refusals[max_bytes, scope["path"].startswith(DAV_PREFIX)]
        await send(start)
        await send(body)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        """Run the application on a body of unknown length, counting it as it streams."""
        received = 0
        exceeded = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                # Whatever the application made of the failed read (a 400 from the JSON
                # parser, a 500), the answer is the 413; it is sent once, here.
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await self._refuse(scope, send, max_bytes)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._refuse(scope, send, max_bytes)
