"""What makes the app installable and usable offline: its manifest (`/app/manifest.webmanifest`)
and its service worker (`/app/sw.js`, static/sw.js, controlling every page under `/app/`).

Both are served at fixed addresses, not hashed names, and are checked again on every visit
(`no-cache`): the browser installs a new worker whenever its bytes change. What the worker
does is said in static/sw.js; the page's side (registering it, the changes kept while offline)
in static/offline.js."""

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.web.common.assets import STATIC_DIR
from todo_api.web.common.site import APP, HEADERS, Site

WORKER = "/app/sw.js"
# The line of static/sw.js that names the app, written with APP_NAME's value when served.
NAME_LINE = 'const APP_NAME = "Tasks";'
MANIFEST = "/app/manifest.webmanifest"
THEME = "#1d4ed8"  # static/icon.svg's blue
# Fetched again each time (a changed worker is a new version), never from a stale copy.
CHECKED = {**HEADERS, "Cache-Control": "no-cache"}


class OfflinePages:
    def __init__(self, site: Site) -> None:
        self.site = site
        # The app's name (APP_NAME) in its place: a push without a title is titled by it.
        named = f"const APP_NAME = {json.dumps(site.settings.app_name)};"
        self._worker = (STATIC_DIR / "sw.js").read_text().replace(NAME_LINE, named, 1).encode()

    def routes(self) -> list[BaseRoute]:
        return [
            Route(MANIFEST, self.manifest, methods=["GET"]),
            Route(WORKER, self.worker, methods=["GET"]),
        ]

    async def manifest(self, request: Request) -> Response:
        """The manifest, in the person's language: the same for everyone, so no sign-in."""
        _ = self.site.words(request)
        name = self.site.settings.app_name
        body = {
            "name": name,
            "short_name": name,
            "description": _("Your tasks, lists and reminders"),
            "lang": self.site.language(request),
            "id": APP,
            "start_url": APP,
            "scope": APP,
            "display": "standalone",
            "theme_color": THEME,
            "background_color": "#ffffff",
            "icons": [icon.manifest_entry() for icon in self.site.icons.manifest],
        }
        return Response(
            json.dumps(body, ensure_ascii=False),
            media_type="application/manifest+json",
            headers={**CHECKED, "Vary": "Accept-Language"},
        )

    async def worker(self, request: Request) -> Response:
        return Response(
            self._worker,
            media_type="text/javascript",
            headers={**CHECKED, "Service-Worker-Allowed": APP},
        )
