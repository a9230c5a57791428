"""The web app's routes, gathered from its page modules (each a class on the shared `Site`),
and `GET /`: a browser goes to the app (without built-in accounts, to the API's documentation),
other clients get what `/` answers."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from todo_api.config import Settings
from todo_api.edge import docs
from todo_api.kit.routes import Section
from todo_api.web.accounts.account_pages import AccountPages
from todo_api.web.accounts.invitation_pages import InvitationPages
from todo_api.web.accounts.signin_pages import SignInPages
from todo_api.web.common.assets import PREFIX as STATIC_PREFIX
from todo_api.web.common.live_pages import LivePages
from todo_api.web.common.offline_pages import OfflinePages
from todo_api.web.common.site import APP, Site
from todo_api.web.notifications.notification_pages import NotificationPages
from todo_api.web.notifications.push_pages import PushPages
from todo_api.web.settings.data import SettingsData
from todo_api.web.settings.pages import SettingsPages
from todo_api.web.settings.profile import SettingsProfile
from todo_api.web.settings.security import SecuritySettings
from todo_api.web.settings.tokens import TokenSettings
from todo_api.web.tasks.action_pages import ActionPages
from todo_api.web.tasks.bulk_pages import BulkPages
from todo_api.web.tasks.calendar_pages import CalendarPages
from todo_api.web.tasks.file_pages import FilePages
from todo_api.web.tasks.filter_pages import FilterPages
from todo_api.web.tasks.list_pages import ListPages
from todo_api.web.tasks.section_pages import SectionPages
from todo_api.web.tasks.sharing_pages import SharingPages
from todo_api.web.tasks.sidebar_pages import SidebarPages
from todo_api.web.tasks.task_pages import TaskPages

# What turns the built-in accounts on (docs/configuration.md), named on the page without them.
BUILTIN_ACCOUNTS_ON = "BUILTIN_ACCOUNTS=true"


class WebApp:
    """The app's routes: each page module's, while built-in accounts are on."""

    def __init__(self, settings: Settings) -> None:
        self.site = Site(settings)

    def routes(self) -> tuple[Section, Route]:
        """The app's pages, as one section (the app's router tries it first), and `GET /`."""
        root = Route("/", self.root, methods=["GET"])
        static = Route(STATIC_PREFIX + "{name}", self.static, methods=["GET"])
        if not self.site.settings.builtin_accounts_enabled:
            unavailable = [
                Route(APP, self.unavailable, methods=["GET"]),
                Route("/app/{rest:path}", self.unavailable, methods=["GET", "POST"]),
            ]
            return Section(APP, [static, *unavailable]), root
        modules = (
            SignInPages,
            AccountPages,
            ListPages,
            SidebarPages,
            TaskPages,
            FilePages,
            ActionPages,
            SectionPages,
            BulkPages,
            CalendarPages,
            FilterPages,
            SettingsPages,
            SharingPages,
            InvitationPages,
            SecuritySettings,
            TokenSettings,
            SettingsProfile,
            SettingsData,
            NotificationPages,
            LivePages,
            PushPages,
            OfflinePages,
        )
        pages = [route for page in modules for route in page(self.site).routes()]
        return Section(APP, [static, *pages]), root

    async def static(self, request: Request) -> Response:
        """A static file, or one of the icons made from APP_ICON (web/common/icons.py)."""
        if self.site.icons.serves(request.path_params["name"]):
            return await self.site.icons.serve(request)
        return await self.site.assets.serve(request)

    async def root(self, request: Request) -> Response:
        """A browser goes to the app, or without it (no built-in accounts) to the API's
        documentation, rather than to a page that says there is nothing here."""
        if "text/html" in request.headers.get("accept", ""):
            there = APP if self.site.settings.builtin_accounts_enabled else docs.DOCS
            return RedirectResponse(there, 303)
        return await docs.root()

    async def unavailable(self, request: Request) -> Response:
        """Why there is no web app, and what turns it on: 404, as for any address with nothing
        behind it (503 would say the service is down for now, and invite retries), in the
        person's language."""
        return self.site.render(
            request, "unavailable.html", 404, setting=BUILTIN_ACCOUNTS_ON, installable=False
        )
