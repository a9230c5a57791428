"""The settings' frame (`/app/settings`): a page per group, each listed in the settings'
navigation; `/app/settings` opens the first. A group's page extends `settings_base.html`
and is served by its own module of this room, a class built on `SettingsGroup`."""

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.kit.deps import database
from todo_api.web.common.shown import moment_text
from todo_api.web.common.site import Site, redirect, zone_of

FIRST_GROUP = "/app/settings/profile"


class SettingsPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [Route("/app/settings", self.first, methods=["GET"])]

    async def first(self, request: Request) -> Response:
        return redirect(FIRST_GROUP)


class SettingsGroup:
    """What every settings group's page shares: the lists' navigation, as on every page, and
    the sentence for the `?done=` a form's redirect names (`said`)."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def said(self, request: Request) -> Mapping[str, str]:
        """The group's sentences for the `?done=` its forms' redirects name (none here)."""
        return {}

    def clock(self, request: Request, signed_in: BrowserSignIn) -> Callable[[object], str]:
        """`when(moment)`: a moment on the person's clock, in the page's language ("" for
        none)."""
        zone_name, language = zone_of(signed_in), self.site.language(request)

        def when(moment: object) -> str:
            if not isinstance(moment, datetime):
                return ""
            return moment_text(moment, zone_name, language)

        return when

    @asynccontextmanager
    async def reading(
        self, request: Request, signed_in: BrowserSignIn
    ) -> AsyncIterator[Connection]:
        """A connection for the group's own reads (the sidebar is the page context's)."""
        async with database(request).connection() as conn:
            yield conn

    def render_group(
        self, request: Request, signed_in: BrowserSignIn, template: str, **context: Any
    ) -> Response:
        """The group's page; `status`, `user` (the signed-in person by default) and `done` (by
        default the sentence the address's `?done=` names) may come in `context`."""
        context.setdefault("user", signed_in.user)
        context.setdefault("done", self.said(request).get(request.query_params.get("done", "")))
        return self.site.render(request, template, context.pop("status", 200), **context)

    async def group_page(
        self, request: Request, signed_in: BrowserSignIn, template: str, **context: Any
    ) -> Response:
        """The group's page for a group that reads nothing else."""
        return self.render_group(request, signed_in, template, **context)
