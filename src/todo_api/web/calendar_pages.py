"""A calendar's task moved to another day (static/calendar.js: dragged, or `Alt`+arrows): its
due day changes and its time stays, through the task update with its version (If-Match), and
the answer says how to put it back (`Undo` moves it again)."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.kit import zones
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError
from todo_api.tasks import service as tasks
from todo_api.tasks.errors import StaleVersion
from todo_api.tasks.schemas import TaskUpdate
from todo_api.web import calendar
from todo_api.web.site import HEADERS, Site, parse_uuid, problem, user_id, zone_of


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
            return Response(_("Choose a day."), 400, headers=HEADERS, media_type="text/plain")
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
                return Response(problem(exc), 400, headers=HEADERS, media_type="text/plain")
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
