"""Request context: the request id, one log line and the metrics of each request, the headers
every response carries, and the last-resort 500."""

import functools
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.edge.metrics import UNMATCHED, Metrics
from todo_api.kit.errors import InvalidRequest, error_response, internal_error_response
from todo_api.kit.reads import ReadRouting
from todo_api.process.logs import (
    RequestLog,
    loggable,
    loggable_path,
    loggable_query,
    loggable_url,
)

log = logging.getLogger("todo_api.request")
request_log = RequestLog(log.name)
# The request's line: method, path (and query), status, time, request id and user id; then
# the Referer, when the request has one (REFERER_PART).
REQUEST_LINE = "%s %s %s %.1fms request_id=%s user_id=%s"
REFERER_PART = " referer=%s"

REQUEST_ID_HEADER = "x-request-id"
# The status logged and counted for a request whose client went away (or was sent away by the
# server's body timeout) before the application answered; nothing is sent. nginx's number.
CLIENT_GONE = 499
# On every response: browsers must not guess a content type other than the one declared.
_NOSNIFF = (b"x-content-type-options", b"nosniff")
# On every response to a request whose token was accepted (`authenticate` sets the state's
# user_id): no shared cache may keep one user's data, and a private one revalidates (ETags
# keep that cheap). A route's own Cache-Control (the token responses' no-store) stands.
_PRIVATE = (b"cache-control", b"private, no-cache")
# What Starlette's CORS adds to the answer of a request without an Origin header.
_VARY_ORIGIN = (b"vary", b"Origin")
# Methods that may change something: after one succeeds, `after_write` hears of its caller.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE", "PROPPATCH", "MKCALENDAR"})
# A caller's id is echoed only when it is short and harmless in a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def varying_by_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """Adds to an answer's `headers` that it varies by Origin, as Starlette's CORS does for a
    request without Origin (a Vary already there is joined with it)."""
    if any(name == b"vary" for name, _ in headers):
        mutable = MutableHeaders(raw=headers)  # edits `headers` itself
        mutable["Vary"] = ", ".join([*mutable.getlist("Vary"), "Origin"])
    else:
        headers.append(_VARY_ORIGIN)


_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode()
# A version 4 UUID's fixed bits (RFC 9562): the version, 4, and the variant, 10.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A random version 4 UUID in hex, as `uuid.uuid4().hex` writes it, without making a UUID."""
    random = int.from_bytes(os.urandom(16))
    return f"{random & _UUID4_CLEAR | _UUID4_SET:032x}"


_REFERER = b"referer"


def _logged_url(scope: Scope) -> tuple[str, str | None, str | None]:
    """The request's path, query and Referer as its log line shows them: without the secrets
    they may carry (todo_api.process.logs)."""
    path = loggable_path(scope["path"])
    raw = scope.get("query_string")
    query = loggable_query(raw.decode("latin-1")) if raw else None
    referer = None
    for name, value in scope.get("headers", ()):
        if name == _REFERER:
            referer = loggable_url(value.decode("latin-1"))
            break
    return path, query, referer


# A caller's id as its log lines write it: `str` of a UUID is a Python method that spells out
# all 32 digits, paid on every request; the same few callers' texts are kept instead.
_user_text = functools.lru_cache(maxsize=4096)(str)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == _REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            return text if _SAFE_REQUEST_ID.match(text) else None
    return None


class RequestContextMiddleware:
    """Tags each request with an id, logs and counts it once, and turns any escaped exception
    into a 500.

    Written as plain ASGI so that the 500 it sends still carries the contract's body and the
    request id (Starlette's own error middleware knows neither).

    `after_write(user_id)` is called once a request that may have changed something (POST,
    PUT, PATCH, DELETE) was answered with success: its work has committed (live updates wake
    the streams it concerns; see todo_api.live).

    `reads` (with read replicas): a request that only reads is routed there, its answer is
    given by the primary instead when the replica failed it, and a person the primary answered
    has their position kept before the answer leaves (todo_api.kit.reads).
    """

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        after_write: Callable[[uuid.UUID], None] | None = None,
        reads: ReadRouting | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.after_write = after_write
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.serve(self.app, scope, receive, send)

    async def serve(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, *, vary: bool = False
    ) -> None:
        """`app` answers the request in its context. `vary`: the answer also says that it
        varies by Origin, as the CORS layer says it of a request without Origin (for the
        edge's hot lane, which passes that layer by: todo_api.edge.hot)."""
        request_id = _incoming_request_id(scope) or new_request_id()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False
        client_gone = False  # disconnected before the answer started: it goes nowhere
        reads = self.reads
        dropped = False  # a replica's failed answer, given again by the primary
        if reads is not None and reads.begin(scope) is not None:
            receive = reads.recording(scope, receive)
        # The scope as it came, for an answer again: the routing below changes the one it is
        # given (a mount's path and root_path), which would send the second answer astray.
        arrived = dict(scope) if reads is not None else scope

        async def receive_watching() -> Message:
            nonlocal client_gone
            message = await receive()
            if message["type"] == "http.disconnect" and not response_started:
                client_gone = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started, dropped
            if dropped:
                return
            if message["type"] == "http.response.start":
                if reads is not None:
                    if reads.retry(scope, message["status"]):
                        dropped = True
                        return
                    await reads.answered(scope, message["status"])
                response_started = True
                status = message["status"]
                headers = [
                    *message.get("headers", ()),
                    (_REQUEST_ID_HEADER, request_id.encode()),
                    _NOSNIFF,
                ]
                cached = varies = False  # whether the answer has a Cache-Control, a Vary
                for name, _ in headers:
                    if name == b"cache-control":
                        cached = True
                    elif name == b"vary":
                        varies = True
                if "user_id" in state and not cached:
                    headers.append(_PRIVATE)
                if varies and vary:
                    varying_by_origin(headers)
                elif vary:
                    headers.append(_VARY_ORIGIN)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive_watching, send_with_id)
            if dropped and reads is not None:
                dropped = False
                await app(dict(arrived), reads.replaying(scope, receive_watching), send_with_id)
        except Exception as exc:
            # What an application makes of a client that left (ClientDisconnect, or a
            # failure of its own) is no error of the service's: counted as 499, not logged.
            if isinstance(exc, ClientDisconnect) and not response_started:
                client_gone = True
            if not client_gone:
                log.exception(
                    "unhandled error in %s %s request_id=%s",
                    loggable(scope["method"]),
                    loggable(loggable_path(scope["path"])),
                    request_id,
                )
                if response_started:
                    raise
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            if reads is not None:
                reads.counted(scope)
            if client_gone:
                status = CLIENT_GONE
            seconds = time.perf_counter() - started
            method = scope["method"]
            # The template as the OpenAPI document writes it: `{id}`, not `{id:path}`.
            route = getattr(scope.get("route"), "path_format", UNMATCHED)
            self.metrics.observe(method, route, status, seconds)
            user_id = state.get("user_id")
            if user_id is not None and status < 400 and method in _WRITES and self.after_write:
                self.after_write(user_id)
            path, query, referer = _logged_url(scope)
            fields = {
                "request_id": request_id,
                "method": method,
                "route": route,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "user_id": user_id,
            }
            args: tuple[Any, ...] = (
                loggable(method),
                loggable(path if query is None else f"{path}?{query}"),
                status,
                seconds * 1000,
                request_id,
                "-" if user_id is None else _user_text(user_id),
            )
            line = REQUEST_LINE
            if query is not None:
                fields["query"] = query
            if referer is not None:
                fields["referer"] = referer
                line += REFERER_PART
                args += (loggable(referer),)
            request_log.info(line, args, fields)


def only_varies(scope: Scope, open_paths: frozenset[str]) -> bool:
    """Whether the CORS layer's whole work for an HTTP request is `varying_by_origin`: one
    without Origin, to a path that does not answer CORS itself (`open_paths`)."""
    return scope["path"] not in open_paths and not any(
        name == b"origin" for name, _ in scope["headers"]
    )


def _varying_by_origin(send: Send) -> Send:
    async def varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            varying_by_origin(headers)
            message["headers"] = headers
        await send(message)

    return varying


class CorsMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the contract's error body.
    `open_paths` answer CORS themselves (OAuth's metadata and endpoints, open to any origin).
    With `prefixes`, only the paths under one of them answer a cross-origin request (the API:
    the service's own pages, signed in by a cookie, give another origin nothing to read)."""

    def __init__(
        self,
        app: ASGIApp,
        /,
        *,
        open_paths: frozenset[str] = frozenset(),
        prefixes: tuple[str, ...] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(app, **options)
        self._open_paths = open_paths
        self._prefixes = prefixes

    def _answers(self, path: str) -> bool:
        if self._prefixes is None:
            return True
        return any(path == p or path.startswith(f"{p}/") for p in self._prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._open_paths:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and only_varies(scope, self._open_paths):
            # Not a cross-origin request (most are not): Starlette's answer would only say
            # that it varies by Origin, which this does without its per-request objects.
            await self.app(scope, receive, _varying_by_origin(send))
            return
        if scope["type"] == "http" and not self._answers(scope["path"]):
            await self.app(scope, receive, send)  # no CORS: a page of the service's own
            return
        await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 400:
            refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
            message = f"Cross-origin request refused: {refused} not allowed"
            if "origin" in refused:  # say where the allowed origins are set
                message += " (the allowed origins are FRONTEND_URL, comma-separated)"
            response = error_response(InvalidRequest(message))
        # Answered here, outside the request context: it adds nothing to this response.
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
