"""The /dav endpoint: one ASGI app answering every WebDAV and CalDAV method itself (FastAPI's
routing knows no PROPFIND), errors in WebDAV's shape (a status, and a `DAV:error` body where a
precondition applies).

Every change goes through the tasks and lists services with the caller as actor, so it
reaches the change feed, webhooks and live updates as /api's changes do, and an If-Match here
races /api's (a task's ETag is its version, on both).

This module signs the caller in, finds the path and routes the method to its group:
discovery.py (OPTIONS, PROPFIND), objects.py (GET, HEAD, PUT, DELETE), calendars.py
(MKCALENDAR, PROPPATCH, a calendar's DELETE) and report_dispatch.py (REPORT); call.py is the
request they share.
"""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from todo_api.dav import calendars, discovery, objects, report_dispatch, resources
from todo_api.dav.call import Call
from todo_api.dav.credentials import NoCredentials, identify
from todo_api.dav.discovery import allowed_methods, options_response
from todo_api.dav.errors import DavError, forbidden, not_found
from todo_api.dav.xml import BadXml
from todo_api.db import RefusedText
from todo_api.kit.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="todo-api", charset="UTF-8"'}


def _from_api_error(exc: ApiError) -> Response:
    if exc.status == 401:
        return DavError(401, exc.message, headers=_CHALLENGE).response()
    if exc.status == 403:
        return forbidden(exc.message).response()
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"}
    return DavError(exc.status, exc.message, headers=headers).response()


class WellKnown:
    """`/.well-known/caldav` (RFC 6764): the root of the calendars, whatever the method."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await RedirectResponse(resources.ROOT, status_code=301)(scope, receive, send)


class DavApp:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.handle(request)
        except DavError as exc:
            response = exc.response()
        except NoCredentials:
            response = DavError(401, "Sign in with a token", headers=_CHALLENGE).response()
        except BadXml as exc:
            response = DavError(400, str(exc)).response()
        except ApiError as exc:
            response = _from_api_error(exc)
        except RefusedText as exc:
            response = DavError(400, str(exc)).response()
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        method = request.method
        if method == "OPTIONS" and not request.headers.get("authorization", "").strip():
            # Unsigned: what the path's kind of resource answers, whoever's it is.
            shape = resources.parse_path(request.url.path, None)
            if shape is None:
                raise not_found()
            return options_response(resources.allowed(shape.kind))
        identity = await identify(request)
        path = resources.parse_path(request.url.path, identity.user_id)
        if path is None:
            raise not_found()
        call = Call(request, identity)
        handler = _HANDLERS.get(method)
        try:
            if handler is None:
                raise DavError(405, f"{method} is not allowed here")
            return await handler(call, path)
        except DavError as exc:
            if exc.status == 405:  # RFC 9110 §15.5.6: with what the resource does answer
                exc.headers["Allow"] = await allowed_methods(call, path)
            raise


_HANDLERS = {
    "OPTIONS": discovery.options,
    "PROPFIND": discovery.propfind,
    "GET": objects.get,
    "HEAD": objects.get,
    "PUT": objects.put,
    "DELETE": objects.delete,
    "MKCALENDAR": calendars.mkcalendar,
    "PROPPATCH": calendars.proppatch,
    "REPORT": report_dispatch.report,
}
