"""/mcp's front: the caller's token, the method and the body, before the MCP SDK sees anything.

The SDK (todo_api.mcp.server) is loaded by the first call that gets past them, not at start:
most processes never serve an MCP call, and the SDK with its dependencies is a tenth of a
process's memory. See todo_api.mcp.server for what the endpoint is.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from todo_api.auth import MCP_PATH, authenticate
from todo_api.kit.errors import ApiError, Forbidden, MethodNotAllowed, error_response

if TYPE_CHECKING:
    from types import ModuleType

    from todo_api.mcp.server import Sessions

PATH = MCP_PATH


class McpEndpoint:
    """The ASGI app at /mcp: the caller's token first, then the SDK's transport for a POST.

    Its `run()` belongs in the app's lifespan: the SDK, once loaded, serves calls in a task
    group that lives until the lifespan ends."""

    def __init__(self, *, max_body_bytes: int, challenge: str | None = None) -> None:
        self._max_body_bytes = max_body_bytes
        # What a 401 or 403 tells an OAuth client beside its error: the scopes to ask for and
        # the protected resource metadata (todo_api.oauth.metadata's `mcp_challenge`).
        self._challenge = challenge
        self._sessions: Sessions | None = None
        self._server: ModuleType | None = None
        self._loading = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._serving: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self._stopping.set()
            if self._serving is not None:
                await self._serving

    async def _loaded(self) -> "tuple[ModuleType, Sessions]":
        """The SDK's module and sessions, loaded and started by the first call."""
        async with self._loading:
            if self._server is None or self._sessions is None:
                from todo_api.mcp import server

                sessions = server.Sessions(max_body_bytes=self._max_body_bytes)
                started = asyncio.Event()

                async def serve() -> None:
                    # Its task group is entered and left in this one task, as anyio wants.
                    async with sessions.run():
                        started.set()
                        await self._stopping.wait()

                self._serving = asyncio.create_task(serve(), name="mcp")
                await started.wait()
                self._server, self._sessions = server, sessions
            return self._server, self._sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            identity = await authenticate(request)
            if scope["method"] != "POST":
                # Stateless, there is no stream to open (GET) and no session to end (DELETE):
                # the transport's answer to either is then 405.
                raise MethodNotAllowed("POST")
        except ApiError as exc:
            await self._refused(error_response(exc))(scope, receive, send)
            return
        # The body is read here, not by the SDK: a client that leaves mid-body raises
        # ClientDisconnect to the request context (a 499) rather than into the SDK's handler
        # (a 500 and a traceback).
        body = await request.body()
        server, sessions = await self._loaded()
        message = server.message(body)
        if isinstance(message, Response):
            await message(scope, receive, send)
            return
        if identity.audience is not None and identity.scope == "read" and server.writes(message):
            # An OAuth token (its audience is /mcp) that may only read: HTTP 403, whose
            # challenge lets the client ask the user for more (MCP's scope challenge). A
            # personal `read` token gets the tool error (todo_api.mcp.server): there is no one
            # to ask.
            refused = self._refused(error_response(InsufficientScope()), _INSUFFICIENT_SCOPE)
            await refused(scope, receive, send)
            return
        await sessions.handle(scope, body, receive, send)

    def _refused(self, response: Response, error: str | None = None) -> Response:
        """`response`, its challenge naming the scopes and the resource metadata, if any."""
        challenge = response.headers.get("www-authenticate")
        if error is not None:
            challenge = f"Bearer {error}"
        if challenge is not None and self._challenge is not None:
            separator = ", " if " " in challenge else " "
            challenge = f"{challenge}{separator}{self._challenge}"
        if challenge is not None:
            response.headers["WWW-Authenticate"] = challenge
        return response


_INSUFFICIENT_SCOPE = 'error="insufficient_scope"'


class InsufficientScope(Forbidden):
    message = "This token's scope is tasks:read: the tool writes, which needs tasks:write"
