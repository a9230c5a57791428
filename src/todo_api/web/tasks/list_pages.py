"""A list's tasks (Inbox, Today, Upcoming, each list, each saved filter): narrowed by words
(`q`) and by the filter language (`filter`), completed ones on request, 50 at a time, in the
sort the person keeps for the list (Today and Upcoming by day: web.tasks.day_order); quick add into
the list in view, and completing and reopening a task from the list."""

import dataclasses
import functools
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.filters import service as saved_filters
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, InvalidField, ListNotFound, NotFound
from todo_api.kit.ids import utcnow
from todo_api.kit.text import storable
from todo_api.lists import service as lists
from todo_api.lists import views
from todo_api.lists.schemas import ListCreate
from todo_api.tables.tasks import TaskRow
from todo_api.tasks import counts, filter_query, pages, quick
from todo_api.tasks import service as tasks
from todo_api.tasks.dependencies import with_filter
from todo_api.tasks.listing import (
    MAX_LIMIT,
    CursorCodec,
    InvalidCursor,
    ListQuery,
    Sort,
    TaskFilters,
)
from todo_api.tasks.schemas import QuickAdd, TaskCreate, TaskUpdate, task_body
from todo_api.web.common.messages import translations
from todo_api.web.common.shown import now_in
from todo_api.web.common.site import (
    APP,
    Site,
    back_to,
    is_htmx,
    parse_uuid,
    problem,
    redirect,
    refused,
    user_id,
    zone_of,
)
from todo_api.web.tasks import calendar, calendar_pages, day_order, filter_words
from todo_api.web.tasks.action_pages import just_completed, undo_completion, undo_line, undo_path
from todo_api.web.tasks.rows import due_presets, task_rows, tree_rows

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 200  # as the API's `q`
# Upcoming's days (today and the six after it); beyond them, `Later`.
UPCOMING_DAYS = 7
# The sorts a list offers, by the name its form sends: the listing's sort each is.
SORTS: dict[str, Sort] = {
    "manual": "position",
    "due": "due_at",
    "priority": "-priority",
    "title": "title",
    "added": "-created_at",
}
# The views shown by day, sorted by when their tasks are due.
BY_DAY = frozenset({"today", "upcoming"})


@dataclass(frozen=True, slots=True)
class View:
    """What a list page shows: its heading, the filters of its tasks, its address, and the list
    quick add puts tasks in (None: the inbox, or where the text says)."""

    key: str
    heading: str
    filters: TaskFilters
    path: str
    list_id: uuid.UUID | None = None
    filter_id: uuid.UUID | None = None  # a saved filter's page: its id and query
    query: str = ""

    @property
    def sort_key(self) -> str | None:
        """What the person's sort of this view is kept under (None: a view of its own order,
        by day or by due date)."""
        if self.key == "list":
            return str(self.list_id)
        return self.key if self.key == "inbox" or self.key.startswith("filter:") else None

    @property
    def layout_key(self) -> str | None:
        """What the person's layout of this view (`list`, `board` for a list, `calendar`) is
        kept under, beside its sort (None: `Later`, always a list)."""
        return self.sort_key or (self.key if self.key in BY_DAY else None)


@dataclass(frozen=True, slots=True)
class Sectioned:
    """A list shown by its sections: its sections (`id`, `name`, in order), and whether as a
    board (a column each) or as the list (a heading each)."""

    sections: list[dict[str, Any]]
    board: bool

    @classmethod
    def of(cls, sections: list[dict[str, Any]] | None, board: bool) -> "Sectioned | None":
        """A list page's (None elsewhere, and for a list without sections shown as a list)."""
        if sections is None or not (sections or board):
            return None
        return cls(sections, board)


def list_named(seen: list[dict[str, Any]], list_id: uuid.UUID | None) -> str:
    """The name of the list `list_id` among the lists the person sees (the sidebar's, which
    `lists.get_list` would find too); raises ListNotFound when it is not one of them."""
    for item in seen:
        if item["id"] == list_id:
            return str(item["name"])
    raise ListNotFound


def one_group(query: ListQuery) -> ListQuery:
    """A filter of several groups (`today, overdue`) as one view: a task of any of them."""
    if not query.groups:
        return query
    node = filter_query.Or(tuple(group.node for group in query.groups))
    filters = dataclasses.replace(query.filters, filter=node)
    return dataclasses.replace(query, filters=filters, groups=())


OPEN = TaskFilters(completed=False)
INBOX = dataclasses.replace(OPEN, inbox=True)


def near_days(zone: str) -> dict[str, TaskFilters]:
    """Today's (due before tomorrow: overdue ones too) and the coming week's open tasks
    (overdue ones too, as its page shows them), on the user's clock."""
    return _near_days(zone, utcnow().astimezone(zones.zone(zone)).date())


def later_days(zone: str) -> TaskFilters:
    """The open tasks due after Upcoming's days."""
    start = zones.start_of(utcnow().astimezone(zones.zone(zone)).date(), zone)
    return dataclasses.replace(OPEN, due_after=start + timedelta(days=UPCOMING_DAYS))


@functools.lru_cache(maxsize=1024)  # made once a day for each zone (every page's sidebar)
def _near_days(zone: str, today: date) -> dict[str, TaskFilters]:
    start = zones.start_of(today, zone)
    return {
        "today": dataclasses.replace(OPEN, due_before=start + timedelta(days=1)),
        "upcoming": dataclasses.replace(OPEN, due_before=start + timedelta(days=UPCOMING_DAYS)),
    }


class ListPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        # The sidebar's statement reads the bell's count too; a row's answer has no bell.
        signed = functools.partial(self.site.signed_in, shared=False)
        # A page read: the user's row checked by the sidebar's statement (Site.signed_in).
        read = functools.partial(signed, confirms=True)
        return [
            Route(APP, read(self.inbox), methods=["GET"]),
            Route("/app/today", read(self.today), methods=["GET"]),
            Route("/app/upcoming", read(self.upcoming), methods=["GET"]),
            Route("/app/later", read(self.later), methods=["GET"]),
            Route("/app/sort", signed(self.keep_sort, writes=True), methods=["POST"]),
            Route("/app/view", signed(self.keep_view, writes=True), methods=["POST"]),
            Route("/app/lists/{list_id}", read(self.one_list), methods=["GET"]),
            Route("/app/filters/{filter_id}", read(self.saved_filter), methods=["GET"]),
            Route("/app/quick", signed(self.quick_add, writes=True), methods=["POST"]),
            Route(
                "/app/tasks/{task_id}/complete",
                signed(self.complete, writes=True),
                methods=["POST"],
            ),
            Route(
                "/app/tasks/{task_id}/reopen",
                signed(self.reopen, writes=True),
                methods=["POST"],
            ),
            Route(
                "/app/tasks/{task_id}/title",
                signed(self.retitle, writes=True),
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

    async def later(self, request: Request, signed_in: BrowserSignIn) -> Response:
        view = await self.view_at(request, signed_in, "/app/later")
        return await self.list_page(request, signed_in, view)

    async def keep_sort(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Keep the sort chosen for the list the form was sent from, and show it so (a page
        after the first was read in the old sort: the list starts again)."""
        form = await request.form()
        back = back_to(form.get("back"))
        view = await self.view_at(request, signed_in, back)
        sort = str(form.get("sort") or "")
        if view.sort_key is None or sort not in SORTS:
            raise NotFound
        async with database(request).connection() as conn:
            await views.keep_sort(conn, user_id(signed_in), view.sort_key, sort)
        kept = [
            (name, value) for name, value in parse_qsl(urlsplit(back).query) if name != "cursor"
        ]
        return redirect(f"{view.path}?{urlencode(kept)}" if kept else view.path)

    async def keep_view(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Keep the layout (`list`, `board` for a list, `calendar`) chosen for the view the form
        was sent from."""
        form = await request.form()
        back = back_to(form.get("back"))
        view = await self.view_at(request, signed_in, back)
        shown = str(form.get("view") or "")
        board_elsewhere = shown == "board" and view.key != "list"
        if view.layout_key is None or shown not in views.VIEWS or board_elsewhere:
            raise NotFound
        async with database(request).connection() as conn:
            await views.keep_view(conn, user_id(signed_in), view.layout_key, shown)
        return redirect(back)

    async def one_list(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A list's page. Its name is read with the sidebar, which names every list the person
        sees (list_page): no statement of its own for the list's row."""
        path = f"/app/lists/{request.path_params['list_id']}"
        list_id = parse_uuid(path.removeprefix("/app/lists/"))
        filters = dataclasses.replace(OPEN, list_id=list_id)
        return await self.list_page(request, signed_in, View("list", "", filters, path, list_id))

    async def saved_filter(self, request: Request, signed_in: BrowserSignIn) -> Response:
        path = f"/app/filters/{request.path_params['filter_id']}"
        return await self.list_page(
            request, signed_in, await self.view_at(request, signed_in, path)
        )

    async def view_at(self, request: Request, signed_in: BrowserSignIn, path: str) -> View:
        """The view whose address is `path` (a page's, or where a form returns to)."""
        _ = self.site.words(request)
        path = path.partition("?")[0]
        if path in ("/app/today", "/app/upcoming"):
            async with database(request).connection() as conn:
                zone = zone_of(signed_in)
            key = path.removeprefix("/app/")
            heading = _("Today") if key == "today" else _("Upcoming")
            return View(key, heading, near_days(zone)[key], path)
        if path == "/app/later":
            return View("later", _("Later"), later_days(zone_of(signed_in)), path)
        if path.startswith("/app/lists/"):
            list_id = parse_uuid(path.removeprefix("/app/lists/"))
            async with database(request).connection() as conn:
                found = await lists.get_list(conn, user_id(signed_in), list_id)
            filters = dataclasses.replace(OPEN, list_id=list_id)
            return View("list", found["name"], filters, path, list_id)
        if path.startswith("/app/filters/"):
            filter_id = parse_uuid(path.removeprefix("/app/filters/"))
            async with database(request).connection() as conn:
                saved = await saved_filters.get_filter(conn, user_id(signed_in), filter_id)
            query = one_group(with_filter(ListQuery(filters=OPEN), saved["query"]))
            return View(
                f"filter:{filter_id}",
                saved["name"],
                query.filters,
                path,
                filter_id=filter_id,
                query=saved["query"],
            )
        return View("inbox", _("Inbox"), INBOX, APP)

    def asked(
        self, request: Request, view: View, sort: Sort
    ) -> tuple[ListQuery, dict[str, str], str | None]:
        """The page of the view the address asks for, in `sort`: narrowed by `q` and `filter`,
        with the completed tasks on `completed=1`. Also what was typed (to show it again and to
        carry it to the next page), and a sentence when it cannot be read."""
        _ = self.site.words(request)
        params = request.query_params
        typed = {
            "q": params.get("q", "").strip(),
            "filter": params.get("filter", "").strip(),
            "completed": "1" if params.get("completed") == "1" else "",
        }
        query = ListQuery(filters=view.filters, sort=sort, limit=PAGE_SIZE)
        try:
            for name, longest in (("q", SEARCH_MAX_LENGTH), ("filter", filter_query.MAX_LENGTH)):
                if len(typed[name]) > longest:
                    raise InvalidField(name, _("is longer than %(n)s characters") % {"n": longest})
                try:
                    storable(typed[name])
                except ValueError as exc:
                    raise InvalidField(name, str(exc)) from None
            if typed["q"]:
                query = dataclasses.replace(
                    query, filters=dataclasses.replace(query.filters, q=typed["q"])
                )
            if typed["filter"]:
                said = filter_words.unreadable(_, typed["filter"])
                if said is not None:  # in the person's words, not the API's
                    return query, typed, said
                query = one_group(with_filter(query, typed["filter"]))
        except ApiError as exc:
            return query, typed, problem(exc)
        if typed["completed"]:
            filters = dataclasses.replace(query.filters, completed=None)
            query = dataclasses.replace(query, filters=filters)
        cursor = params.get("cursor")
        if cursor:
            query = dataclasses.replace(query, cursor=cursor)
        return query, typed, None

    def page_asked(
        self, request: Request, view: View, chosen: str | None, layout: str | None
    ) -> tuple[ListQuery, dict[str, str], str | None]:
        """The page the address asks for (`asked`), in the sort `chosen` and the `layout`
        kept for the view (a board's: the list whole, as far as one page of the API goes)."""
        sort = SORTS[chosen if chosen in SORTS else "manual"] if view.sort_key else "due_at"
        query, typed, unread = self.asked(request, view, sort)
        if layout == "board":
            query = dataclasses.replace(query, limit=MAX_LIMIT)
        return query, typed, unread

    def grouped(
        self,
        view: View,
        found: list[dict[str, Any]],
        zone: str,
        language: str,
        whole: bool,
        sections: "Sectioned | None",
    ) -> list[day_order.Day]:
        """The page's tasks under their days' headings (Today's and Upcoming's), a list's
        under its sections' (when it has any, or on its board), else as one group; Upcoming
        shows each of its days, with tasks or not, when it shows all of them (`whole`: one
        page)."""
        if sections is not None:
            no_section = translations(language).gettext("(No section)")
            return day_order.by_section(found, sections.sections, no_section, board=sections.board)
        if view.key not in BY_DAY:
            return [day_order.Day("", "", found)]
        today = now_in(zone).date()
        days = UPCOMING_DAYS if view.key == "upcoming" and whole else 0
        near_words = view.key == "upcoming"  # Today's page says `Today` in its own heading
        return day_order.by_day(found, zone, today, language, days, near_words=near_words)

    def sort_names(self, request: Request) -> dict[str, str]:
        """The sorts a list offers, in the person's words."""
        _ = self.site.words(request)
        names = (_("Manual"), _("Due date"), _("Priority"), _("Title"), _("Date added"))
        return dict(zip(SORTS, names, strict=True))

    async def arranged(
        self,
        conn: Connection,
        signed_in: BrowserSignIn,
        view: View,
        found: list[dict[str, Any]],
        whole: bool,
        language: str,
        viewed: Collection[str],
        done_total: dict[uuid.UUID, tuple[int, int]],
        sections: "Sectioned | None" = None,
        files: Mapping[uuid.UUID, int] | None = None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
        """The page's rows, each subtask under its parent where both are shown together (else
        naming it): as one list, or (Today's and Upcoming's, and a list's with `sections`)
        under their days' or sections' headings."""
        zone = zone_of(signed_in)
        groups = self.grouped(view, found, zone, language, whole, sections)
        trees = [day_order.nested(group.tasks) for group in groups]
        parents = {task["id"]: task["title"] for task in found}
        away = set().union(*map(day_order.parents_away, trees)) - parents.keys()
        if away:
            parents.update(await counts.titles(conn, list(away)))
        roots = {node.task["id"] for nodes in trees for node in nodes}
        under = {task["id"] for task in found} - roots
        rows = await task_rows(
            conn, signed_in, found, zone, language, viewed, done_total, parents, under, files
        )
        lines = {row["id"]: row["line"] for row in rows}
        if view.key not in BY_DAY and sections is None:
            return tree_rows(trees[0], lines), None
        days = [
            {"key": group.key, "heading": group.heading, "tasks": tree_rows(nodes, lines)}
            for group, nodes in zip(groups, trees, strict=True)
        ]
        return [], (days if found or sections is not None else [])

    async def list_page(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        view: View,
        *,
        status: int = 200,
        **context: Any,
    ) -> Response:
        owner = user_id(signed_in)
        cursors = held(request.app, CursorCodec)
        shown: list[dict[str, Any]] = []
        days: list[dict[str, Any]] | None = None
        more = None
        whole = False  # the page shows all the view's tasks (no page before it, none after)
        async with database(request).connection() as conn:

            def riding(kept: str | None) -> pages.Asked | None:
                """The page of tasks shown if what is kept for the list is `kept`, when it can
                be read with the sidebar (pages.planned_once)."""
                chosen, layout = views.kept_of(kept)
                if layout == "calendar" and view.layout_key is not None:
                    return None
                query, _typed, unread = self.page_asked(request, view, chosen, layout)
                if unread is not None:
                    return None
                try:
                    return pages.planned_once(owner, query, conn.name, cursors)
                except InvalidCursor:
                    raise NotFound from None

            # The sort kept for the list is read with the sidebar, and the page's tasks with
            # its subtasks in the same statement, in the sort kept last (bench/README.md,
            # "web_page.py").
            side = await self.site.sidebar(
                conn, signed_in, view.layout_key, view.list_id, page=riding
            )
            if view.key == "list":  # named as the sidebar names it; not there: not theirs
                view = dataclasses.replace(view, heading=list_named(side["lists"], view.list_id))
            chosen = side.pop("kept_sort", None)
            sort = chosen if chosen in SORTS else "manual"
            layout = side.pop("kept_view", None)
            sections = side.pop("sections", None)
            ridden = side.pop("page", None)
            if layout == "calendar" and view.layout_key is not None:
                return await calendar_pages.calendar_page(
                    self.site, request, conn, signed_in, view, side, status, context
                )
            board = layout == "board"
            shelves = Sectioned.of(sections, board)
            query, typed, unread = self.page_asked(request, view, chosen, layout)
            page = None
            if unread is None and ridden is not None and ridden[0].query == query:
                asked, rows, (counted, files) = ridden
                page = await pages.page_of(conn, owner, asked, rows, cursors)
                page = dataclasses.replace(page, subtasks=counted, files=files)
            elif unread is None:
                try:
                    page = await pages.list_tasks(
                        conn, owner, query=query, cursors=cursors, subtasks=True
                    )
                except InvalidCursor:
                    raise NotFound from None
            elif not is_htmx(request):  # typing along with htmx, the part shows the alert
                status = 400
            if page is not None:
                done_total = page.subtasks
                language = self.site.language(request)
                viewed = {str(item["id"]) for item in side["lists"] if item["role"] == "viewer"}
                whole = page.next_cursor is None and query.cursor is None
                shown, days = await self.arranged(
                    conn,
                    signed_in,
                    view,
                    page.tasks,
                    whole,
                    language,
                    viewed,
                    done_total,
                    shelves,
                    page.files,
                )
                if page.next_cursor is not None:
                    carried = {key: value for key, value in typed.items() if value}
                    more = f"{view.path}?{urlencode({**carried, 'cursor': page.next_cursor})}"
            undo = await just_completed(request, conn, owner)
        # The person's role in the list in view (None elsewhere): what the page offers them.
        roles = {str(item["id"]): item["role"] for item in side["lists"]}
        list_role = roles.get(str(view.list_id)) if view.list_id else None
        parents = {str(item["id"]): item["parent_id"] for item in side["lists"]}
        kept = {key: value for key, value in typed.items() if value and key != "completed"}
        toggled = {**kept, **({} if typed["completed"] else {"completed": "1"})}
        carried = {key: value for key, value in typed.items() if value}
        # Choosing tasks without JavaScript (`Select`, a link): a box in each row.
        picking = request.query_params.get("select") == "1" and list_role != "viewer"
        _ = self.site.words(request)
        return self.site.render(
            request,
            "list.html",
            status,
            user=signed_in.user,
            **side,
            view=view,
            tasks=shown,
            days=None if shelves else days,
            parts=days if shelves else None,
            board=board and view.key == "list",
            sections=sections,
            sort=sort if view.sort_key else None,
            sorts=self.sort_names(request),
            more=more,
            whole=whole,
            typed=typed,
            back=f"{view.path}?{urlencode(typed)}" if any(typed.values()) else view.path,
            toggle=f"{view.path}?{urlencode(toggled)}" if toggled else view.path,
            filter_message=unread,
            undo=undo,
            list_role=list_role,
            list_parent_id=parents.get(str(view.list_id)),
            pick=f"{view.path}?{urlencode({**carried, 'select': '1'})}",
            pick_label=_("Select %(title)s") if picking else None,
            row_presets=due_presets(zone_of(signed_in), self.site.language(request)),
            **{"message": None, "offer": None, "text": "", **context},
        )

    async def quick_add(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        back = back_to(form.get("back"))
        text = str(form.get("text") or "")
        list_id = form.get("list_id") or None
        section_id = form.get("section_id") or None  # a board column's: the task goes in it
        day = calendar.asked_day(str(form.get("day") or ""))  # a calendar day's: due that day
        accepted = request.headers.get("accept-language")  # after the person's own language
        choice = str(form.get("unknown_list") or "")  # the offer's, for a `#list` not there
        try:
            data = QuickAdd.model_validate({"text": text, "list_id": list_id})
            async with database(request).connection() as conn:
                if choice:
                    data = await self.settled(conn, user_id(signed_in), data, accepted, choice)
                if section_id is None and day is None:
                    made, _spans = await quick.quick_add(
                        conn, user_id(signed_in), data=data, accept_language=accepted
                    )
                else:
                    made = await self.add_placed(
                        conn, user_id(signed_in), data, accepted, section_id, day
                    )
                # Completed before it reached the server (kept offline: static/offline.js).
                if form.get("completed") == "1":
                    await tasks.set_completed(
                        conn, user_id(signed_in), task_id=made["id"], completed=True
                    )
        except quick.UnknownList as unknown:
            view = await self.view_at(request, signed_in, back)
            place = view.heading if view.list_id else self.site.words(request)("Inbox")
            offer = {"name": unknown.span.value, "place": place}
            return await self.list_page(
                request, signed_in, view, status=400, offer=offer, text=text
            )
        except (ValidationError, ApiError) as exc:
            view = await self.view_at(request, signed_in, back)
            return await self.list_page(
                request, signed_in, view, status=400, message=problem(exc), text=text
            )
        return redirect(back)

    @staticmethod
    async def settled(
        conn: Connection, owner: uuid.UUID, data: QuickAdd, accepted: str | None, choice: str
    ) -> QuickAdd:
        """The words as the person settled a `#list` that is not there: that list made
        (`make`), or the words kept in the title, the task where it is (else)."""
        try:
            await quick.read(conn, owner, data=data, accept_language=accepted)
        except quick.UnknownList as unknown:
            span = unknown.span
            if choice == "make":
                await lists.create_list(conn, owner, ListCreate(name=span.value))
                return data
            # A backslash before the words: quick add leaves them as they are.
            text = data.text[: span.start] + "\\" + data.text[span.start :]
            return data.model_copy(update={"text": text})
        return data

    @staticmethod
    async def add_placed(
        conn: Connection,
        owner: uuid.UUID,
        data: QuickAdd,
        accepted: str | None,
        section: Any,
        day: date | None,
    ) -> TaskRow:
        """Quick add's task in the board's column `section` (of the list in view; a `#list`
        in the words that names another list takes the task there, without a section), or
        due on the calendar's `day` unless the words name a date."""
        made, _spans = await quick.read(conn, owner, data=data, accept_language=accepted)
        fields = made.model_dump(mode="json", exclude_unset=True)
        if section is not None and made.list_id == data.list_id:
            fields["section_id"] = section
        if day is not None and made.due_at is None and made.due_date is None:
            fields["due_date"] = day.isoformat()
        return await tasks.create_task(conn, owner, data=TaskCreate.model_validate(fields))

    async def complete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self.set_completed(request, signed_in, completed=True)

    async def reopen(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self.set_completed(request, signed_in, completed=False)

    async def retitle(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The title changed in the list's row (static/editing.js, with JavaScript only: the
        task's page holds the whole form), its date words read into the due date as quick add
        reads them: the row as it now is (a subtask naming its parent,
        `under` it in the list or not), or 400 with the reason in words (the box stays open
        with it)."""
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        back = back_to(form.get("back"))
        accepted = request.headers.get("accept-language")
        try:
            async with database(request).connection() as conn:
                # Date words in the title go into the due date, as quick add takes them.
                title, dated, _spans = await quick.read_dates(
                    conn,
                    user_id(signed_in),
                    text=str(form.get("title") or ""),
                    accept_language=accepted,
                )
                data = TaskUpdate.model_validate({"title": title, **dated})
                changed = await tasks.update_task(
                    conn, user_id(signed_in), task_id=task_id, data=data
                )
                zone = zone_of(signed_in)
                language = self.site.language(request)
                parent = changed["parent_id"]
                parents = await counts.titles(conn, [parent]) if parent else {}
                under = {changed["id"]} if parent and form.get("under") == "1" else set()
                # (a list the person only views refused it: no row without its checkbox)
                [row] = await task_rows(
                    conn,
                    signed_in,
                    [task_body(changed)],
                    zone,
                    language,
                    parents=parents,
                    under=under,
                )
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return refused(problem(exc))
        return self.site.render(request, "_tasks.html", tasks=[row], back=back)

    async def set_completed(
        self, request: Request, signed_in: BrowserSignIn, *, completed: bool
    ) -> Response:
        """Complete or reopen; with htmx the row is answered as it now is (the part of the page
        htmx swaps in), or nothing when completed tasks are not shown (the row goes)."""
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_id(signed_in)
        form = await request.form()
        back = back_to(form.get("back"))
        async with database(request).connection() as conn:
            if not completed and form.get("occurrence"):  # `Undo` of a repeating task's
                changed = await undo_completion(conn, owner, task_id)
            else:
                changed = await tasks.set_completed(
                    conn, owner, task_id=task_id, completed=completed
                )
            if not is_htmx(request):  # JavaScript off: the page offers `Undo` of a completion
                return redirect(undo_path(back, task_id) if completed else back)
            if completed and "completed=1" not in back:  # the row gives way to `Undo`
                return undo_line(self.site, request, dict(changed), back)
            zone = zone_of(signed_in)
            language = self.site.language(request)
            [row] = await task_rows(conn, signed_in, [task_body(changed)], zone, language)
        return self.site.render(request, "_tasks.html", tasks=[row], back=back)
