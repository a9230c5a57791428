"""HEAD wherever GET is answered (RFC 9110 §9.1, §9.3.2): the application answers the GET,
and only the head of that answer goes out, with the headers a GET has.

FastAPI's routes answer the methods they declare, and GET alone does not bring HEAD, so one
layer does it for every route rather than a HEAD beside each GET. An answer that streams (live
updates, the export) ends with its head: the application is then told that the client has
gone, and stops.
"""

from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_GONE: Message = {"type": "http.disconnect"}


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = anyio.Event()

        async def head_only(message: Message) -> None:
            if ended.is_set():
                return
            if message["type"] == "http.response.body":
                message = {**message, "body": b"", "more_body": False}
                ended.set()
            await send(message)

        async def receive_until_ended() -> Message:
            if ended.is_set():
                return _GONE
            got: dict[str, Message] = {}
            async with anyio.create_task_group() as group:

                async def client() -> None:
                    got["message"] = await receive()
                    group.cancel_scope.cancel()

                async def end() -> None:
                    await ended.wait()
                    got["message"] = _GONE
                    group.cancel_scope.cancel()

                group.start_soon(client)
                group.start_soon(end)
            return got["message"]

        # An ASGI 2.4 server tells a streaming answer that its client left by failing a send;
        # a HEAD's sends never fail, so the answer listens for the disconnect instead.
        asgi: dict[str, Any] = {**scope.get("asgi", {}), "spec_version": "2.3"}
        as_get = {**scope, "method": "GET", "asgi": asgi}
        try:
            await self.app(as_get, receive_until_ended, head_only)
        finally:  # what routing found (the route, for the log and metrics) as for a GET
            scope.update({k: v for k, v in as_get.items() if k not in ("method", "asgi")})
