"""The web app's static files (web/static), served under names holding their content's hash,
so that a browser keeps each for a year and a new release's file is a new name. Each is
gzipped once when read, and sent so to a browser that accepts it: a page's first visit costs
a third of the bytes, and no request pays for compressing."""

import functools
import gzip
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

# The web app's folder (todo_api/web/, above its rooms): its static files and templates are the
# whole app's, kept there for every room.
WEB_DIR = Path(__file__).parents[1]
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
PREFIX = "/app/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@functools.cache
def assets() -> "Assets":
    """The package's static files, read once per process (the pages name them in their
    compiled templates: todo_api.web.common.templates.FixedTexts)."""
    return Assets()


class Assets:
    """Each file of web/static by its hashed name (`app.3f2a9c1d04e5.css`), read once."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._by_name: dict[str, str] = {}  # plain name -> hashed name
        # hashed name -> body, its gzipped body, media type
        self._files: dict[str, tuple[bytes, bytes, str]] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix not in _TYPES:
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, _, suffix = path.name.partition(".")
            hashed = f"{stem}.{digest}.{suffix}"
            self._by_name[path.name] = hashed
            zipped = gzip.compress(body, compresslevel=9, mtime=0)
            self._files[hashed] = (body, zipped, _TYPES[path.suffix])

    def url(self, name: str) -> str:
        return PREFIX + self._by_name[name]

    async def serve(self, request: Request) -> Response:
        found = self._files.get(request.path_params["name"])
        if found is None:
            return Response("Not found", 404, media_type="text/plain")
        body, zipped, media_type = found
        headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = zipped
        return Response(body, media_type=media_type, headers=headers)
