"""The sidebar every signed-in page shows, read here for all of them: Inbox, Today, Upcoming,
each list and each saved filter (under `Filters`), each with its open tasks counted, and the
bell's unread count. And the lists made there (`New list`), renamed, moved up or down among the
person's lists, and deleted after a page that asks to confirm; each a form that posts
(JavaScript off alike), answered by the page to show, or the page again with its message."""

import functools
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Select,
    bindparam,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql import visitors
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import service as accounts
from todo_api.accounts.browser import BrowserSignIn, Confirmation
from todo_api.db import Connection, Query
from todo_api.filters import service as saved_filters
from todo_api.kit import changes
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, Forbidden, NotFound
from todo_api.lists import service as lists
from todo_api.lists import tree
from todo_api.lists import views as list_views
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.notifications import service as notifications
from todo_api.tasks import counts, pages
from todo_api.tasks.dependencies import with_filter
from todo_api.tasks.listing import TOTAL_COUNT_CAP, ListQuery, Shape, counted_per_call
from todo_api.web.common.site import (
    APP,
    Site,
    back_to,
    parse_uuid,
    problem,
    redirect,
    user_id,
    zone_of,
)
from todo_api.web.tasks.list_pages import INBOX, ListPages, near_days, one_group

# The people a process remembers as sharing no list (`Unshared`; the oldest forgotten first).
UNSHARED_MAX = 10_000
# The kept sorts and layouts a process remembers (`KeptViews`; the oldest forgotten first).
KEPT_MAX = 10_000


class Unshared:
    """The people whose sidebar, read last in this process, showed no list shared with them (a
    member, not its owner), by user id. Their next one is read without the parts that count the
    shared lists (the bell's and Today's and Upcoming's: nothing for them), a smaller plan for
    PostgreSQL to open on every page; and read again whole if it shows such a list after all
    (its lists are read in the same statement), so nothing shown rests on what is remembered."""

    def __init__(self) -> None:
        self._ids: dict[uuid.UUID, None] = {}

    def __contains__(self, user: uuid.UUID) -> bool:
        return user in self._ids

    def saw(self, user: uuid.UUID, lists: list[dict[str, Any]]) -> bool:
        """Remember what `lists` (the person's, as the sidebar read them) say; whether they
        share one."""
        shares = any(item["role"] != "owner" for item in lists)
        ids = self._ids
        if shares:
            ids.pop(user, None)
        elif user not in ids:
            if len(ids) >= UNSHARED_MAX:
                del ids[next(iter(ids))]
            ids[user] = None
        return shares


class KeptViews:
    """What each person kept for each list (its sort and layout, lists.views.kept_column's
    value) as their sidebar read it last in this process, by user id and list key: the page
    of tasks the next sidebar reads beside it is asked for in that sort and layout, and shown
    only if the value read with it is the same (`sidebar`'s `page`)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[uuid.UUID, str], str | None] = {}

    def get(self, user: uuid.UUID, key: str) -> str | None:
        return self._kept.get((user, key))

    def saw(self, user: uuid.UUID, key: str, value: str | None) -> None:
        kept = self._kept
        if kept.get((user, key), "") != value:
            kept.pop((user, key), None)
            if len(kept) >= KEPT_MAX:
                del kept[next(iter(kept))]
            kept[user, key] = value


# What the page of tasks beside the sidebar is (pages.Asked), for a list key's kept value
# (None: nothing kept); None when it is not to be read there.
PageFor = Callable[[str | None], pages.Asked | None]


async def sidebar(
    conn: Connection,
    signed_in: BrowserSignIn,
    sort_key: str | None = None,
    list_id: uuid.UUID | None = None,
    *,
    unshared: Unshared,
    kept: KeptViews,
    page: PageFor | None = None,
) -> dict[str, Any]:
    """The sidebar's context (`lists`, `filters`, `counts`, `unread`, `feed_bound`): each view's
    open tasks counted as its page counts them. One statement, with the lists and filters in it
    as JSON; a second one for the saved filters' counts, when there are any (what each counts is
    known once they are read). With a list page's `sort_key`, the sort the person kept for it
    read in the first with the view kept (`kept_sort`, `kept_view`: lists.views.kept_column);
    with a list's `list_id`, its sections too (`sections`: lists.views.sections_column). A
    sign-in whose user's row is the one remembered (`BrowserSignIn.confirmation`) has it read again
    in the first too, and checked the same (Unconfirmed otherwise). For a person in `unshared`,
    the first is read without the shared lists' parts, and again with them if it shows a
    shared list. With `page`, the page of tasks it gives for what `kept` remembers of
    `sort_key` is read in the first statement too, after the row, and given (`page`: its
    Asked, its rows, and its subtasks and files counted) if what is kept is that still."""
    owner = user_id(signed_in)
    zone = zone_of(signed_in)
    views = {"inbox": INBOX, **near_days(zone)}
    queries = [ListQuery(filters=filters) for filters in views.values()]
    confirmation = signed_in.confirmation
    if confirmation is not None and confirmation.done:
        confirmation = None
    shared = owner not in unshared
    first = functools.partial(
        _counted, conn, owner, zone, queries, navigation=True, sort_key=sort_key, list_id=list_id
    )
    remembered = None if sort_key is None else kept.get(owner, sort_key)
    asked = None if page is None else page(remembered)
    row, extra = await first(confirming=confirmation, shared=shared, page=asked)
    if confirmation is not None:
        confirmation.check(signed_in.user, row["user"], row)
    rows = extra.pop("page_rows", None)
    counted = extra.pop("page_counts", None)
    if sort_key is not None:
        read = extra.pop("kept", None)
        kept.saw(owner, sort_key, read)
        if read != remembered:  # kept otherwise since: the page is read in its own
            rows = None
    saved, listed = saved_filters.navigation_of(row["navigation"])
    if unshared.saw(owner, listed) and not shared:  # shared since: the counts lack their part
        row, extra = await first(shared=True)
        extra.pop("kept", None)
        saved, listed = saved_filters.navigation_of(row["navigation"])
        unshared.saw(owner, listed)
    shown: list[dict[str, Any]] = []
    if saved:
        queries = [one_group(with_filter(ListQuery(), found["query"])) for found in saved]
        found_counts, _ = await _counted(conn, owner, zone, queries)
        shown = [
            {"id": found["id"], "name": found["name"], "open_count": found_counts[f"c{n}"]}
            for n, found in enumerate(saved)
        ]
    return {
        "lists": listed,
        "list_tree": tree.nested(listed),
        "filters": shown,
        "counts": {key: row[f"c{n}"] for n, key in enumerate(views)},
        "unread": row["unread"],
        "feed_bound": row["feed_bound"],
        **extra,
        **({} if asked is None or rows is None else {"page": (asked, rows, counted)}),
    }


async def _counted(
    conn: Connection,
    owner: uuid.UUID,
    zone: str,
    queries: list[ListQuery],
    *,
    navigation: bool = False,
    sort_key: str | None = None,
    list_id: uuid.UUID | None = None,
    confirming: Confirmation | None = None,
    shared: bool = True,
    page: pages.Asked | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each query's total as the sidebar says it (`c0`, `c1`, ...), in one statement with the
    unread count and the navigation's JSON (`navigation`), the sort and view kept for
    `sort_key`, the sections of `list_id`, and while `confirming` the user's row (`user`: None
    if there is none) and, unless the process knows it works, the sign-in's state; without
    `shared`, with no part for the lists shared with the person (`counts_statement`); with
    `page`, that page's rows read after the row (`page_rows`, a Result of page_query's rows)
    and its subtasks and files counted (`page_counts`)."""
    counting = [pages.counting(query, owner, conn.name, zone) for query in queries]
    params: dict[str, Any] = {"user_id": owner}
    for n, (_shape, values) in enumerate(counting):
        params.update({f"c{n}_{name}": value for name, value in values.items()})
    if sort_key is not None:
        params["list_key"] = sort_key
    if list_id is not None:
        params["section_list_id"] = list_id
    shapes = tuple(shape for shape, _values in counting)
    user = sign_in = False
    if confirming is not None:
        user, sign_in = True, confirming.generation is not None
        if sign_in:
            params["family_id"] = confirming.sign_in
    if page is not None:
        params.update({f"p_{name}": value for name, value in page.params.items()})
    statement = counts_statement(
        shapes,
        navigation=navigation,
        sort=sort_key is not None,
        sections=list_id is not None,
        user=user,
        sign_in=sign_in,
        shared=shared,
        page=None if page is None else page.shape,
    )
    read = await conn.execute(statement, params)
    extra: dict[str, Any] = {}
    if page is not None:  # the row (part 0), then the page's (part 1)
        mine = len(read) > 0 and read.row(0)["part"] == 0
        extra["page_rows"] = read.after(1 if mine else 0)
        read = read.before(1 if mine else 0)
    found = read.first()
    if found is None:  # only with the user's row: the user is gone
        return {"user": None}, extra
    row = dict(found)
    if page is not None:
        extra["page_counts"] = (
            counts.subtasks_of_rows(row.pop("page_subtasks") or []),
            counts.files_of_rows(row.pop("page_files") or []),
        )
    if user:
        row["user"] = accounts.user_row_of(row)
    for n in range(len(counting)):
        row[f"c{n}"] = shown_total(row[f"c{n}"])
    if sort_key is not None:
        kept_sort, kept_view = list_views.kept_of(row["kept"])
        extra.update(kept=row["kept"], kept_sort=kept_sort, kept_view=kept_view)
    if list_id is not None:
        extra["sections"] = list_views.sections_of(row["sections"])
    return row, extra


def _renamed(column: Any, prefix: str) -> Any:
    """`column` with each of its named parameters `x` named `<prefix>x`: several lists'
    counts side by side in one statement, each binding its own values."""

    def rename(element: visitors.ExternallyTraversible, **_: Any) -> BindParameter[Any] | None:
        if isinstance(element, BindParameter) and not element.unique:
            return bindparam(prefix + element.key, type_=element.type, expanding=element.expanding)
        return None

    return visitors.replacement_traverse(column, {}, rename)


@functools.lru_cache(maxsize=256)
def counts_statement(
    shapes: tuple[Shape, ...],
    *,
    navigation: bool,
    sort: bool,
    sections: bool = False,
    user: bool = False,
    sign_in: bool = False,
    shared: bool = True,
    page: Shape | None = None,
) -> Query:
    """Each shape's total (as `list_tasks` counts it: `c0`, `c1`, ...) in one row; with
    `navigation`, the bell's unread count and the lists and saved filters too (`unread`,
    `navigation`: filters.service.navigation_column) and where the feed stands (`feed_bound`:
    where the page's live updates start); with `sort`, the sort kept for the list
    `list_key` and its view (`kept_sort`, `kept_view`: lists.views); with `sections`, the
    sections of `section_list_id` (`sections`); with `user`, the user's row (each column named
    `me_<column>`; no row when the user is gone) and with `sign_in` the state of the sign-in
    `family_id` (accounts.service.with_user_row). Without `shared`, the counts (the bell's
    too) have no part for the lists shared with the caller: right only for a person in none.
    With `page`, a page of tasks in that shape read after the row (`_with_page`).
    Planned once and reused, unless a shape is counted per call (a saved filter's may be:
    listing.counted_per_call)."""
    dialect = shapes[0].dialect
    columns = []
    if navigation:
        unread = notifications.unread_count(shared).scalar_subquery()
        columns += [
            unread.label("unread"),
            saved_filters.navigation_column(dialect).label("navigation"),
            changes.bound_column(dialect).label("feed_bound"),
        ]
    for n, shape in enumerate(shapes):
        columns.append(_renamed(pages.total_column(shape, shared), f"c{n}_").label(f"c{n}"))
    if sort:
        columns.append(list_views.kept_column().label("kept"))
    if sections:
        columns.append(list_views.sections_column(dialect).label("sections"))
    statement = select(*columns)
    if user:
        statement = accounts.with_user_row(statement, sign_in=sign_in)
    custom = any(map(counted_per_call, shapes))
    if page is not None:
        return Query(_with_page(statement, page), custom_plans=custom)
    return Query(statement, custom_plans=custom)


def _with_page(statement: Select[Any], page: Shape) -> CompoundSelect[Any]:
    """`statement` (one row, or none) and the rows of a page of tasks (page_query's for
    `page`, its parameters named `p_<name>`), PostgreSQL's: the row first (`part` 0) with the
    page's subtasks and files counted for all its tasks at once (`page_subtasks`,
    `page_files`: counts.subtasks_of_page), then each task (`part` 1) in the page's order, as
    the page's own statement (a CTE: its rows come out in the order it made them), the other
    columns empty on each. One round trip for the sidebar and the page, planned once
    (pages.planned_once)."""
    tasks = _renamed(pages.page_query(page).statement, "p_").cte("page_rows")
    counted = [
        counts.subtasks_of_page(tasks.c.id).label("page_subtasks"),
        counts.files_of_page(tasks.c.id).label("page_files"),
    ]
    mine = [*statement.selected_columns, *counted]
    if {column.name for column in mine} & set(tasks.c.keys()):
        raise ValueError("the sidebar's and the page's columns share a name")

    def empty(columns: Any) -> list[Any]:
        return [type_coerce(null(), column.type).label(column.name) for column in columns]

    side = statement.add_columns(*counted, *empty(tasks.c), literal(0).label("part"))
    return union_all(side, select(*empty(mine), *tasks.c, literal(1).label("part")))


def shown_total(total: int) -> str:
    """A count as the sidebar says it (`1000+` past the listing's cap)."""
    cap = TOTAL_COUNT_CAP
    return f"{cap}+" if total > cap else str(total)


def list_path(list_id: object) -> str:
    return f"/app/lists/{list_id}"


class SidebarPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lists = ListPages(site)  # a form's mistake shows the page it came from again
        self.unshared = Unshared()
        self.kept = KeptViews()
        site.sidebar = self.sidebar  # a list page reads it with its own statements
        site.page_context.append(self.page_context)  # every other page, before it is shown

    async def sidebar(
        self,
        conn: Connection,
        signed_in: BrowserSignIn,
        sort_key: str | None = None,
        list_id: uuid.UUID | None = None,
        *,
        page: PageFor | None = None,
    ) -> dict[str, Any]:
        return await sidebar(
            conn, signed_in, sort_key, list_id, unshared=self.unshared, kept=self.kept, page=page
        )

    async def page_context(self, request: Request, signed_in: BrowserSignIn) -> dict[str, Any]:
        async with database(request).connection() as conn:
            return await self.sidebar(conn, signed_in)

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        # A form's answer is a redirect, or a list page, which reads the sidebar itself.
        form = functools.partial(signed, writes=True, shared=False)
        one = "/app/lists/{list_id}"
        return [
            Route("/app/menu", signed(self.menu), methods=["GET"]),
            Route("/app/lists", form(self.create), methods=["POST"]),
            Route(f"{one}/rename", form(self.rename), methods=["POST"]),
            Route(f"{one}/move", form(self.move), methods=["POST"]),
            Route(f"{one}/parent", form(self.place_inside), methods=["POST"]),
            Route(f"{one}/fold", form(self.fold), methods=["POST"]),
            Route(f"{one}/delete", signed(self.confirm_delete), methods=["GET"]),
            Route(f"{one}/delete", form(self.delete), methods=["POST"]),
        ]

    async def menu(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The phone's menu as a page (`Menu` without JavaScript): the sidebar not a drawer."""
        return self.site.render(request, "menu.html", user=signed_in.user, menu_page=True)

    async def create(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        try:
            data = ListCreate.model_validate({"name": str(form.get("name") or "")})
            async with database(request).connection() as conn:
                made = await lists.create_list(conn, user_id(signed_in), data)
        except (ValidationError, ApiError) as exc:
            back = back_to(form.get("back"))
            view = await self.lists.view_at(request, signed_in, back)
            return await self.lists.list_page(
                request, signed_in, view, status=400, sidebar_message=problem(exc)
            )
        return redirect(list_path(made["id"]))

    async def rename(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        return await self._changed(request, signed_in, {"name": str(form.get("name") or "")})

    async def place_inside(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The list's settings: the list it is inside (empty: at the top)."""
        form = await request.form()
        parent = str(form.get("parent_id") or "") or None
        return await self._changed(request, signed_in, {"parent_id": parent})

    async def _changed(
        self, request: Request, signed_in: BrowserSignIn, fields: dict[str, Any]
    ) -> Response:
        """The list in the path updated with the form's `fields` (a member's list is its
        owner's to change), back to the list; what is refused is said on its page."""
        list_id = parse_uuid(request.path_params["list_id"])
        try:
            data = ListUpdate.model_validate(fields)
            async with database(request).connection() as conn:
                await lists.update_list(conn, user_id(signed_in), list_id, data)
        except NotFound:
            raise
        except Forbidden as exc:
            return await self._refused(request, signed_in, list_id, exc)
        except (ValidationError, ApiError) as exc:
            view = await self.lists.view_at(request, signed_in, list_path(list_id))
            return await self.lists.list_page(
                request, signed_in, view, status=400, list_message=problem(exc)
            )
        return redirect(list_path(list_id))

    async def fold(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Fold away (or show) the lists inside a list in the sidebar, kept for the person."""
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        async with database(request).connection() as conn:
            await lists.fold_list(
                conn, user_id(signed_in), list_id, folded=form.get("folded") == "true"
            )
        return redirect(back_to(form.get("back")))

    async def move(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """One place up or down among the person's lists (at either end: stays)."""
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        step = -1 if form.get("direction") == "up" else 1
        owner = user_id(signed_in)
        async with database(request).connection() as conn:
            ids = [uuid.UUID(str(row["id"])) for row in await lists.list_lists(conn, owner)]
            if list_id not in ids:
                await lists.get_list(conn, owner, list_id)  # ListNotFound: not there
            here = ids.index(list_id)
            if 0 <= here + step < len(ids):
                anchor = ids[here + step]
                before, after = (anchor, None) if step < 0 else (None, anchor)
                await lists.move_list(conn, owner, list_id, before=before, after=after)
        return redirect(list_path(list_id))

    async def confirm_delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        owner = user_id(signed_in)
        try:
            async with database(request).connection() as conn:
                found = await lists.get_list(conn, owner, list_id, changing=True)
        except Forbidden as exc:  # a member sees the list; deleting it is its owner's
            return await self._refused(request, signed_in, list_id, exc)
        return self.site.render(request, "list_delete.html", user=signed_in.user, found=found)

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        try:
            async with database(request).connection() as conn:
                await lists.delete_list(conn, user_id(signed_in), list_id)
        except NotFound:
            raise
        except ApiError as exc:  # a member's list is its owner's to delete
            return await self._refused(request, signed_in, list_id, exc)
        return redirect(APP)

    async def _refused(
        self, request: Request, signed_in: BrowserSignIn, list_id: uuid.UUID, exc: ApiError
    ) -> Response:
        """The list's page, which a member may see, saying what was refused (403: what only
        its owner may do)."""
        _ = self.site.words(request)
        said = (
            _("Only the list's owner may do that") if isinstance(exc, Forbidden) else problem(exc)
        )
        view = await self.lists.view_at(request, signed_in, list_path(list_id))
        return await self.lists.list_page(
            request, signed_in, view, status=exc.status, list_message=said
        )
