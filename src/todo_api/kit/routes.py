"""Routes added as Starlette's own (not FastAPI's) that still name themselves in the request's
scope, as FastAPI's routes do: the metrics and the log line (todo_api.edge) then carry their
template (`/oauth/token`, `/.well-known/caldav`) rather than the label of unknown paths. A
mounted application (CalDAV's) is one label, its mount's template (`/dav/{path}`): its paths are the
clients' names, too many to label one by one."""

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope


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
