"""The request body limit: 413 PAYLOAD_TOO_LARGE, decided before the body is read.

A declared `Content-Length` over the limit is refused before the application runs, without
reading a byte of the body. A body of unknown length (chunked) is counted as it streams in and
refused as soon as the count passes the limit; what the client has not sent yet is never read.
Nothing is buffered here: every chunk goes on to the application as it arrives.
"""

import re
from collections.abc import Callable, Mapping, Sequence

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.kit.errors import ErrorCode, error_body_response

# Methods whose body no route reads: their requests pass through untouched. (The server does
# not buffer a body the application leaves unread: it stops reading the connection instead.)
_BODILESS_METHODS = frozenset({"GET", "HEAD"})
DAV_PREFIX = "/dav/"


# How much of a browser's refused form is read (and dropped) so that it shows the answer.
PAGE_DRAIN_BYTES = 256 * 1024 * 1024


async def _drain(receive: Receive, most: int) -> None:
    read = 0
    while read <= most:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyTooLarge(Exception):
    """Raised by `receive` once the streamed body passes the limit."""


def json_refusal(sentence: str) -> Response:
    """The contract's error body."""
    return error_body_response(413, ErrorCode.PAYLOAD_TOO_LARGE, sentence)


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length (0 without a body); None when it is not declared (chunked)
    or not a number."""
    length: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return None
    if length is None:
        return 0
    return int(length) if length.isdigit() else None  # isdigit: ASCII only


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with a 413: the contract's, or under /dav/ the
    one `dav_refusal` makes for its sentence (WebDAV's error shape, which CalDAV's clients read:
    the app passes todo_api.dav's, which the edge does not import), or the page `page_refusal`
    answers a browser's form with (todo_api.web's)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        by_path: Mapping[str, int] | None = None,
        by_pattern: Sequence[tuple[re.Pattern[str], int]] = (),
        dav_refusal: Callable[[str], Response] = json_refusal,
        page_refusal: Callable[[Scope], Response | None] = lambda scope: None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes with a limit of their own (an import's file), by exact path.
        self.by_path = dict(by_path or {})
        # ... and by pattern (a task's attachments), for paths with an id in them.
        self.by_pattern = tuple(by_pattern)
        self.dav_refusal = dav_refusal
        # A form of the web app sent by the browser itself: a page, not JSON (None: JSON).
        self.page_refusal = page_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.passes(scope):
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope["path"])
        length = _declared_length(scope)
        if length is None:
            await self._counted(scope, receive, send, max_bytes)
        else:
            await self._refuse(scope, receive, send, max_bytes)

    def passes(self, scope: Scope) -> bool:
        """Whether the request goes on untouched: a method whose body no route reads, no
        body, or one of a declared length the server will not exceed."""
        if scope["method"] in _BODILESS_METHODS:
            return True
        length = _declared_length(scope)
        return length is not None and length <= self._limit(scope["path"])

    def _limit(self, path: str) -> int:
        found = self.by_path.get(path)
        if found is not None:
            return found
        for pattern, limit in self.by_pattern:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        page = self.page_refusal(scope)
        if page is not None:
            # A browser shows no answer that comes while it is still sending (the connection
            # closed with its body unread is reset): the rest is read, up to a bound, and dropped.
            await _drain(receive, PAGE_DRAIN_BYTES)
        refusal = self.dav_refusal if scope["path"].startswith(DAV_PREFIX) else json_refusal
        response = page or refusal(
            f"The request body is larger than the limit of {max_bytes} bytes"
        )
        # The rest of the body is never read: the connection cannot carry another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)

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
                    await self._refuse(scope, receive, send, max_bytes)
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
            await self._refuse(scope, receive, send, max_bytes)
