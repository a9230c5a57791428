"""Routes added as Starlette's own (not FastAPI's) that still name themselves in the request's
scope, as FastAPI's routes do: the metrics and the log line (todo_api.edge) then carry their
template (`/oauth/token`, `/.well-known/caldav`) rather than the label of unknown paths. A
mounted application (CalDAV's) is one label, its mount's template (`/dav/{path}`): its paths are the
clients' names, too many to label one by one."""

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Receive, Scope, Send


def _named(route: BaseRoute, found: tuple[Match, Scope]) -> tuple[Match, Scope]:
    match, child_scope = found
    if match is not Match.NONE:
        child_scope["route"] = route
    return found


class LabelledRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return _named(self, super().matches(scope))


class LabelledMount(Mount):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return _named(self, super().matches(scope))


class Section(BaseRoute):
    """Routes whose paths all start with `prefix` (the web app's `/app/`), matched as one
    route placed first: FastAPI's router, for a path its API routers do not serve, asks each
    of them in turn, and each counts its routes again (about a millisecond a request), where
    a request outside the section costs this one string test. Each route is named in the
    scope as a `LabelledRoute` names itself."""

    def __init__(self, prefix: str, routes: list[BaseRoute]) -> None:
        paths = [str(getattr(route, "path", "")) for route in routes]
        if not all(path.startswith(prefix) for path in paths):
            raise ValueError(f"a route of the section is outside {prefix}: {paths}")
        self.prefix = prefix
        self.routes = routes
        # A path without parameters (`/app/`, `/app/today`) is tried first against the routes
        # of that very path, when no route before them could match it (the first match wins):
        # a page found without testing each route's pattern in turn.
        self._exact: dict[str, list[BaseRoute]] = {}
        for at, (route, path) in enumerate(zip(routes, paths, strict=True)):
            if "{" in path or not isinstance(route, Route):
                continue
            earlier = routes[:at]
            if not any(not isinstance(r, Route) or r.path_regex.match(path) for r in earlier):
                self._exact.setdefault(path, []).append(route)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return Match.NONE, {}
        for route in self._exact.get(scope["path"], ()):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, "route": route}
        partial: Scope | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, "route": route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child_scope, "route": route}  # its path, another method: a 405
        if partial is not None:
            return Match.PARTIAL, partial
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["route"].handle(scope, receive, send)
