"""When a task is due, as stored: a moment (`due_at`) or a day (`due_date`, all day), and the
zone (`timezone`) its day and its recurrence are read in; when it starts likewise (`start_at`
or `start_date`), never after it is due.

An all-day task also stores, as `due_at`, the instant its date starts in its zone: listings
sort and filter every task by that one indexed column, and never compute a zone per row. So a
write that changes the date or the zone of an all-day task writes that instant again, here.
A start on a day is stored as `start_at` the same way.
"""

import uuid
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import bindparam, select

from todo_api.db import Connection, Query
from todo_api.kit import zones
from todo_api.kit.errors import InvalidField
from todo_api.tables.users import users
from todo_api.tasks import recurrence

# The columns that say when a task is due, and when it starts.
DUE_FIELDS = frozenset({"due_at", "due_date", "timezone"})
START_FIELDS = frozenset({"start_at", "start_date", "timezone"})
# Each moment's pair: the instant, and the day when all-day.
_PAIRS = (("due_at", "due_date"), ("start_at", "start_date"))


def refuse_both(values: Mapping[str, Any]) -> None:
    """A write gives a due_at or a due_date, never both (null for either is fine), and a
    start_at or a start_date likewise."""
    for at, day in _PAIRS:
        if values.get(at) is not None and values.get(day) is not None:
            raise InvalidField(day, f"give {at} or {day}, not both")


def needs_stored_due(values: Mapping[str, Any]) -> bool:
    """Whether the task's stored due and start fields decide what this write leaves: a new
    date or zone (the instant a date starts moves with them), or a due_at or start_at
    cleared (an all-day task keeps its instant)."""
    for at, day in _PAIRS:
        if (at in values and values[at] is None) or day in values:
            return True
    return "timezone" in values


def due_values(before: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`due_date`, `start_date`, `timezone` and (when they change) `due_at` and `start_at`
    as a write of `values` leaves a task that had `before`'s. A due_at given makes the task
    timed; a due_date given makes it all-day; a new zone keeps the due_at instant of a timed
    task and the date of an all-day one. The start likewise."""
    refuse_both(values)
    zone = values.get("timezone") or before["timezone"]
    result: dict[str, Any] = {"timezone": zone}
    for at, day_name in _PAIRS:
        day: date | None = values[day_name] if day_name in values else before[day_name]
        if values.get(at) is not None:
            day = None
        result[day_name] = day
        if day is not None:
            result[at] = zones.start_of(day, zone)
        elif at in values:
            result[at] = values[at]
        elif before[day_name] is not None:  # its date cleared: the instant it stood for goes
            result[at] = None
        # else a timed one keeps its instant as stored
    return result


def check_order(task: Mapping[str, Any]) -> None:
    """A task's start is not after its due time: instants compared when both are times; when
    either is a day, the days on the clock of the task's zone (a task due on the 24th may
    start at 10:00 on the 24th; one due at 09:00 may start that day). InvalidField naming the
    start's field if it is."""
    start = task["start_date"] or task["start_at"]
    due = task["due_date"] or task["due_at"]
    if start is None or due is None:
        return
    if isinstance(start, datetime) and isinstance(due, datetime):
        later = recurrence.aware(start) > recurrence.aware(due)
    else:
        zone = zones.zone(task["timezone"])
        later = _day(start, zone) > _day(due, zone)
    if later:
        name = "start_at" if task["start_date"] is None else "start_date"
        raise InvalidField(name, "must not be after the task's due time or date")


def _day(moment: date, zone: tzinfo) -> date:
    """A day, or the day an instant falls on in `zone` (in UTC beyond the zone's years)."""
    if not isinstance(moment, datetime):
        return moment
    try:
        return recurrence.aware(moment).astimezone(zone).date()
    except OverflowError:
        return moment.date()


def reads_zone(values: Mapping[str, Any]) -> bool:
    """Whether a new task of `values` is computed in its zone before it is stored: the instant
    its date (due or start) starts, the times its rule repeats at."""
    return any(values.get(name) is not None for name in ("due_date", "start_date", "recurrence"))


_USER_ZONE = Query(select(users.c.timezone).where(users.c.id == bindparam("user_id")))
_USER_CLOCK = Query(
    select(users.c.timezone, users.c.language).where(users.c.id == bindparam("user_id"))
)


async def user_zone(conn: Connection, user_id: uuid.UUID) -> str:
    """The user's zone: what their new tasks are read in, and what `due_on` means to them."""
    zone: str | None = (await conn.execute(_USER_ZONE, {"user_id": user_id})).scalar()
    return zone or zones.DEFAULT_ZONE


async def user_zone_and_language(conn: Connection, user_id: uuid.UUID) -> tuple[str, str | None]:
    """The user's zone and the language they chose (None: none), in the one statement that
    reads the zone: what the words they type are read in."""
    row = (await conn.execute(_USER_CLOCK, {"user_id": user_id})).first()
    if row is None:
        return zones.DEFAULT_ZONE, None
    return row["timezone"] or zones.DEFAULT_ZONE, row["language"]
