"""Direct routes: the busiest routes served without FastAPI's per-request machinery.

A route whose endpoint takes only the request and text path parameters needs nothing FastAPI
does per request (dependency solving, parameter validation, response-model serialisation,
exit stacks, its routing layers): the endpoint reads its own inputs and returns a Response.
`DirectRoutes` serves such routes itself, matching a router's routes in the router's order, so
a request goes where FastAPI would send it; FastAPI still documents every route from its
signature and serves the others.
"""

from collections.abc import Callable, Mapping, Sequence
from inspect import iscoroutinefunction
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

# The app's handlers, as FastAPI keeps them (all of this service's are async).
ExceptionHandler = Callable[[Request, Any], Any]


def is_direct(route: BaseRoute) -> bool:
    """Whether FastAPI would only pass this endpoint the request and its path parameters as
    they are (text), so that calling it directly changes nothing."""
    if not isinstance(route, APIRoute) or not iscoroutinefunction(route.endpoint):
        return False
    dependant = route.dependant
    return (
        dependant.request_param_name is not None
        and not dependant.dependencies
        and not dependant.query_params
        and not dependant.header_params
        and not dependant.cookie_params
        and not dependant.body_params
        and dependant.response_param_name is None
        and dependant.background_tasks_param_name is None
        and all(param.field_info.annotation is str for param in dependant.path_params)
        and all(isinstance(c, StringConvertor) for c in route.param_convertors.values())
    )


class DirectRoutes:
    """Serves the direct routes of `routers` (the first routers the app matches, in the
    app's order); every other request goes on to the app.

    It sits inside the request context and the body limit, like the routes it serves, and
    answers their exceptions with the app's own exception handlers."""

    def __init__(
        self,
        app: ASGIApp,
        routers: Sequence[APIRouter],
        exception_handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        self.routes: list[tuple[BaseRoute, set[str] | None, bool]] = [
            (route, getattr(route, "methods", None), is_direct(route))
            for router in routers
            for route in router.routes
        ]
        self.exception_handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method = scope["method"]
            for route, methods, direct in self.routes:
                if methods is not None and method not in methods:  # a partial match at best
                    continue
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    if direct:
                        scope.update(child_scope)
                        await self._serve(route, scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)

    async def _serve(self, route: BaseRoute, scope: Scope, receive: Receive, send: Send) -> None:
        assert isinstance(route, APIRoute)
        request = Request(scope, receive, send)
        arguments = {**scope["path_params"], route.dependant.request_param_name: request}
        try:
            response = await route.endpoint(**arguments)
        except Exception as exc:
            handler = self._handler_for(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
            assert isinstance(response, Response)
        await response(scope, receive, send)

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                return handler
        return None
