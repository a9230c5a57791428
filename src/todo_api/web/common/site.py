"""What every page of the web app shares: rendering a template in the person's language, the
security headers, the signed-in gate with its CSRF check, and the small helpers of forms.

Every page is a whole HTML document that works with JavaScript off: forms post and the answer
is a redirect (303) to the page to show, or the page again with its message. A page module
(`signin_pages.py`, `list_pages.py`, `task_pages.py`, ...) holds a class built on the `Site`,
whose `routes()` the app gathers (`web/pages.py`).
"""

import gzip
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from todo_api.accounts.browser import BrowserSignIn, Unconfirmed
from todo_api.config import Settings
from todo_api.db import Connection
from todo_api.kit import changes, zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, Forbidden, IdempotencyKeyReused, NotFound
from todo_api.kit.idempotency import (
    StoredResponse,
    request_fingerprint,
    respond_once_apart,
    valid_key,
)
from todo_api.kit.ids import utcnow
from todo_api.kit.paging import url_path
from todo_api.web.common.assets import assets
from todo_api.web.common.icons import Icons
from todo_api.web.common.messages import Gettext, language_of, translations
from todo_api.web.common.signins import WebSignIns

APP = "/app/"
SIGN_IN = "/app/signin"
# Scripts, styles and everything else from this origin only, none inline; never framed.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "worker-src 'self'; manifest-src 'self'"
)
# What an answer that ends this browser's sign-in empties: what the device kept of the person
# (the pages static/sw.js kept for reading offline, offline.js's database of changes waiting).
CLEAR_SITE_DATA = '"cache", "storage"'
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}

Page = Callable[[Request, BrowserSignIn], Awaitable[Response]]
# What every signed-in page shows besides its own (the sidebar, the bell's count): more of its
# context.
PageContext = Callable[[Request, BrowserSignIn], Awaitable[dict[str, Any]]]


class Sidebar(Protocol):
    """The sidebar read on a page's own connection (SidebarPages.sidebar), with the key of the
    list whose kept sort and view it reads in the same round trip (a list page's), the id of
    the list whose sections it reads there too, and (`page`) what gives the page of tasks it
    reads there as well (sidebar_pages.sidebar)."""

    def __call__(
        self,
        conn: Connection,
        signed_in: BrowserSignIn,
        sort_key: str | None = None,
        list_id: uuid.UUID | None = None,
        *,
        page: Callable[[str | None], Any] | None = None,
    ) -> Awaitable[dict[str, Any]]: ...


Handler = Callable[[Request], Awaitable[Response]]


class Site:
    """The pages' shared parts: settings, the sign-in cookie and form tokens, the static files."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signins = WebSignIns(settings)
        self.assets = assets()
        self.icons = Icons(settings.app_icon, self.assets)  # made once, from APP_ICON
        self.page_context: list[PageContext] = []  # page modules add theirs
        self.sidebar: Sidebar = _no_sidebar  # sidebar_pages sets it

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
        from todo_api.web.common.templates import templates  # Jinja2, with the first page

        browser = self.signins.browser(request)
        language = self.language(request)
        context = {**getattr(request.state, "page_context", {}), **context}
        context["live_since"] = live_since(request, context.pop("feed_bound", None), context)
        query = request.scope.get("query_string")  # the URL made only for a query (most have none)
        html = (
            templates(language)
            .get_template(template)
            .render(
                csrf_token=self.signins.form_token(request, browser),
                here=url_path(request) + (f"?{request.url.query}" if query else ""),
                lang=language,
                fetched=request.method == "GET",
                vapid_key=self.settings.vapid_public_key,
                app_name=self.settings.app_name,
                icons=self.icons,
                # For static/offline.js: whose page it is (its caches are named so), when it
                # was made (said when it is shown again from the device, offline), and the
                # person's clock (the day a change made offline falls on).
                device_key=getattr(request.state, "device_key", ""),
                device_zone=getattr(request.state, "device_zone", ""),
                made_at=utcnow().isoformat(timespec="seconds"),
                **context,
            )
        )
        response = compressed(request, html, status)
        self.signins.keep(response, browser)
        return response

    def refused(self, request: Request) -> Response:
        """A form without this browser's token: posted from another site, or too old."""
        return self.render(request, "refused.html", 403)

    def signed_in(
        self,
        page: Page,
        *,
        writes: bool = False,
        shared: bool = True,
        stream: bool = False,
        confirms: bool = False,
    ) -> Handler:
        """`page` for a signed-in browser (a form checked for its CSRF token first); anyone
        else goes to the sign-in page, told so if their sign-in has ended. `shared=False`:
        the page reads what `page_context` gives (the bell's count) in a statement of its own
        (the list pages' sidebar), so the hooks run only for a page it could not show.
        `stream=True` (live.js's EventSource, which nobody reads): no sign-in is a bare 401,
        and an ended one keeps its cookie, so that the next page the person opens says why.
        `confirms=True` (a page that only reads, whose first statement is the sidebar's): a
        sign-in this process knows to work goes to the page with the user's row it read last,
        and the sidebar's statement reads the row again and checks it is the same (one round
        trip less); if it is not, the page is made again from the row the gate reads."""

        async def handle(request: Request) -> Response:
            if writes:
                form = await request.form()
                if not self.signins.form_token_valid(request, form.get("csrf_token")):
                    return self.refused(request)
            if confirms:
                remembered = self.signins.sign_ins.remembered(request)
                confirmation = None if remembered is None else remembered.confirmation
                if remembered is not None and confirmation is not None:
                    try:
                        response = await shown(request, remembered)
                    except Unconfirmed:
                        pass  # changed or gone: as any other sign-in, below
                    else:
                        if confirmation.done:
                            return response
            signed_in = await self.signins.current(request)
            if signed_in is None:
                if stream:  # an EventSource shows no page: a sign-in page is an error to it
                    return Response(status_code=401, headers=HEADERS)
                if self.signins.sign_ins.held_one(request):
                    _ = self.words(request)
                    message = _("Your sign-in has ended. Sign in again.")
                    response = self.render(request, "signin.html", 401, message=message)
                    self.signins.sign_ins.forget(response)
                    # Ended elsewhere (logout-all, a reset, ...): nothing of theirs stays here.
                    response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
                    return response
                return redirect(SIGN_IN)
            return await shown(request, signed_in)

        async def shown(request: Request, signed_in: BrowserSignIn) -> Response:
            request.state.language = language_of(
                getattr(signed_in.user, "language", None), request.headers.get("accept-language")
            )
            request.state.device_key = device_key(signed_in)
            request.state.device_zone = zone_of(signed_in)
            request.state.page_context = {}
            if shared:
                await self.add_page_context(request, signed_in)
            key = request.headers.get("idempotency-key") if writes else None
            try:
                if key is not None:
                    return await self.once(request, signed_in, page, key)
                return await page(request, signed_in)
            except (NotFound, Forbidden, IdempotencyKeyReused) as exc:
                if not shared:
                    await self.add_page_context(request, signed_in)
                template, status = said_apart(exc)
                return self.render(request, template, status, user=signed_in.user)

        return handle

    async def once(
        self, request: Request, signed_in: BrowserSignIn, page: Page, key: str
    ) -> Response:
        """A form sent with an `Idempotency-Key` (static/offline.js sends each change made
        offline so, as often as it takes): done once, the same key again answered with the
        first answer (`Idempotent-Replayed`), as the API does. The form's token is not part of
        what must match: a change may be sent again from a newer page."""
        if not valid_key(key):
            return refused("Idempotency-Key must be 1 to 255 visible ASCII characters")
        form = await request.form()
        fields = sorted((k, str(v)) for k, v in form.multi_items() if k != "csrf_token")
        fingerprint = request_fingerprint(request.method, request.url.path, json.dumps(fields))
        first: list[Response] = []

        async def produce() -> StoredResponse:
            response = await page(request, signed_in)
            first.append(response)
            body = bytes(getattr(response, "body", b""))
            if response.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            kept = {
                k: response.headers[k]
                for k in ("location", "content-type")
                if k in response.headers
            }
            return StoredResponse(response.status_code, body.decode(), kept)

        kept = await respond_once_apart(
            database(request),
            user_id=user_id(signed_in),
            key=key,
            fingerprint=fingerprint,
            ttl=timedelta(hours=self.settings.idempotency_key_hours),
            produce=produce,
        )
        if first:
            return first[0]
        headers = {**HEADERS, **kept.headers, "Idempotent-Replayed": "true"}
        return Response(kept.body, kept.status_code, headers)

    async def add_page_context(self, request: Request, signed_in: BrowserSignIn) -> None:
        for more in self.page_context:
            request.state.page_context.update(await more(request, signed_in))


def said_apart(exc: ApiError) -> tuple[str, int]:
    """The page (and its status) for what a signed-in page refuses with the domains' own
    errors: a thing not theirs to see (404); one they see but may not change, as the form it
    would show would be refused (403: the page checks what its form's post checks); a form
    sent again with its Idempotency-Key and another body (409, a page and not the API's
    JSON: offline.js shows it in place of the page and drops the change)."""
    if isinstance(exc, NotFound):
        return "not_found.html", 404
    if isinstance(exc, Forbidden):
        return "forbidden.html", 403
    return "sent_before.html", 409


async def _no_sidebar(
    conn: Connection,
    signed_in: BrowserSignIn,
    sort_key: str | None = None,
    list_id: uuid.UUID | None = None,
    *,
    page: Callable[[str | None], Any] | None = None,
) -> dict[str, Any]:
    raise NotImplementedError("the app's sidebar module sets Site.sidebar")


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


def no_content() -> Response:
    """After a script's post (a card or a column dragged on the board, a browser's push
    subscription dropped): done, nothing to show (204)."""
    return Response(status_code=204, headers=HEADERS)


def refused(text: str) -> Response:
    """A script's post refused (htmx, a drag, static/offline.js): 400, with the reason as plain
    text for the script to show."""
    return Response(text, 400, headers=HEADERS, media_type="text/plain")


def is_htmx(request: Request) -> bool:
    """A request htmx made (JavaScript on): answered with a part of the page, not a page."""
    return request.headers.get("hx-request") == "true"


def device_key(signed_in: BrowserSignIn) -> str:
    """A name for what this sign-in keeps on the device (static/sw.js's caches, offline.js's
    database): a hash of the sign-in's id, never the cookie's secret."""
    return hashlib.sha256(f"device:{signed_in.sign_in}".encode()).hexdigest()[:20]


def zone_of(signed_in: BrowserSignIn) -> str:
    """The signed-in person's time zone, from the row the gate read (no statement of its own)."""
    return str(signed_in.user.timezone or zones.DEFAULT_ZONE)


def live_since(request: Request, bound: int | None, context: dict[str, Any]) -> str | None:
    """Where the page's live updates start (static/live.js opens its stream `?since=` it): the
    feed as the page's first statement saw it, so that nothing that changed between that read
    and the stream's opening is missed. None for a page that read no sidebar."""
    user = context.get("user")
    if bound is None or user is None:
        return None
    tokens = held(request.app, changes.SyncTokens)
    return tokens.issue(uuid.UUID(str(user.id)), changes.position_at(bound), time.time())


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
        return "; ".join(
            f"{_place(detail)}{detail.field}: {detail.message}" for detail in exc.details
        )
    return str(exc)


def _place(detail: Any) -> str:
    """Where in a file an import's error is (its line, or its place in a JSON document)."""
    line, index = getattr(detail, "line", None), getattr(detail, "index", None)
    if line is not None:
        return f"Line {line}, "
    return "" if index is None else f"At {index}, "
