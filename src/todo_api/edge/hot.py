"""The edge's hot lane: the busiest requests answered in one pass, before FastAPI's layers.

A request crosses the edge's layers in turn (CORS, the request context, the body limit, HEAD,
the direct routes: todo_api.app's order), each an ASGI call, some with a send wrapper of their
own, behind FastAPI's (its error, telemetry and body limit layers). For a request that a direct
route serves and that no layer but the request context does anything for, the answer is the
same when the request context serves the direct route itself, with the one header CORS adds.
`HotLane` asks each layer whether that is so, by the layer's own test, and then does just
that; every other request takes the layers.

A request takes the lane when:

- CORS would only say that its answer varies by Origin (`only_varies`: no Origin header, a
  path that does not answer CORS itself); the request context adds that header, last, as the
  CORS layer (outside it) does;
- the body limit lets it through untouched (`BodyLimitMiddleware.passes`);
- it is not HEAD (`HeadAsGet` answers HEAD as GET);
- a direct route serves it (`DirectRoutes.match`).

FastAPI's layers outside the edge's do nothing for such a request: the request context answers
any exception itself (a 500), and re-raises only one escaping after the answer started, as
FastAPI's error layer would. The lane is not used behind trusted proxies (their headers are
read by a layer outside the edge's), nor under a root path.

The lane knows the layers above (`LAYERS`, the app's `user_middleware` in order) and no other:
an app whose layers differ (one added, removed or moved) is served through its layers only
(`accounts_for`, checked on the app's first request, when its layers are fixed), and
tests/test_direct_routes.py fails until this module accounts for the change.
"""

import functools
from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from todo_api.edge.head import HeadAsGet
from todo_api.edge.limits import BodyLimitMiddleware
from todo_api.edge.middleware import CorsMiddleware, RequestContextMiddleware, only_varies
from todo_api.edge.routing import DirectRoutes, Found

# The app's layers, outermost first, whose work for a request the lane does (the request
# context's, CORS's `Vary`) or knows to be none (`route_for`).
LAYERS = (CorsMiddleware, RequestContextMiddleware, BodyLimitMiddleware, HeadAsGet, DirectRoutes)


def accounts_for(middleware: Sequence[Middleware]) -> bool:
    """Whether an app with these layers (its `user_middleware`) may take the lane."""
    layers: tuple[object, ...] = tuple(layer.cls for layer in middleware)
    return layers == LAYERS


class HotLane:
    def __init__(
        self,
        context: RequestContextMiddleware,
        body_limit: BodyLimitMiddleware,
        direct: DirectRoutes,
        cors_open_paths: frozenset[str],
    ) -> None:
        self.context = context
        self.body_limit = body_limit
        self.direct = direct
        self.cors_open_paths = cors_open_paths

    def route_for(self, scope: Scope) -> Found | None:
        """The direct route that answers this HTTP request in the lane, or None: the layers."""
        if (
            scope["method"] == "HEAD"
            or not only_varies(scope, self.cors_open_paths)
            or not self.body_limit.passes(scope)
        ):
            return None
        return self.direct.match(scope)

    async def serve(self, found: Found, scope: Scope, receive: Receive, send: Send) -> None:
        direct_route = functools.partial(self.direct.serve, found)  # no coroutine of its own
        await self.context.serve(direct_route, scope, receive, send, vary=True)
