"""A list's open tasks (Inbox, Today, Upcoming, each list), quick add into the list in view,
and completing a task from the list."""

import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, NotFound
from todo_api.kit.ids import utcnow
from todo_api.lists import service as lists
from todo_api.tasks import pages, quick, schedule
from todo_api.tasks import service as tasks
from todo_api.tasks.listing import CursorCodec, InvalidCursor, ListQuery, TaskFilters
from todo_api.tasks.schemas import QuickAdd
from todo_api.web.action_pages import just_completed, undo_line, undo_path
from todo_api.web.shown import task_row
from todo_api.web.site import (
    APP,
    Site,
    back_to,
    is_htmx,
    parse_uuid,
    problem,
    redirect,
    user_id,
)

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class View:
    """What a list page shows: its heading, the filters of its tasks, its address, and the list
    quick add puts tasks in (None: the inbox, or where the text says)."""

    key: str
    heading: str
    filters: TaskFilters
    path: str
    list_id: uuid.UUID | None = None


class ListPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route(APP, signed(self.inbox), methods=["GET"]),
            Route("/app/today", signed(self.today), methods=["GET"]),
            Route("/app/upcoming", signed(self.upcoming), methods=["GET"]),
            Route("/app/lists/{list_id}", signed(self.one_list), methods=["GET"]),
            Route("/app/quick", signed(self.quick_add, writes=True), methods=["POST"]),
            Route(
                "/app/tasks/{task_id}/complete",
                signed(self.complete, writes=True),
                methods=["POST"],
            ),
        ]

    async def inbox(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self.list_page(request, signed_in, await self.view_at(request, signed_in, APP))

    async def today(self, request: Request, signed_in: BrowserSignIn) -> Response:
        view = await self.view_at(request, signed_in, "/app/today")
        return await self.list_page(request, signed_in, view)

    async def upcoming(self, request: Request, signed_in: BrowserSignIn) -> Response:
        view = await self.view_at(request, signed_in, "/app/upcoming")
        return await self.list_page(request, signed_in, view)

    async def one_list(self, request: Request, signed_in: BrowserSignIn) -> Response:
        path = f"/app/lists/{request.path_params['list_id']}"
        return await self.list_page(
            request, signed_in, await self.view_at(request, signed_in, path)
        )

    async def view_at(self, request: Request, signed_in: BrowserSignIn, path: str) -> View:
        """The view whose address is `path` (a page's, or where a form returns to)."""
        _ = self.site.words(request)
        if path in ("/app/today", "/app/upcoming"):
            async with database(request).connection() as conn:
                zone = await schedule.user_zone(conn, user_id(signed_in))
            start = zones.start_of(utcnow().astimezone(zones.zone(zone)).date(), zone)
            if path == "/app/today":  # due before tomorrow: overdue ones too
                filters = TaskFilters(completed=False, due_before=start + timedelta(days=1))
                return View("today", _("Today"), filters, path)
            filters = TaskFilters(
                completed=False, due_after=start, due_before=start + timedelta(days=8)
            )
            return View("upcoming", _("Upcoming"), filters, path)
        if path.startswith("/app/lists/"):
            list_id = parse_uuid(path.removeprefix("/app/lists/"))
            async with database(request).connection() as conn:
                found = await lists.get_list(conn, user_id(signed_in), list_id)
            filters = TaskFilters(completed=False, list_id=list_id)
            return View("list", found["name"], filters, path, list_id)
        return View("inbox", _("Inbox"), TaskFilters(completed=False, inbox=True), APP)

    async def list_page(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        view: View,
        *,
        status: int = 200,
        message: str | None = None,
        text: str = "",
    ) -> Response:
        owner = user_id(signed_in)
        query = ListQuery(filters=view.filters, sort="position", limit=PAGE_SIZE)
        cursor = request.query_params.get("cursor")
        if cursor:
            query = replace(query, cursor=cursor)
        async with database(request).connection() as conn:
            zone = await schedule.user_zone(conn, owner)
            try:
                page = await pages.list_tasks(
                    conn, owner, query=query, cursors=held(request.app, CursorCodec)
                )
            except InvalidCursor:
                raise NotFound from None
            sidebar = await lists.list_lists(conn, owner)
            undo = await just_completed(request, conn, owner)
        language = self.site.language(request)
        shown = [task_row(task, zone, language) for task in page.tasks]
        more = None if page.next_cursor is None else f"{view.path}?cursor={page.next_cursor}"
        return self.site.render(
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
            undo=undo,
        )

    async def quick_add(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        back = back_to(form.get("back"))
        text = str(form.get("text") or "")
        list_id = form.get("list_id") or None
        lang = quick.language(request.headers.get("accept-language"))
        try:
            data = QuickAdd.model_validate({"text": text, "list_id": list_id})
            async with database(request).connection() as conn:
                await quick.quick_add(conn, user_id(signed_in), data=data, lang=lang)
        except (ValidationError, ApiError) as exc:
            view = await self.view_at(request, signed_in, back)
            return await self.list_page(
                request, signed_in, view, status=400, message=problem(exc), text=text
            )
        return redirect(back)

    async def complete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        back = back_to(form.get("back"))
        async with database(request).connection() as conn:
            task = await tasks.set_completed(
                conn, user_id(signed_in), task_id=task_id, completed=True
            )
        if is_htmx(request):  # the row gives way to a line offering `Undo`
            return undo_line(self.site, request, dict(task), back)
        return redirect(undo_path(back, task_id))
