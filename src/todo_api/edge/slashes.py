"""The trailing-slash redirect (`/api/tasks/` -> `/api/tasks`), built without the Host header.

Starlette's own redirect makes an absolute URL from the request's Host header, which any
client sets to what it likes. This one is relative (`Location: /api/tasks`), or based on
PUBLIC_URL when that is set. It is only considered once routing has found nothing, so it
costs nothing on the requests that match a route.
"""

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match

# Characters a path or query keeps as they are; everything else is percent-encoded again
# (the path arrives decoded, so a CR LF in it must not reach a header).
_PATH_SAFE = "/:@!$&'()*+,;="
_QUERY_SAFE = _PATH_SAFE + "?%"


def slash_redirect(request: Request, public_url: str | None) -> Response | None:
    """A 307 to the same path with its trailing slash added or removed, when that path has a
    route; else None."""
    scope = request.scope
    if scope["type"] != "http" or "endpoint" in scope:  # a route matched: its own 404
        return None
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    route_path = path[len(root_path) :] if root_path and path.startswith(root_path) else path
    if route_path == "/" or not route_path:
        return None
    other = route_path.rstrip("/") if route_path.endswith("/") else route_path + "/"
    if not other:
        return None
    redirect_scope = {**scope, "path": path[: len(path) - len(route_path)] + other}
    if not any(route.matches(redirect_scope)[0] is not Match.NONE for route in request.app.routes):
        return None
    if public_url:
        location = public_url + quote(other, safe=_PATH_SAFE)
    else:
        location = quote(redirect_scope["path"], safe=_PATH_SAFE)
    query: bytes = scope.get("query_string", b"")
    if query:
        location += "?" + quote(query.decode("latin-1"), safe=_QUERY_SAFE)
    return RedirectResponse(location, status_code=307)
