"""A view as a calendar (web.tasks.calendar): the month or week asked for, its tasks read in one
narrow statement and written in one pass; and a calendar's task moved to another day
(static/calendar.js: dragged, or `Alt`+arrows): its due day changes and its time stays, through
the task update with its version (If-Match), and the answer says how to put it back (`Undo`
moves it again)."""

import html
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from markupsafe import Markup
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.kit import zones
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError
from todo_api.tasks import pages
from todo_api.tasks import service as tasks
from todo_api.tasks.errors import StaleVersion
from todo_api.tasks.listing import TaskFilters
from todo_api.tasks.schemas import TaskUpdate
from todo_api.web.common.messages import translations
from todo_api.web.common.shown import now_in, week_start
from todo_api.web.common.site import HEADERS, Site, parse_uuid, problem, refused, user_id, zone_of
from todo_api.web.tasks import calendar


class View(Protocol):
    """What the calendar reads of the view it shows (list_pages.View)."""

    @property
    def filters(self) -> TaskFilters: ...
    @property
    def path(self) -> str: ...
    @property
    def list_id(self) -> uuid.UUID | None: ...


async def calendar_page(
    site: Site,
    request: Request,
    conn: Connection,
    signed_in: BrowserSignIn,
    view: View,
    side: dict[str, Any],
    status: int,
    context: dict[str, Any],
) -> Response:
    """The view as a calendar: the month `month=YYYY-MM` (or the week of `week=YYYY-MM-DD`),
    its weeks from the person's first day, its tasks read in one statement, and the day
    `day=` chosen (today's by default) with its tasks and a quick add due that day."""
    params = request.query_params
    zone = zone_of(signed_in)
    language = site.language(request)
    _ = site.words(request)
    today = now_in(zone).date()
    starts = week_start(signed_in.user.week_start, language)
    chosen = calendar.asked_day(params.get("day"))
    week = calendar.asked_day(params.get("week"))
    if week is not None:
        monday = calendar.week_of(week, starts)
        weeks = [[monday + timedelta(days=n) for n in range(7)]]
        month = monday.replace(day=1)
    else:
        month = calendar.asked_month(params.get("month"), chosen or today)
        weeks = calendar.month_weeks(month, starts)
    first, end = weeks[0][0], weeks[-1][-1] + timedelta(days=1)
    if chosen is None or not first <= chosen < end:
        chosen = today if first <= today < end else (week or month)
    query = calendar.range_query(view.filters)
    window = calendar.window(first, end)
    # A month's day shows its first few tasks and a link to the rest (the day's list below):
    # a cell of 16 would not be read, and would cost the page most of its work. The rest of a
    # day are counted, not read (but the chosen day's, shown whole).
    most = None if week is not None else calendar.SHOWN_IN_A_DAY
    days = pages.Days(first, end, most, chosen) if most is not None else None
    found = await pages.range_tasks(
        conn, user_id(signed_in), query=query, window=window, zone=zone, days=days
    )
    placed = calendar.placed(found.tasks, first, end, zone)
    roles = {str(item["id"]): item["role"] for item in side["lists"]}
    list_role = roles.get(str(view.list_id)) if view.list_id else None
    repeats = html.escape(_("Repeats"))
    movable = list_role != "viewer"

    def entry(item: calendar.Entry) -> tuple[str, int | None]:
        clock, task, later = item
        link = calendar.task_link(task, clock, language, movable and not later, repeats)
        return link, clock.hour if clock is not None else None

    ngettext = translations(language).ngettext
    path = html.escape(view.path)
    kept = f"week={week.isoformat()}" if week is not None else f"month={month:%Y-%m}"

    def shown_day(day: date) -> calendar.Day:
        items = placed.days.get(day, ())
        due = len(items) + found.left_out.get(day, 0)
        left_out = due - most if most is not None and due > most else 0
        more = ngettext("%(num)d more", "%(num)d more", left_out) if left_out else ""
        return calendar.Day(
            day,
            html.escape(calendar.day_name(day, language)),
            f"{path}?{kept}&amp;day={day.isoformat()}",
            outside=week is None and day.month != month.month,
            today=day == today,
            chosen=day == chosen,
            entries=[entry(item) for item in items[:most]],
            more=html.escape(more % {"num": left_out}) if more else "",
        )

    shown_weeks = [[shown_day(day) for day in days] for days in weeks]
    picked = next(day for days in shown_weeks for day in days if day.chosen)
    # The chosen day's list: the links its cell has, then the rest of its tasks.
    rest = placed.days.get(picked.day, ())[len(picked.entries) :]
    picked_tasks = [link for link, _hour in picked.entries] + [entry(item)[0] for item in rest]
    weekdays = calendar.weekday_names(starts, language)
    grid = calendar.grid_body(
        shown_weeks,
        week is not None,
        [html.escape(short) for short, _whole in weekdays],
        html.escape(_("All day")),
    )

    def link(**asked: str) -> str:
        return f"{view.path}?{urlencode(asked)}"

    if week is not None:
        step = timedelta(days=7)
        around = {
            "previous": link(week=(monday - step).isoformat()),
            "next": link(week=(monday + step).isoformat()),
            "month": link(month=monday.strftime("%Y-%m"), day=chosen.isoformat()),
            "week": link(week=monday.isoformat(), day=chosen.isoformat()),
        }
    else:
        around = {
            "previous": link(month=calendar.shifted(month, -1).strftime("%Y-%m")),
            "next": link(month=calendar.shifted(month, 1).strftime("%Y-%m")),
            "month": link(month=month.strftime("%Y-%m"), day=chosen.isoformat()),
            "week": link(week=chosen.isoformat(), day=chosen.isoformat()),
        }
    back = f"{view.path}?{request.url.query}" if request.url.query else view.path
    return site.render(
        request,
        "calendar.html",
        status,
        user=signed_in.user,
        **side,
        view=view,
        layout="calendar",
        week=week is not None,
        heading=calendar.month_name(month, language),
        weekdays=weekdays,
        grid=grid,
        chosen={
            "iso": picked.day.isoformat(),
            "name": Markup(picked.name),  # noqa: S704 - escaped above
            "tasks": Markup(calendar.task_list(picked_tasks, picked.day)),  # noqa: S704 - escaped
        },
        tray=Markup(calendar.task_list(entry(item)[0] for item in placed.tray)),  # noqa: S704
        around=around,
        back=back,
        list_role=list_role,
        **{"message": None, "text": "", **context},
    )


class CalendarPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        moved = self.site.signed_in(self.move_day, writes=True, shared=False)
        return [Route("/app/tasks/{task_id}/day", moved, methods=["POST"])]

    async def move_day(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Move the task due on `from` (the day the page showed it on) to `day`, keeping its
        time: 200 with both days, 412 when it is no longer due on `from` or changed meanwhile
        (the page is read again), 400 with the reason in words."""
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        day = calendar.asked_day(str(form.get("day") or ""))
        shown_on = calendar.asked_day(str(form.get("from") or ""))
        _ = self.site.words(request)
        if day is None or shown_on is None:
            return refused(_("Choose a day."))
        zone = zone_of(signed_in)
        owner = user_id(signed_in)
        async with database(request).connection() as conn:
            found = await tasks.get_task(conn, owner, task_id=task_id)
            if due_day(found, zone) != shown_on:
                return stale()
            try:
                data = TaskUpdate.model_validate(moved_to(found, day, zone))
                await tasks.update_task(
                    conn, owner, task_id=task_id, data=data, if_match=frozenset({found["version"]})
                )
            except StaleVersion:
                return stale()
            except (ValidationError, ApiError) as exc:
                return refused(problem(exc))
        return JSONResponse({"day": day.isoformat(), "from": shown_on.isoformat()}, headers=HEADERS)


def stale() -> Response:
    return JSONResponse({"code": "PRECONDITION_FAILED"}, 412, headers=HEADERS)


def due_day(task: Mapping[str, Any], zone: str) -> date | None:
    """The day a task is due on the person's clock (None: undated)."""
    if task["due_date"] is not None:
        day: date = task["due_date"]
        return day
    due_at = task["due_at"]
    return due_at.astimezone(zones.zone(zone)).date() if due_at is not None else None


def moved_to(task: Mapping[str, Any], day: date, zone: str) -> dict[str, str]:
    """The change that puts the task on `day` at the time it has (on the person's clock)."""
    if task["due_date"] is not None or task["due_at"] is None:
        return {"due_date": day.isoformat()}
    clock = task["due_at"].astimezone(zones.zone(zone)).time()
    return {"due_at": datetime.combine(day, clock, tzinfo=zones.zone(zone)).isoformat()}
