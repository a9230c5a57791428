"""Direct routes: the busiest routes served without FastAPI's per-request machinery.

FastAPI's dependency solving, parameter validation, response-model serialisation, exit stacks
and routing layers cost more CPU than a small request's own work. `DirectRoutes` matches a
router's routes itself and calls the endpoint of a direct one with the request and its path
parameters; FastAPI still documents every route from its declaration and serves the others.

The rule for a direct route:

- Which qualify: `is_direct` decides, from the route alone; nothing is marked by hand. An
  `async def` endpoint whose parameters are only the `Request` and path parameters typed `str`
  (with the default convertor), with no dependency (its own or its router's), no query, header,
  cookie or body parameter, and no `Response` or `BackgroundTasks` parameter.
- A route that would be direct but for dependencies that take nothing but optional query
  parameters (`async def`, no dependency of their own: the task list's `list_query`) is direct
  too (`direct_with_dependencies`): for a request without a query string, FastAPI would call
  each with its defaults, and so does `DirectRoutes` (`await dependency()`); with one, the
  parameters are read and validated by FastAPI's own function for them
  (`request_params_to_args`, as `solve_dependencies` calls it), their errors raised as the
  RequestValidationError FastAPI raises, and each dependency called with its values. The
  results are passed by the dependencies' names. Anything else is served by FastAPI.
- What the endpoint does itself, in this order: authenticate first (`authenticate(request)`),
  so that a request without a valid token is refused before anything of it is read; then read
  its headers from `request.headers` and its body with `read_json` (which answers a bad body,
  a wrong content type and a validation error as FastAPI would); parse its path parameters
  (a malformed id is 404 NOT_FOUND, like an unknown one); and return a `Response` with its
  status, headers and bytes.
- What it must not rely on: dependencies (none run), the response model, `status_code` and
  `response_class` of its decorator (they document the route; the endpoint's own Response is
  what is sent), FastAPI's validation of its parameters, background tasks. A failure is raised
  and answered by the app's exception handlers, the same ones FastAPI uses.
- What keeps it equal to its FastAPI twin: the routes matched are those of the very routers
  the app includes, in the router's order; those routers come first in the app's routes and
  are included without a prefix, dependencies or other options of the include's own (the
  include's options never reach here); `DirectRoutes` sits inside the same middleware as the
  app's routes. tests/test_direct_routes.py sends the same requests, successes and errors,
  through the app and through `create_app(direct_routes=False)` and compares status, headers
  and body: a route that becomes direct needs its cases there (a test fails until it has them).

Most requests to a direct route reach it through the edge's hot lane (todo_api.edge.hot),
before the app's layers, by the same `match` and `serve`; that test compares the lane with the
layers too.
"""

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from inspect import iscoroutinefunction
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

# The dependencies a direct route's endpoint takes: each one's name, the function and its
# query parameters.
QueryDependencies = tuple[tuple[str, Callable[..., Awaitable[Any]], list[Any]], ...]
# A request's direct route, its dependencies (see `_direct_with`) and its path parameters.
Found = tuple[APIRoute, QueryDependencies, dict[str, Any]]
# The app's handlers, as FastAPI keeps them (all of this service's are async).
ExceptionHandler = Callable[[Request, Any], Any]


def is_direct(route: BaseRoute) -> bool:
    """Whether FastAPI would only pass this endpoint the request and its path parameters as
    they are (text), so that calling it directly changes nothing."""
    return _takes_only_request_and_path(route) and not _dependencies(route)


def direct_with_dependencies(route: BaseRoute) -> bool:
    """Whether FastAPI would pass this endpoint the request, its path parameters as text and
    the results of dependencies that take optional query parameters only (`_results_of`)."""
    dependencies = _dependencies(route)
    return (
        _takes_only_request_and_path(route)
        and bool(dependencies)
        and all(_defaults_only(dependency) for dependency in dependencies)
    )


def _direct_with(route: BaseRoute) -> QueryDependencies | None:
    """None for a route FastAPI serves; () for a direct one without dependencies; else its
    dependencies."""
    if is_direct(route):
        return ()
    if direct_with_dependencies(route):
        return tuple(
            (d.name, d.call, d.query_params) for d in _dependencies(route) if d.name and d.call
        )
    return None


def _dependencies(route: BaseRoute) -> list[Dependant]:
    return route.dependant.dependencies if isinstance(route, APIRoute) else []


def _takes_only_request_and_path(route: BaseRoute) -> bool:
    if not isinstance(route, APIRoute) or not iscoroutinefunction(route.endpoint):
        return False
    dependant = route.dependant
    return (
        dependant.request_param_name is not None
        and not dependant.query_params
        and not dependant.header_params
        and not dependant.cookie_params
        and not dependant.body_params
        and dependant.response_param_name is None
        and dependant.background_tasks_param_name is None
        and all(param.field_info.annotation is str for param in dependant.path_params)
        and all(isinstance(c, StringConvertor) for c in route.param_convertors.values())
    )


def _defaults_only(dependency: Dependant) -> bool:
    """A dependency FastAPI would call with its defaults when the request has no query."""
    return (
        dependency.name is not None
        and dependency.call is not None
        and iscoroutinefunction(dependency.call)
        and not dependency.dependencies
        and not dependency.path_params
        and not dependency.header_params
        and not dependency.cookie_params
        and not dependency.body_params
        and dependency.request_param_name is None
        and dependency.websocket_param_name is None
        and dependency.http_connection_param_name is None
        and dependency.response_param_name is None
        and dependency.background_tasks_param_name is None
        and dependency.security_scopes_param_name is None
        and all(not param.field_info.is_required() for param in dependency.query_params)
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
        # Each route, its methods, its path's pattern, and how it is direct: None, never;
        # else with these dependencies (none: ()).
        self.routes: list[
            tuple[APIRoute, set[str] | None, re.Pattern[str], QueryDependencies | None]
        ] = [
            (route, route.methods, route.path_regex, _direct_with(route))
            for router in routers
            for route in router.routes
            if isinstance(route, APIRoute)
        ]
        if len(self.routes) != sum(len(router.routes) for router in routers):
            raise ValueError("direct routes are matched among APIRoutes only")
        # The routes a request of each method may match, in the same order (a route without
        # methods in each): `match` then tries no route of another method.
        methods = {m for _route, ms, _pattern, _direct in self.routes for m in ms or ()}
        self._by_method = {
            method: [
                (route, pattern, direct)
                for route, ms, pattern, direct in self.routes
                if ms is None or method in ms
            ]
            for method in methods
        }
        self._any_method = [(r, p, d) for r, ms, p, d in self.routes if ms is None]
        self.exception_handlers = exception_handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
        else:
            await self.serve(found, scope, receive, send)

    def match(self, scope: Scope) -> Found | None:
        """The direct route that serves this HTTP request, how, and its path parameters; None
        when FastAPI serves it."""
        if scope.get("root_path"):  # FastAPI matches under a root path (none is set here)
            return None
        path = scope["path"]
        # (a route of another method is a partial match at best)
        for route, pattern, direct in self._by_method.get(scope["method"], self._any_method):
            found = pattern.match(path)
            if found is not None:  # the route's full match (APIRoute.matches)
                if direct is not None:
                    return route, direct, found.groupdict()
                return None
        return None

    async def serve(self, found: Found, scope: Scope, receive: Receive, send: Send) -> None:
        """Answers the request with the route `match` found."""
        route, defaults, matched = found
        # What that match puts in the scope: a direct route's parameters are text as matched
        # (StringConvertor's), the route FastAPI's addition.
        params = {**scope.get("path_params", {}), **matched}
        scope.update(endpoint=route.endpoint, path_params=params, route=route)
        request = Request(scope, receive, send)
        arguments = {**params, route.dependant.request_param_name: request}
        try:
            if defaults:
                arguments |= await _results_of(defaults, request)
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


async def _results_of(dependencies: QueryDependencies, request: Request) -> dict[str, Any]:
    """The dependencies' results by name: each called with its defaults, or with the query's
    parameters as FastAPI reads and validates them (all their errors raised together)."""
    if not request.scope["query_string"]:
        return {name: await call() for name, call, _fields in dependencies}
    read = [request_params_to_args(fields, request.query_params) for *_, fields in dependencies]
    errors = [error for _values, found in read for error in found]
    if errors:
        raise RequestValidationError(errors, body=None)
    return {
        name: await call(**values)
        for (name, call, _fields), (values, _errors) in zip(dependencies, read, strict=True)
    }
