"""The web app's pages: signing in and out, a list's open tasks (Inbox, Today, Upcoming, each
list), quick add, completing a task, and a task's own page (edit, delete).

Every page is a whole HTML document that works with JavaScript off: forms post and the answer
is a redirect (303) to the page to show. With JavaScript, htmx swaps a completed task's row
out instead of reloading (a request with `HX-Request`). Pages call the domains' services on a
connection of their own, as the API's routes do.
"""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from babel import dates as babel_dates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import two_factor
from todo_api.accounts.browser import BrowserSignIn
from todo_api.accounts.requests import check_code, check_sign_in
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.errors import InvalidCredentials, InvalidToken
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.edge import docs
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, NotFound
from todo_api.kit.ids import utcnow
from todo_api.kit.ratelimit import RateLimited
from todo_api.kit.text import canonical_email
from todo_api.lists import service as lists
from todo_api.tasks import pages, quick, schedule
from todo_api.tasks import service as tasks
from todo_api.tasks.listing import CursorCodec, InvalidCursor, ListQuery, TaskFilters
from todo_api.tasks.schemas import QuickAdd, TaskUpdate, task_body
from todo_api.web.assets import PREFIX as STATIC_PREFIX
from todo_api.web.assets import Assets
from todo_api.web.messages import translations
from todo_api.web.signins import WebSignIns

APP = "/app/"
SIGN_IN = "/app/signin"
PAGE_SIZE = 50
# Scripts, styles and everything else from this origin only, none inline; never framed.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
}
PRIORITIES = ("none", "low", "medium", "high")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations("en"), newstyle=True)  # type: ignore[attr-defined]
    return env


_templates = _environment()
_ = translations("en").gettext


@dataclass(frozen=True, slots=True)
class View:
    """What a list page shows: its heading, the filters of its tasks, its address, and the list
    quick add puts tasks in (None: the inbox, or where the text says)."""

    key: str
    heading: str
    filters: TaskFilters
    path: str
    list_id: uuid.UUID | None = None


class WebApp:
    """The pages' handlers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._signins = WebSignIns(settings)
        self._assets = Assets()

    def routes(self) -> list[BaseRoute]:
        """The app's routes, and `GET /` (a browser goes to the app, others get what / says)."""
        root = Route("/", self.root, methods=["GET"])
        static = Route(STATIC_PREFIX + "{name}", self._assets.serve, methods=["GET"])
        if not self._settings.builtin_accounts_enabled:
            return [
                root,
                static,
                Route(APP, self.unavailable, methods=["GET"]),
                Route("/app/{rest:path}", self.unavailable, methods=["GET", "POST"]),
            ]
        signed = self._signed_in
        return [
            root,
            static,
            Route(SIGN_IN, self.sign_in_page, methods=["GET"]),
            Route(SIGN_IN, self.sign_in, methods=["POST"]),
            Route("/app/signout", self.sign_out, methods=["POST"]),
            Route(APP, signed(self.inbox), methods=["GET"]),
            Route("/app/today", signed(self.today), methods=["GET"]),
            Route("/app/upcoming", signed(self.upcoming), methods=["GET"]),
            Route("/app/lists/{list_id}", signed(self.one_list), methods=["GET"]),
            Route("/app/quick", signed(self.quick_add, writes=True), methods=["POST"]),
            Route("/app/tasks/{task_id}", signed(self.task), methods=["GET"]),
            Route("/app/tasks/{task_id}", signed(self.save, writes=True), methods=["POST"]),
            Route(
                "/app/tasks/{task_id}/complete",
                signed(self.complete, writes=True),
                methods=["POST"],
            ),
            Route(
                "/app/tasks/{task_id}/delete", signed(self.delete, writes=True), methods=["POST"]
            ),
        ]

    # Pages and their parts

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        browser = self._signins.browser(request)
        html = _templates.get_template(template).render(
            asset=self._assets.url,
            csrf_token=self._signins.form_token(browser),
            **context,
        )
        response = HTMLResponse(html, status, headers=HEADERS)
        self._signins.keep(response, browser)
        return response

    async def root(self, request: Request) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(APP, 303)
        return await docs.root()

    async def unavailable(self, request: Request) -> Response:
        return self.render(request, "unavailable.html", 404)

    def _signed_in(
        self,
        page: Callable[[Request, BrowserSignIn], Awaitable[Response]],
        *,
        writes: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        """`page` for a signed-in browser (a form checked for its CSRF token first); anyone
        else goes to the sign-in page, told so if their sign-in has ended."""

        async def handle(request: Request) -> Response:
            if writes:
                form = await request.form()
                if not self._signins.form_token_valid(request, form.get("csrf_token")):
                    return self.render(request, "refused.html", 403)
            signed_in = await self._signins.current(request)
            if signed_in is None:
                if self._signins.sign_ins.held_one(request):
                    message = _("Your sign-in has ended. Sign in again.")
                    response = self.render(request, "signin.html", 401, message=message)
                    self._signins.sign_ins.forget(response)
                    return response
                return RedirectResponse(SIGN_IN, 303, headers=HEADERS)
            try:
                return await page(request, signed_in)
            except NotFound:
                return self.render(request, "not_found.html", 404, user=signed_in.user)

        return handle

    # Signing in and out

    async def sign_in_page(self, request: Request) -> Response:
        # Shown to a signed-in browser too: signing in (as someone else) ends the sign-in it
        # held, one planted by someone else included.
        return self.render(request, "signin.html")

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        if not self._signins.form_token_valid(request, form.get("csrf_token")):
            return self.render(request, "refused.html", 403)
        if form.get("action") == "code":
            return await self._second_factor(request, form)
        email = canonical_email(str(form.get("email") or "")) or ""
        password = str(form.get("password") or "")[:1024]
        try:
            user = await check_sign_in(request, email, password)
        except RateLimited:
            message = _("Too many attempts; try again in a minute.")
            return self.render(request, "signin.html", 429, email=email, message=message)
        except InvalidCredentials:
            message = _("Incorrect email or password.")
            return self.render(request, "signin.html", 401, email=email, message=message)
        if self._unconfirmed(user):
            message = _("Confirm your email first: follow the link sent to it.")
            return self.render(request, "signin.html", 403, email=email, message=message)
        if user.totp_enabled_at is not None:  # a code from the authenticator app too
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return self.render(request, "code.html", mfa_token=mfa_token)
        return await self._signed_in_now(request, user)

    async def _second_factor(self, request: Request, form: Mapping[str, Any]) -> Response:
        challenges = held(request.app, Challenges)
        mfa_token = str(form.get("mfa_token") or "")[:1024]
        code = str(form.get("code") or "")[:20]
        try:
            user_id, nonce = await challenges.open(mfa_token)
            number = await challenges.try_code(user_id)
        except InvalidToken:
            message = _("The sign-in took too long or had too many wrong codes; sign in again.")
            return self.render(request, "signin.html", 401, message=message)
        except two_factor.TooManyWrongCodes as exc:
            message = _("Too many wrong codes for this account; try again later.")
            response = self.render(request, "signin.html", 429, message=message)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        user, accepted = await check_code(request, user_id, code)
        if not accepted or user is None:
            challenges.wrong_code(number, user.email if user is not None else None)
            message = _("The code is not right (or was used already).")
            return self.render(request, "code.html", 401, mfa_token=mfa_token, message=message)
        await challenges.right_code(user_id)
        await challenges.close(nonce)
        return await self._signed_in_now(request, user)

    async def _signed_in_now(self, request: Request, user: Row) -> Response:
        """To the inbox, with the browser signed in as `user` (a new sign-in: one held before
        ends, so a sign-in planted beforehand is worth nothing)."""
        response = RedirectResponse(APP, 303, headers=HEADERS)
        await self._signins.sign_ins.start(request, response, uuid.UUID(str(user.id)))
        return response

    def _unconfirmed(self, user: Row) -> bool:
        return self._settings.email_verification_mode == "required" and not user.email_verified

    async def sign_out(self, request: Request) -> Response:
        form = await request.form()
        if not self._signins.form_token_valid(request, form.get("csrf_token")):
            return self.render(request, "refused.html", 403)
        response = self.render(request, "signin.html", message=_("You are signed out."))
        await self._signins.sign_ins.end(request, response)
        return response

    # The lists

    async def inbox(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self._list_page(
            request, signed_in, await self._view_at(request, signed_in, APP)
        )

    async def today(self, request: Request, signed_in: BrowserSignIn) -> Response:
        view = await self._view_at(request, signed_in, "/app/today")
        return await self._list_page(request, signed_in, view)

    async def upcoming(self, request: Request, signed_in: BrowserSignIn) -> Response:
        view = await self._view_at(request, signed_in, "/app/upcoming")
        return await self._list_page(request, signed_in, view)

    async def one_list(self, request: Request, signed_in: BrowserSignIn) -> Response:
        path = f"/app/lists/{request.path_params['list_id']}"
        return await self._list_page(
            request, signed_in, await self._view_at(request, signed_in, path)
        )

    async def _view_at(self, request: Request, signed_in: BrowserSignIn, path: str) -> View:
        """The view whose address is `path` (a page's, or where a form returns to)."""
        if path in ("/app/today", "/app/upcoming"):
            async with database(request).connection() as conn:
                zone = await schedule.user_zone(conn, _user_id(signed_in))
            start = zones.start_of(utcnow().astimezone(zones.zone(zone)).date(), zone)
            if path == "/app/today":  # due before tomorrow: overdue ones too
                filters = TaskFilters(completed=False, due_before=start + timedelta(days=1))
                return View("today", _("Today"), filters, path)
            filters = TaskFilters(
                completed=False, due_after=start, due_before=start + timedelta(days=8)
            )
            return View("upcoming", _("Upcoming"), filters, path)
        if path.startswith("/app/lists/"):
            list_id = _uuid(path.removeprefix("/app/lists/"))
            async with database(request).connection() as conn:
                found = await lists.get_list(conn, _user_id(signed_in), list_id)
            filters = TaskFilters(completed=False, list_id=list_id)
            return View("list", found["name"], filters, path, list_id)
        return View("inbox", _("Inbox"), TaskFilters(completed=False, inbox=True), APP)

    async def _list_page(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        view: View,
        *,
        status: int = 200,
        message: str | None = None,
        text: str = "",
    ) -> Response:
        user_id = _user_id(signed_in)
        query = ListQuery(filters=view.filters, sort="position", limit=PAGE_SIZE)
        cursor = request.query_params.get("cursor")
        if cursor:
            query = replace(query, cursor=cursor)
        async with database(request).connection() as conn:
            zone = await schedule.user_zone(conn, user_id)
            try:
                page = await pages.list_tasks(
                    conn, user_id, query=query, cursors=held(request.app, CursorCodec)
                )
            except InvalidCursor:
                raise NotFound from None
            sidebar = await lists.list_lists(conn, user_id)
        shown = [_task_row(task, zone) for task in page.tasks]
        more = None if page.next_cursor is None else f"{view.path}?cursor={page.next_cursor}"
        return self.render(
            request,
            "list.html",
            status,
            user=signed_in.user,
            lists=sidebar,
            view=view,
            tasks=shown,
            more=more,
            message=message,
            text=text,
        )

    async def quick_add(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        back = _back(form.get("back"))
        text = str(form.get("text") or "")
        list_id = form.get("list_id") or None
        lang = quick.language(request.headers.get("accept-language"))
        try:
            data = QuickAdd.model_validate({"text": text, "list_id": list_id})
            async with database(request).connection() as conn:
                await quick.quick_add(conn, _user_id(signed_in), data=data, lang=lang)
        except (ValidationError, ApiError) as exc:
            view = await self._view_at(request, signed_in, back)
            return await self._list_page(
                request, signed_in, view, status=400, message=_problem(exc), text=text
            )
        return RedirectResponse(back, 303, headers=HEADERS)

    # A task

    async def task(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        task_id = _uuid(request.path_params["task_id"])
        user_id = _user_id(signed_in)
        async with database(request).connection() as conn:
            zone = await schedule.user_zone(conn, user_id)
            found = await tasks.get_task(conn, user_id, task_id=task_id)
            sidebar = await lists.list_lists(conn, user_id)
        return self.render(
            request,
            "task.html",
            context.pop("status", 200),
            user=signed_in.user,
            lists=sidebar,
            task=_task_row(task_body(found), zone),
            priorities=PRIORITIES,
            **context,
        )

    async def save(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = _uuid(request.path_params["task_id"])
        user_id = _user_id(signed_in)
        form = await request.form()
        changes: dict[str, Any] = {
            "title": str(form.get("title") or ""),
            "description": str(form.get("description") or "") or None,
            "priority": form.get("priority"),
        }
        due = str(form.get("due") or "")
        if due != str(form.get("due_shown") or ""):  # a timed due stays as it is unless changed
            changes.update(due_date=due or None, due_at=None)
        try:
            data = TaskUpdate.model_validate(changes)
            async with database(request).connection() as conn:
                await tasks.update_task(conn, user_id, task_id=task_id, data=data)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return await self.task(request, signed_in, status=400, message=_problem(exc))
        return RedirectResponse(f"/app/tasks/{task_id}", 303, headers=HEADERS)

    async def complete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = _uuid(request.path_params["task_id"])
        form = await request.form()
        async with database(request).connection() as conn:
            await tasks.set_completed(conn, _user_id(signed_in), task_id=task_id, completed=True)
        if request.headers.get("hx-request") == "true":
            return HTMLResponse("", headers=HEADERS)  # htmx swaps the row out
        return RedirectResponse(_back(form.get("back")), 303, headers=HEADERS)

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = _uuid(request.path_params["task_id"])
        async with database(request).connection() as conn:
            found = await tasks.get_task(conn, _user_id(signed_in), task_id=task_id)
            await tasks.delete_task(conn, _user_id(signed_in), task_id=task_id)
        list_id = found["list_id"]
        back = APP if list_id is None else f"/app/lists/{list_id}"
        return RedirectResponse(back, 303, headers=HEADERS)


def _user_id(signed_in: BrowserSignIn) -> uuid.UUID:
    return uuid.UUID(str(signed_in.user.id))


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise NotFound from None


def _back(value: object) -> str:
    """Where a form returns to: a page of this app, never another site."""
    if isinstance(value, str) and value.startswith(APP) and not value.startswith("/app//"):
        return value
    return APP


def _problem(exc: Exception) -> str:
    """A sentence for the person who filled the form."""
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"{where}: {error['msg']}"
    if isinstance(exc, ApiError) and exc.details:
        return "; ".join(f"{detail.field}: {detail.message}" for detail in exc.details)
    return str(exc)


def _task_row(task: dict[str, Any], zone: str) -> dict[str, Any]:
    """A task as the pages show it: its due on the user's clock, in words."""
    shown = dict(task)
    due_at, due_date = task.get("due_at"), task.get("due_date")
    shown["due_text"], shown["due_value"] = "", ""
    if due_at:
        moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
        local = moment.astimezone(zones.zone(zone))
        shown["due_text"] = babel_dates.format_datetime(local, "medium", locale="en")
        shown["due_value"] = local.date().isoformat()
    elif due_date:
        day = due_date if isinstance(due_date, date) else date.fromisoformat(due_date)
        shown["due_text"] = babel_dates.format_date(day, "medium", locale="en")
        shown["due_value"] = day.isoformat()
    shown["tags"] = list(task.get("tags") or [])
    return shown
