"""The settings' frame (`/app/settings`): a page per group, each listed in the settings'
navigation; `/app/settings` opens the first. A group's page extends `settings_base.html`
and is served by its own module (`settings_*.py`), a class built on `SettingsGroup`."""

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from babel import dates as babel_dates
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.kit import zones
from todo_api.kit.deps import database
from todo_api.lists import service as lists
from todo_api.tables.lists import ListRow
from todo_api.web.site import Site, redirect, user_id, zone_of

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
        zone, language = zones.zone(zone_of(signed_in)), self.site.language(request)

        def when(moment: object) -> str:
            if not isinstance(moment, datetime):
                return ""
            return babel_dates.format_datetime(moment.astimezone(zone), "medium", locale=language)

        return when

    @asynccontextmanager
    async def reading(
        self, request: Request, signed_in: BrowserSignIn
    ) -> AsyncIterator[tuple[Connection, list[ListRow]]]:
        """A connection for the group's own reads, the lists' navigation read on it first."""
        async with database(request).connection() as conn:
            yield conn, await lists.list_lists(conn, user_id(signed_in))

    def render_group(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        template: str,
        sidebar: list[ListRow],
        **context: Any,
    ) -> Response:
        """The group's page, its lists' navigation (`sidebar`) read with the group's own rows;
        `status`, `user` (the signed-in person by default) and `done` (by default the sentence
        the address's `?done=` names) may come in `context`."""
        context.setdefault("user", signed_in.user)
        context.setdefault("done", self.said(request).get(request.query_params.get("done", "")))
        return self.site.render(
            request, template, context.pop("status", 200), lists=sidebar, **context
        )

    async def group_page(
        self, request: Request, signed_in: BrowserSignIn, template: str, **context: Any
    ) -> Response:
        """The group's page for a group that reads nothing else: the navigation read here."""
        async with database(request).connection() as conn:
            sidebar = await lists.list_lists(conn, user_id(signed_in))
        return self.render_group(request, signed_in, template, sidebar, **context)
