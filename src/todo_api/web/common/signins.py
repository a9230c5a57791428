"""Who is signed in on the web app's pages, and the forms' CSRF tokens.

The browser's sign-in is a sign-in of the built-in accounts held in a cookie
(todo_api.accounts.browser): listed in GET /api/auth/sessions and ended by every ending, checked on
every request. The cookie is `__Host-` prefixed and Secure when PUBLIC_URL is https; /api, /dav
and /mcp never read it (they take their own bearer and Basic schemes).

Every form that changes something carries a token signed with the service's secret and bound
to another cookie of this browser (random, HttpOnly): a form posted from another site cannot
know it, and is refused (403) before anything changes. A signed-in page's token is bound to
its sign-in too (made anew at every sign-in): one taken from another sign-in, or from a page
shown before this sign-in, is refused with this one's cookie. The forms before signing in
(sign in, sign up, a forgotten password, a link's page) take any token of this browser.
"""

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from todo_api.accounts.browser import BrowserSignIn, BrowserSignIns, FormTokens
from todo_api.config import Settings

SIGN_IN_SECONDS = 30 * 86400
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9_-]+")
FORM_SECONDS = 86400


class WebSignIns:
    """The web app's sign-in cookie and its forms' tokens."""

    def __init__(self, settings: Settings) -> None:
        self.secure = (settings.public_url or "").startswith("https://")
        prefix = "__Host-" if self.secure else ""
        self.browser_cookie = f"{prefix}todo_app_browser"
        self.sign_ins = BrowserSignIns(
            settings, name=f"{prefix}todo_app", path="/", seconds=SIGN_IN_SECONDS
        )
        self._forms = FormTokens(settings, "web", FORM_SECONDS)
        # The form key's cookie after its value, as Starlette's set_cookie writes it (made once:
        # set_cookie builds a SimpleCookie for every page).
        secure = "; Secure" if self.secure else ""
        self._keep_suffix = f"; HttpOnly; Max-Age={SIGN_IN_SECONDS}; Path=/; SameSite=lax{secure}"

    async def current(self, request: Request) -> BrowserSignIn | None:
        return await self.sign_ins.current(request)

    def browser(self, request: Request) -> str:
        """This browser's form key: the one its cookie holds, else a new one (`keep` sets it),
        the same for the whole request."""
        known = request.cookies.get(self.browser_cookie) or getattr(request.state, "browser", None)
        if known is None:
            known = request.state.browser = secrets.token_urlsafe(32)
        return str(known)

    def keep(self, response: Response, browser: str) -> None:
        """Sets (again: it lasts SIGN_IN_SECONDS from the last page) the browser's form key."""
        if _COOKIE_SAFE.fullmatch(browser):  # ours (token_urlsafe): written as it is
            cookie = f"{self.browser_cookie}={browser}{self._keep_suffix}"
            response.raw_headers.append((b"set-cookie", cookie.encode()))
            return
        response.set_cookie(  # anything else the browser sent: quoted as cookies are
            self.browser_cookie,
            browser,
            max_age=SIGN_IN_SECONDS,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def form_token(self, request: Request, browser: str) -> str:
        return self._forms.issue(browser, self.sign_ins.held_sign_in(request))

    def form_token_valid(self, request: Request, token: object, *, signed_in: bool = True) -> bool:
        """Whether `token` is one this service gave this browser's forms, recently, and (for a
        signed-in page's form, `signed_in`) to a page of the sign-in its cookie names now."""
        issued = self._forms.issued(token, request.cookies.get(self.browser_cookie))
        if issued is None:
            return False
        if not signed_in:  # a form before signing in
            return True
        held = self.sign_ins.held_sign_in(request)
        return len(issued) > 2 and issued[2] == (None if held is None else str(held))
