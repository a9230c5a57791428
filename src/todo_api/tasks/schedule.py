"""When a task is due, as stored: a moment (`due_at`) or a day (`due_date`, all day), and the
zone (`timezone`) its day and its recurrence are read in.

An all-day task also stores, as `due_at`, the instant its date starts in its zone: listings
sort and filter every task by that one indexed column, and never compute a zone per row. So a
write that changes the date or the zone of an all-day task writes that instant again, here.
"""

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select

from todo_api.db import Connection, Query
from todo_api.kit import zones
from todo_api.kit.errors import InvalidField
from todo_api.tables.users import users

# The columns that say when a task is due.
DUE_FIELDS = frozenset({"due_at", "due_date", "timezone"})


def refuse_both(values: Mapping[str, Any]) -> None:
    """A write gives a due_at or a due_date, never both (null for either is fine)."""
    if values.get("due_at") is not None and values.get("due_date") is not None:
        raise InvalidField("due_date", "give due_at or due_date, not both")


def needs_stored_due(values: Mapping[str, Any]) -> bool:
    """Whether the task's stored due fields decide what this write leaves: a new date or
    zone (the instant a date starts moves with them), or a due_at cleared (an all-day task
    keeps its instant)."""
    cleared = "due_at" in values and values["due_at"] is None
    return cleared or "due_date" in values or "timezone" in values


def due_values(before: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """`due_date`, `timezone` and (when it changes) `due_at` as a write of `values` leaves a
    task that had `before`'s. A due_at given makes the task timed; a due_date given makes it
    all-day; a new zone keeps the due_at instant of a timed task and the date of an all-day
    one."""
    refuse_both(values)
    zone = values.get("timezone") or before["timezone"]
    day: date | None = values["due_date"] if "due_date" in values else before["due_date"]
    if values.get("due_at") is not None:
        day = None
    due: dict[str, Any] = {"due_date": day, "timezone": zone}
    if day is not None:
        due["due_at"] = zones.start_of(day, zone)
    elif "due_at" in values:
        due["due_at"] = values["due_at"]
    elif before["due_date"] is not None:  # its date cleared: the instant it stood for goes too
        due["due_at"] = None
    # else a timed task keeps its due_at as stored
    return due


def reads_zone(values: Mapping[str, Any]) -> bool:
    """Whether a new task of `values` is computed in its zone before it is stored: the instant
    its date starts, the times its rule repeats at."""
    return values.get("due_date") is not None or values.get("recurrence") is not None


_USER_ZONE = Query(select(users.c.timezone).where(users.c.id == bindparam("user_id")))


async def user_zone(conn: Connection, user_id: uuid.UUID) -> str:
    """The user's zone: what their new tasks are read in, and what `due_on` means to them."""
    zone: str | None = (await conn.execute(_USER_ZONE, {"user_id": user_id})).scalar()
    return zone or zones.DEFAULT_ZONE
