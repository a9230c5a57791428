"""The settings' frame (`/app/settings`): a page per group, each listed in the settings'
navigation; `/app/settings` opens the first. A group's page extends `settings_base.html`
and is served by its own module (`settings_*.py`)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.web.site import Site, redirect

FIRST_GROUP = "/app/settings/profile"


class SettingsPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [Route("/app/settings", self.first, methods=["GET"])]

    async def first(self, request: Request) -> Response:
        return redirect(FIRST_GROUP)
