"""The web app's routes, gathered from its page modules (each a class on the shared `Site`),
and `GET /`: a browser goes to the app, other clients get what `/` answers."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from todo_api.config import Settings
from todo_api.edge import docs
from todo_api.kit.routes import Section
from todo_api.web.account_pages import AccountPages
from todo_api.web.action_pages import ActionPages
from todo_api.web.assets import PREFIX as STATIC_PREFIX
from todo_api.web.invitation_pages import InvitationPages
from todo_api.web.list_pages import ListPages
from todo_api.web.live_pages import LivePages
from todo_api.web.notification_pages import NotificationPages
from todo_api.web.settings_data import SettingsData
from todo_api.web.settings_pages import SettingsPages
from todo_api.web.settings_profile import SettingsProfile
from todo_api.web.settings_security import SecuritySettings
from todo_api.web.settings_tokens import TokenSettings
from todo_api.web.sharing_pages import SharingPages
from todo_api.web.sidebar_pages import SidebarPages
from todo_api.web.signin_pages import SignInPages
from todo_api.web.site import APP, Site
from todo_api.web.task_pages import TaskPages


class WebApp:
    """The app's routes: each page module's, while built-in accounts are on."""

    def __init__(self, settings: Settings) -> None:
        self.site = Site(settings)

    def routes(self) -> tuple[Section, Route]:
        """The app's pages, as one section (the app's router tries it first), and `GET /`."""
        root = Route("/", self.root, methods=["GET"])
        static = Route(STATIC_PREFIX + "{name}", self.site.assets.serve, methods=["GET"])
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
            ActionPages,
            SettingsPages,
            SharingPages,
            InvitationPages,
            SecuritySettings,
            TokenSettings,
            SettingsProfile,
            SettingsData,
            NotificationPages,
            LivePages,
        )
        pages = [route for page in modules for route in page(self.site).routes()]
        return Section(APP, [static, *pages]), root

    async def root(self, request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(APP, 303)
        return await docs.root()

    async def unavailable(self, request: Request) -> Response:
        return self.site.render(request, "unavailable.html", 404)
