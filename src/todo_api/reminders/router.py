"""GET /api/reminders: parse, call, shape."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from todo_api.auth import caller
from todo_api.kit.errors import InvalidField, error_responses
from todo_api.kit.http import json_response
from todo_api.kit.ids import utcnow
from todo_api.kit.zones import LAST_INSTANT
from todo_api.reminders import service
from todo_api.reminders.schemas import UpcomingReminder
from todo_api.tasks.schemas import DateTimeText

router = APIRouter(prefix="/api/reminders", tags=["reminders"])

DEFAULT_SPAN = timedelta(days=30)


@router.get(
    "",
    response_model=list[UpcomingReminder],
    responses=error_responses(400, 401, 500, 503),
    summary="Your reminders between two times (default: the next 30 days), soonest first",
    description="The reminders of the open tasks you can see whose time falls in [from, to), "
    "fired or not.",
)
async def list_reminders(
    request: Request,
    start: Annotated[
        DateTimeText | None,
        Query(
            alias="from",
            description="From this time, included (RFC 3339); default: now",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ] = None,
    end: Annotated[
        DateTimeText | None,
        Query(
            alias="to",
            description="Until this time, excluded (RFC 3339); default: 30 days after `from`",
            examples=["2026-12-31T00:00:00Z"],
        ),
    ] = None,
) -> Response:
    call = await caller(request)
    start = start or utcnow()
    if end is None:
        end = start + DEFAULT_SPAN if LAST_INSTANT - start > DEFAULT_SPAN else LAST_INSTANT
    if end < start:
        raise InvalidField("to", "must not be before from")
    rows = await call.run(service.between, start=start, end=end)
    return json_response(
        [
            {"task_id": r["task_id"], "reminder_id": r["reminder_id"], "fires_at": r["fires_at"]}
            for r in rows
        ]
    )
