"""What every page of the web app shares: rendering a template in the person's language, the
security headers, the signed-in gate with its CSRF check, and the small helpers of forms.

Every page is a whole HTML document that works with JavaScript off: forms post and the answer
is a redirect (303) to the page to show, or the page again with its message. A page module
(`signin_pages.py`, `list_pages.py`, `task_pages.py`, ...) holds a class built on the `Site`,
whose `routes()` the app gathers (`pages.py`).
"""

import gzip
import uuid
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from todo_api.accounts.browser import BrowserSignIn
from todo_api.config import Settings
from todo_api.kit import zones
from todo_api.kit.errors import ApiError, NotFound
from todo_api.web.assets import assets
from todo_api.web.messages import (
    FixedTexts,
    Gettext,
    language_of,
    template_gettext,
    translations,
)
from todo_api.web.shown import lines
from todo_api.web.signins import WebSignIns

APP = "/app/"
SIGN_IN = "/app/signin"
# Scripts, styles and everything else from this origin only, none inline; never framed.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}

Page = Callable[[Request, BrowserSignIn], Awaitable[Response]]
# What every signed-in page shows besides its own (the bell's count): more of its context.
PageContext = Callable[[Request, BrowserSignIn], Awaitable[dict[str, Any]]]
Handler = Callable[[Request], Awaitable[Response]]


@cache
def _templates(language: str) -> Environment:
    """The templates, speaking `language` (one environment per language, made once)."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n", FixedTexts],
        auto_reload=False,  # the templates are the package's: no stat per include
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = template_gettext(language)  # the same words, at a fraction of the cost
    env.globals["asset"] = assets().url  # a static file's hashed name
    env.filters["lines"] = lines
    return env


class Site:
    """The pages' shared parts: settings, the sign-in cookie and form tokens, the static files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signins = WebSignIns(settings)
        self.assets = assets()
        self.page_context: list[PageContext] = []  # page modules add theirs

    # Words

    def language(self, request: Request) -> str:
        """The page's language: the signed-in person's setting, else the browser's
        `Accept-Language`, else English (set on the request by `signed_in`)."""
        chosen = getattr(request.state, "language", None)
        if chosen is None:
            chosen = language_of(None, request.headers.get("accept-language"))
            request.state.language = chosen
        return str(chosen)

    def words(self, request: Request) -> Gettext:
        """`gettext` in the page's language, for the sentences the handlers write."""
        return translations(self.language(request)).gettext

    # Pages

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        browser = self.signins.browser(request)
        language = self.language(request)
        html = (
            _templates(language)
            .get_template(template)
            .render(
                csrf_token=self.signins.form_token(request, browser),
                here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
                lang=language,
                fetched=request.method == "GET",
                **{**getattr(request.state, "page_context", {}), **context},
            )
        )
        response = compressed(request, html, status)
        self.signins.keep(response, browser)
        return response

    def refused(self, request: Request) -> Response:
        """A form without this browser's token: posted from another site, or too old."""
        return self.render(request, "refused.html", 403)

    def signed_in(
        self, page: Page, *, writes: bool = False, shared: bool = True, stream: bool = False
    ) -> Handler:
        """`page` for a signed-in browser (a form checked for its CSRF token first); anyone
        else goes to the sign-in page, told so if their sign-in has ended. `shared=False`:
        the page reads what `page_context` gives (the bell's count) in a statement of its own
        (the list pages' sidebar), so the hooks run only for a page it could not show.
        `stream=True` (live.js's EventSource, which nobody reads): no sign-in is a bare 401,
        and an ended one keeps its cookie, so that the next page the person opens says why."""

        async def handle(request: Request) -> Response:
            if writes:
                form = await request.form()
                if not self.signins.form_token_valid(request, form.get("csrf_token")):
                    return self.refused(request)
            signed_in = await self.signins.current(request)
            if signed_in is None:
                if stream:  # an EventSource shows no page: a sign-in page is an error to it
                    return Response(status_code=401, headers=HEADERS)
                if self.signins.sign_ins.held_one(request):
                    _ = self.words(request)
                    message = _("Your sign-in has ended. Sign in again.")
                    response = self.render(request, "signin.html", 401, message=message)
                    self.signins.sign_ins.forget(response)
                    return response
                return redirect(SIGN_IN)
            request.state.language = language_of(
                getattr(signed_in.user, "language", None), request.headers.get("accept-language")
            )
            request.state.page_context = {}
            if shared:
                await self.add_page_context(request, signed_in)
            try:
                return await page(request, signed_in)
            except NotFound:
                if not shared:
                    await self.add_page_context(request, signed_in)
                return self.render(request, "not_found.html", 404, user=signed_in.user)

        return handle

    async def add_page_context(self, request: Request, signed_in: BrowserSignIn) -> None:
        for more in self.page_context:
            request.state.page_context.update(await more(request, signed_in))


def compressed(request: Request, html: str, status: int = 200) -> Response:
    """A page, gzipped for a browser that takes it: a list of 50 tasks is a tenth of its size
    on the wire. Level 1 costs a tenth of a millisecond and gives most of the gain."""
    body = html.encode()
    if len(body) < 1024 or "gzip" not in request.headers.get("accept-encoding", ""):
        return HTMLResponse(body, status, headers=HEADERS)
    headers = {**HEADERS, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return HTMLResponse(gzip.compress(body, compresslevel=1, mtime=0), status, headers=headers)


def redirect(path: str) -> Response:
    """After a form: the page to show next (303, so the browser GETs it)."""
    return RedirectResponse(path, 303, headers=HEADERS)


def is_htmx(request: Request) -> bool:
    """A request htmx made (JavaScript on): answered with a part of the page, not a page."""
    return request.headers.get("hx-request") == "true"


def zone_of(signed_in: BrowserSignIn) -> str:
    """The signed-in person's time zone, from the row the gate read (no statement of its own)."""
    return str(signed_in.user.timezone or zones.DEFAULT_ZONE)


def user_id(signed_in: BrowserSignIn) -> uuid.UUID:
    return uuid.UUID(str(signed_in.user.id))


def parse_uuid(text: str) -> uuid.UUID:
    """An id from the address; a malformed one is a page that is not there."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound from None


def back_to(value: object) -> str:
    """Where a form returns to: a page of this app, never another site."""
    if isinstance(value, str) and value.startswith(APP) and not value.startswith("/app//"):
        return value
    return APP


def problem(exc: Exception) -> str:
    """A sentence for the person who filled the form."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}"
    if isinstance(exc, ApiError) and exc.details:
        return "; ".join(f"{detail.field}: {detail.message}" for detail in exc.details)
    return str(exc)
