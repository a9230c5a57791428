"""/dav's and /.well-known/caldav's front: CalDAV (todo_api.dav.server, with lxml, icalendar
and the rest of dav/) is loaded by the first request that comes to it, not at start: most
processes never serve a calendar app, and CalDAV's modules with their XML are several
megabytes of each (bench/memory.py)."""

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


class OnFirstRequest:
    """The ASGI app `todo_api.dav.server.<name>`, made on the first request."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from todo_api.dav import server

            self._app = getattr(server, self._name)()
        await self._app(scope, receive, send)


def too_large(sentence: str) -> Response:
    """A 413 in WebDAV's shape (the body limit's refusal of a /dav request)."""
    from todo_api.dav.errors import DavError

    return DavError(413, sentence).response()
