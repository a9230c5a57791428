"""A list's tasks (Inbox, Today, Upcoming, each list, each saved filter): narrowed by words
(`q`) and by the filter language (`filter`), completed ones on request, 50 at a time; quick add
into the list in view, and completing and reopening a task from the list."""

import dataclasses
import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.sql import visitors
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection, Query
from todo_api.filters import service as saved_filters
from todo_api.kit import zones
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, InvalidField, NotFound
from todo_api.kit.ids import utcnow
from todo_api.kit.text import storable
from todo_api.lists import service as lists
from todo_api.lists import sharing
from todo_api.notifications import service as notifications
from todo_api.tasks import counts, filter_query, pages, quick
from todo_api.tasks import service as tasks
from todo_api.tasks.dependencies import with_filter
from todo_api.tasks.listing import (
    TOTAL_COUNT_CAP,
    CursorCodec,
    InvalidCursor,
    ListQuery,
    Shape,
    TaskFilters,
    planned_per_call,
)
from todo_api.tasks.schemas import QuickAdd, task_body
from todo_api.web.action_pages import just_completed, undo_line, undo_path
from todo_api.web.shown import now_in, task_line
from todo_api.web.site import (
    APP,
    Site,
    back_to,
    is_htmx,
    parse_uuid,
    problem,
    redirect,
    user_id,
    zone_of,
)

PAGE_SIZE = 50
SEARCH_MAX_LENGTH = 200  # as the API's `q`


@dataclass(frozen=True, slots=True)
class View:
    """What a list page shows: its heading, the filters of its tasks, its address, and the list
    quick add puts tasks in (None: the inbox, or where the text says)."""

    key: str
    heading: str
    filters: TaskFilters
    path: str
    list_id: uuid.UUID | None = None


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
    """Today's (due before tomorrow: overdue ones too) and the coming week's open tasks, on
    the user's clock."""
    return _near_days(zone, utcnow().astimezone(zones.zone(zone)).date())


@functools.lru_cache(maxsize=1024)  # made once a day for each zone (every page's sidebar)
def _near_days(zone: str, today: date) -> dict[str, TaskFilters]:
    start = zones.start_of(today, zone)
    return {
        "today": dataclasses.replace(OPEN, due_before=start + timedelta(days=1)),
        "upcoming": dataclasses.replace(
            OPEN, due_after=start, due_before=start + timedelta(days=8)
        ),
    }


def _renamed(column: Any, prefix: str) -> Any:
    """`column` with each of its named parameters `x` named `<prefix>x`: several lists'
    counts side by side in one statement, each binding its own values."""

    def rename(element: visitors.ExternallyTraversible, **_: Any) -> BindParameter[Any] | None:
        if isinstance(element, BindParameter) and not element.unique:
            return bindparam(prefix + element.key, type_=element.type, expanding=element.expanding)
        return None

    return visitors.replacement_traverse(column, {}, rename)


@functools.lru_cache(maxsize=256)
def counts_statement(shapes: tuple[Shape, ...], subtasks: bool) -> Query:
    """The bell's unread count and each shape's total (as `list_tasks` counts it: `c0`,
    `c1`, ...) in one row: one round trip for the whole sidebar's numbers; with `subtasks`,
    the subtasks of the page's tasks too (`id0`, `id1`, ...: tasks.counts)."""
    columns = [notifications.UNREAD.statement.scalar_subquery().label("unread")]  # type: ignore[attr-defined]
    for n, shape in enumerate(shapes):
        columns.append(_renamed(pages.total_column(shape), f"c{n}_").label(f"c{n}"))
    if subtasks:
        columns.append(counts.subtasks_column(shapes[0].dialect).label("subtasks"))
    return Query(select(*columns), custom_plans=any(map(planned_per_call, shapes)))


def shown_total(total: int) -> str:
    """A count as the sidebar says it (`1000+` past the listing's cap)."""
    cap = TOTAL_COUNT_CAP
    return f"{cap}+" if total > cap else str(total)


async def sidebar(
    conn: Connection, signed_in: BrowserSignIn, task_ids: list[uuid.UUID] | None = None
) -> dict[str, Any]:
    """The sidebar: the inbox, today, upcoming, the lists and the saved filters, each with its
    open tasks counted (as their pages count them), and the bell's unread count; two
    statements whatever the number of lists and filters. With the ids of a page's tasks (50
    at most), their subtasks counted in the same round trip (`subtasks`, as
    `counts.subtask_counts` gives them)."""
    owner = user_id(signed_in)
    zone = zone_of(signed_in)
    views = {"inbox": INBOX, **near_days(zone)}
    saved, listed = await saved_filters.filters_and_lists(conn, owner)
    queries = [ListQuery(filters=filters) for filters in views.values()]
    queries += [one_group(with_filter(ListQuery(), found["query"])) for found in saved]
    counting = [pages.counting(query, owner, conn.name, zone) for query in queries]
    params: dict[str, Any] = {"user_id": owner}
    for n, (_shape, values) in enumerate(counting):
        params.update({f"c{n}_{name}": value for name, value in values.items()})
    if task_ids:
        params.update(counts.subtask_params(task_ids))
    statement = counts_statement(tuple(shape for shape, _values in counting), bool(task_ids))
    row = (await conn.execute(statement, params)).one()
    totals = [shown_total(row[f"c{n}"]) for n in range(len(counting))]
    shown = [
        {"id": found["id"], "name": found["name"], "open_count": count}
        for found, count in zip(saved, totals[len(views) :], strict=True)
    ]
    return {
        "lists": listed,
        "filters": shown,
        "counts": dict(zip(views, totals[: len(views)], strict=True)),
        "unread": row["unread"],
        **({"subtasks": counts.subtasks_of(row["subtasks"])} if task_ids else {}),
    }


async def task_rows(
    conn: Connection,
    signed_in: BrowserSignIn,
    found: list[dict[str, Any]],
    zone: str,
    language: str,
    viewed_only: Collection[str] = (),
    done_total: dict[uuid.UUID, tuple[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """The tasks as the list shows them: with their subtasks counted (`done_total`, else
    read here) and their assignee's name (or email); those of the lists in `viewed_only`
    with no checkbox."""
    owner = user_id(signed_in)
    if done_total is None:
        done_total = await counts.subtask_counts(conn, [task["id"] for task in found])
    people = {str(owner): signed_in.user.get("name") or signed_in.user["email"]}
    shared = {task["list_id"] for task in found if task["assignee_id"] and task["list_id"]}
    for list_id in shared:
        for member in await sharing.members(conn, owner, list_id):
            people[str(member["user_id"])] = member["name"] or member["email"]
    now = now_in(zone)
    shown = []
    for task in found:
        assignee = people.get(str(task["assignee_id"])) if task["assignee_id"] else None
        line = task_line(
            task,
            zone,
            language,
            now,
            assignee=assignee,
            subtasks=done_total.get(task["id"]),
            viewed_only=viewed_only,
        )
        shown.append({"line": line})
    return shown


class ListPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        # The sidebar's statement reads the bell's count too; a row's answer has no bell.
        signed = functools.partial(self.site.signed_in, shared=False)
        return [
            Route(APP, signed(self.inbox), methods=["GET"]),
            Route("/app/today", signed(self.today), methods=["GET"]),
            Route("/app/upcoming", signed(self.upcoming), methods=["GET"]),
            Route("/app/lists/{list_id}", signed(self.one_list), methods=["GET"]),
            Route("/app/filters/{filter_id}", signed(self.saved_filter), methods=["GET"]),
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
            return View(f"filter:{filter_id}", saved["name"], query.filters, path)
        return View("inbox", _("Inbox"), INBOX, APP)

    def asked(self, request: Request, view: View) -> tuple[ListQuery, dict[str, str], str | None]:
        """The page of the view the address asks for: narrowed by `q` and `filter`, with the
        completed tasks on `completed=1`. Also what was typed (to show it again and to carry
        it to the next page), and a sentence when it cannot be read."""
        _ = self.site.words(request)
        params = request.query_params
        typed = {
            "q": params.get("q", "").strip(),
            "filter": params.get("filter", "").strip(),
            "completed": "1" if params.get("completed") == "1" else "",
        }
        query = ListQuery(filters=view.filters, sort="position", limit=PAGE_SIZE)
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
        query, typed, unread = self.asked(request, view)
        cursors = held(request.app, CursorCodec)
        shown: list[dict[str, Any]] = []
        more = None
        async with database(request).connection() as conn:
            zone = zone_of(signed_in)
            page = None
            if unread is None:
                try:
                    page = await pages.list_tasks(conn, owner, query=query, cursors=cursors)
                except InvalidCursor:
                    raise NotFound from None
            elif not is_htmx(request):  # typing along with htmx, the part shows the alert
                status = 400
            # The page's subtasks are counted with the sidebar's numbers (one round trip).
            side = await sidebar(
                conn, signed_in, [task["id"] for task in page.tasks] if page else None
            )
            done_total = side.pop("subtasks", {})
            if page is not None:
                language = self.site.language(request)
                viewed = {str(item["id"]) for item in side["lists"] if item["role"] == "viewer"}
                shown = await task_rows(
                    conn, signed_in, page.tasks, zone, language, viewed, done_total
                )
                if page.next_cursor is not None:
                    carried = {key: value for key, value in typed.items() if value}
                    more = f"{view.path}?{urlencode({**carried, 'cursor': page.next_cursor})}"
            undo = await just_completed(request, conn, owner)
        # The person's role in the list in view (None elsewhere): what the page offers them.
        roles = {str(item["id"]): item["role"] for item in side["lists"]}
        list_role = roles.get(str(view.list_id)) if view.list_id else None
        kept = {key: value for key, value in typed.items() if value and key != "completed"}
        toggled = {**kept, **({} if typed["completed"] else {"completed": "1"})}
        return self.site.render(
            request,
            "list.html",
            status,
            user=signed_in.user,
            **side,
            view=view,
            tasks=shown,
            more=more,
            typed=typed,
            back=f"{view.path}?{urlencode(typed)}" if any(typed.values()) else view.path,
            toggle=f"{view.path}?{urlencode(toggled)}" if toggled else view.path,
            filter_message=unread,
            undo=undo,
            list_role=list_role,
            **{"message": None, "text": "", **context},
        )

    async def quick_add(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        back = back_to(form.get("back"))
        text = str(form.get("text") or "")
        list_id = form.get("list_id") or None
        accepted = request.headers.get("accept-language")  # after the person's own language
        try:
            data = QuickAdd.model_validate({"text": text, "list_id": list_id})
            async with database(request).connection() as conn:
                await quick.quick_add(conn, user_id(signed_in), data=data, accept_language=accepted)
        except (ValidationError, ApiError) as exc:
            view = await self.view_at(request, signed_in, back)
            return await self.list_page(
                request, signed_in, view, status=400, message=problem(exc), text=text
            )
        return redirect(back)

    async def complete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self.set_completed(request, signed_in, completed=True)

    async def reopen(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self.set_completed(request, signed_in, completed=False)

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
            changed = await tasks.set_completed(conn, owner, task_id=task_id, completed=completed)
            if not is_htmx(request):  # JavaScript off: the page offers `Undo` of a completion
                return redirect(undo_path(back, task_id) if completed else back)
            if completed and "completed=1" not in back:  # the row gives way to `Undo`
                return undo_line(self.site, request, dict(changed), back)
            zone = zone_of(signed_in)
            language = self.site.language(request)
            [row] = await task_rows(conn, signed_in, [task_body(changed)], zone, language)
        return self.site.render(request, "_tasks.html", tasks=[row], back=back)
