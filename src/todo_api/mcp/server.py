"""/mcp: a Model Context Protocol server (streamable HTTP transport) in the same app.

Stateless, answering JSON: each POST carries one whole exchange and no session lives in any
process, so any instance behind a load balancer answers any request (no sticky sessions, no
shared session store), and a restart or a scale-down loses nothing. The tools need nothing a
session would bring: they send no requests or notifications back to the client.

The bearer token is checked by the REST API's `authenticate` before the SDK sees the request:
without a valid one the answer is the REST API's 401, and no MCP work happens; when there is an
authorization server to name (todo_api.oauth), the 401's challenge names the scopes and
points at the protected resource metadata, where an AI app starts its sign-in. A token whose
scope is `read` may initialize, list the tools and call those that only read (`readOnlyHint`).
Its call of any other tool is, for an OAuth token, HTTP 403 `insufficient_scope` with the same
challenge (MCP's step-up: the app asks the user for more); for a personal token, a tool error
carrying FORBIDDEN. The SDK's Host
and Origin checks (against DNS rebinding) are off: the Host header decides nothing here, every
request needs a token that a rebinding page cannot have, and browsers are governed by CORS.
"""

from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import pydantic_core
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    TextContent,
)
from mcp_types.jsonrpc import jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from todo_api import __version__
from todo_api.auth import caller, require_write
from todo_api.db import DatabaseFailure
from todo_api.kit.deps import read_again, reads_only
from todo_api.kit.errors import ApiError, api_error, error_response
from todo_api.kit.http import json_bytes, json_response
from todo_api.mcp.tools import TOOLS

INSTRUCTIONS = (
    "The signed-in user's tasks: list, read, create, change, complete, reopen, move and "
    "delete them, see what is due on a day and what reminders are coming; their lists, and "
    "who shares them. Every tool acts for that user only. Ids are UUIDs; find a task's id with "
    "list_tasks (its `q` searches titles and descriptions). A failed call's text is the REST "
    "API's error: a `code` (NOT_FOUND, VALIDATION_ERROR, ...), a sentence, and `details` "
    "naming the arguments at fault."
)


async def _list_tools(
    _ctx: ServerRequestContext[Any], _params: PaginatedRequestParams | None
) -> ListToolsResult:
    return ListToolsResult(tools=[spec.tool for spec in TOOLS.values()])


async def _call_tool(
    ctx: ServerRequestContext[Any], params: CallToolRequestParams
) -> CallToolResult:
    spec = TOOLS.get(params.name)
    if spec is None:
        raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}")
    request = ctx.request
    assert request is not None  # the HTTP transport carries each call's request
    try:
        # The identity the endpoint verified for this very request (no second check).
        call = await caller(request)
        reads_only(request, spec.read_only)  # a read replica may answer a tool that reads
        if not spec.read_only:
            require_write(call.user)  # a `read` token's write: a tool error, FORBIDDEN
        try:
            value = await spec.run(call, params.arguments or {})
        except DatabaseFailure:
            if not read_again(request):  # a replica that failed a reading tool: the primary's
                raise
            value = await spec.run(call, params.arguments or {})
    except Exception as exc:
        request_id = request.scope.get("state", {}).get("request_id", "-")
        return _failure(api_error(exc, f"MCP tool {params.name} request_id={request_id}"))
    body = json_bytes(value)
    return CallToolResult(
        content=[TextContent(type="text", text=body.decode())],
        structured_content=orjson.loads(body),
    )


def _failure(error: ApiError) -> CallToolResult:
    """A tool error whose text is the REST API's error body: code, sentence, details (an
    attachment quota's usage as well)."""
    body = bytes(error_response(error).body)
    return CallToolResult(content=[TextContent(type="text", text=body.decode())], is_error=True)


class Sessions:
    """The SDK's server and its stateless transport, behind /mcp's front (todo_api.mcp.endpoint).

    Its `run()` must be entered and left in one task: the SDK serves calls in a task group."""

    def __init__(self, *, max_body_bytes: int) -> None:
        server: Server[Any] = Server(
            "todo-api",
            version=__version__,
            title="Tasks",
            instructions=INSTRUCTIONS,
            on_list_tools=_list_tools,
            on_call_tool=_call_tool,
        )
        self._sessions = StreamableHTTPSessionManager(
            app=server,
            stateless=True,
            json_response=True,
            security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
            max_request_body_size=max_body_bytes,
        )

    def run(self) -> AbstractAsyncContextManager[None]:
        return self._sessions.run()

    async def handle(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """The transport's answer to a request whose body was read already."""
        await self._sessions.handle_request(scope, _replaying(body, receive), send)


def writes(message: Any) -> bool:
    """Whether a JSON-RPC message is a call of a tool that writes."""
    if not isinstance(message, dict) or message.get("method") != "tools/call":
        return False
    params = message.get("params")
    name = params.get("name") if isinstance(params, dict) else None
    spec = TOOLS.get(name) if isinstance(name, str) else None
    return spec is not None and not spec.read_only


def message(body: bytes) -> Any:
    """The body's JSON-RPC message, or the JSON-RPC error (a Response) for a body that is not
    one: without the parser's text, which names its library and echoes the input."""
    try:
        message = pydantic_core.from_json(body)  # the parser the SDK reads the body with
    except ValueError:
        return _jsonrpc_error(PARSE_ERROR, "Parse error: the body is not JSON")
    try:
        jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return _jsonrpc_error(INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
    return message


def _jsonrpc_error(code: int, message: str) -> Response:
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}
    return json_response(error, 400)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for a request whose body was read already: that body, then what follows."""
    replayed = False

    async def replaying_receive() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replaying_receive
