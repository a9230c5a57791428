"""`GET /app/live`: the signed-in browser's live updates, for `static/live.js`.

The same stream as `GET /api/events` (todo_api.live: the change feed and the `notification`
and `reminder` messages, as Server-Sent Events), opened with the browser's sign-in rather
than a bearer token or ticket, since /api never takes the app's cookie. It lasts as long as
the sign-in does, and the browser's EventSource reconnects by itself with `Last-Event-ID`.
A page opens it `?since=` where the feed stood when the page was read (site.live_since).
"""

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.auth.credentials import Credential, Kind
from todo_api.live.router import stream_for
from todo_api.web.common.site import Site, user_id


class LivePages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [Route("/app/live", self.site.signed_in(self.live, stream=True), methods=["GET"])]

    async def live(self, request: Request, signed_in: BrowserSignIn) -> Response:
        owner = user_id(signed_in)
        request.state.user_id = owner
        # The browser's sign-in is the credential: the stream ends when it does.
        credential = Credential(owner, Kind.sign_in, signed_in.sign_in, None, time.time())
        # Reconnecting, from the last message; else from where the page stood when it was read.
        token = request.headers.get("last-event-id") or request.query_params.get("since") or None
        return await stream_for(request, credential, token)
