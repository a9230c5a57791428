"""Routes added as Starlette's own (not FastAPI's) that still name themselves in the request's
scope, as FastAPI's routes do: the metrics and the log line (todo_api.edge) then carry their
template (`/oauth/token`, `/.well-known/caldav`) rather than the label of unknown paths."""

from starlette.routing import Match, Route
from starlette.types import Scope


class LabelledRoute(Route):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope
