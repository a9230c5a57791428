"""A task's reminders and their schedule, kept in the task's own transaction.

A task keeps its reminders as the API shows them (`tasks.reminders`): `{"id", "at"}` at a
moment, or `{"id", "before_due"}` an ISO 8601 duration before it is due (for an all-day task,
before 09:00 of its date in its zone). `reminder_fires` holds each one's time (`fires_at`),
and `next_fire_at`, the same while it is still to fire: a time already past when it is set
(the write's own time, the task's `updated_at`) is kept and never fires for that time. Every
write that sets a task's reminders, or moves when it is due, calls `schedule` in its
transaction; reopening calls `rearm`. Completing needs nothing: the scheduler fires nothing
for a completed task (todo_api.reminders.firing).

A write that schedules something wakes this process's scheduler, which then sleeps until the
earliest time: every process runs one, so the process that took the write always fires in
time, and the others need no message.

Durations are hand-parsed: the ISO 8601 subset that has a fixed length (weeks, days, hours,
minutes, seconds). Years and months have none, and no library refuses them for us.
"""

import asyncio
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, select, update

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit import jobs, zones
from todo_api.kit.errors import InvalidField
from todo_api.kit.http import json_bytes
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.reminders import REMINDERS_MAX_COUNT, reminder_fires

__all__ = ["FIRE_JOB", "REMINDERS_MAX_COUNT", "parse_duration", "rearm", "schedule"]

# The job that fires due reminders (todo_api.reminders.scheduled).
FIRE_JOB = "reminders.fire"
SHORTEST = timedelta(minutes=1)
LONGEST = timedelta(days=30)
# An all-day task's `before_due` counts back from this time of its date, in its zone.
ALL_DAY_AT = time(9)
# A wake-up once the write has most likely committed, and another in case it had not.
WAKE_AFTER_SECONDS = (0.05, 1.0)

# For the document: the form `_DURATION` reads, with at least one part after P (and after T).
_TIME_PARTS = r"T(?:\d+H(?:\d+M)?(?:\d+S)?|\d+M(?:\d+S)?|\d+S)"
DURATION_PATTERN = rf"^P(?:(?:\d+W(?:\d+D)?|\d+D)(?:{_TIME_PARTS})?|{_TIME_PARTS})$"
_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds, from a minute to 30
    days (ValueError with a sentence otherwise)."""
    match = _DURATION.match(text) if len(text) <= 40 else None
    if match is None or text in {"P", "PT"} or text.endswith("T"):
        raise ValueError(
            "before_due must be an ISO 8601 duration in weeks, days, hours, minutes or "
            "seconds, such as PT15M, PT2H or P1D"
        )
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if max(weeks, days, hours, minutes, seconds) > 10**7:
        raise ValueError("before_due must be from 1 minute to 30 days")
    length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not SHORTEST <= length <= LONGEST:
        raise ValueError("before_due must be from 1 minute to 30 days")
    return length


def instant_text(at: datetime) -> str:
    """A time as the API writes it (RFC 3339, UTC, `Z`)."""
    text: str = json_bytes(at).decode()[1:-1]
    return text


def _anchor(task: Mapping[str, Any]) -> datetime | None:
    """What a `before_due` reminder counts back from: the due time, or 09:00 of the due date
    in the task's zone."""
    if task["due_date"] is not None:
        local = datetime.combine(task["due_date"], ALL_DAY_AT, zones.zone(task["timezone"]))
        try:
            return local.astimezone(UTC)
        except OverflowError:
            return zones.LAST_INSTANT
    due: datetime | None = task["due_at"]
    return due


def fire_time(reminder: Mapping[str, str], task: Mapping[str, Any]) -> datetime | None:
    """When the reminder fires, for the task as it is (None: a `before_due` of a task due
    never)."""
    if "at" in reminder:
        return datetime.fromisoformat(reminder["at"])
    anchor = _anchor(task)
    if anchor is None:
        return None
    try:
        return anchor - parse_duration(reminder["before_due"])
    except OverflowError:
        return zones.FIRST_INSTANT


def with_ids(
    given: Sequence[Mapping[str, Any]], current: Sequence[Mapping[str, str]] = ()
) -> list[dict[str, str]]:
    """The reminders a write sets, as stored: each keeps the `id` it was given when the task
    has a reminder of that id already (so that one that fired stays fired), else a new one."""
    known = {reminder["id"] for reminder in current}
    stored = []
    for reminder in given:
        given_id = reminder.get("id")
        kept = str(given_id) if given_id is not None and str(given_id) in known else None
        known.discard(kept or "")  # an id given twice is kept once
        item = {"id": kept or str(new_id())}
        if reminder.get("at") is not None:
            item["at"] = instant_text(reminder["at"])
        else:
            item["before_due"] = reminder["before_due"]
        stored.append(item)
    return stored


def check(task: Mapping[str, Any]) -> None:
    """A `before_due` reminder needs a due time or date (InvalidField naming `reminders`)."""
    undated = task["due_at"] is None and task["due_date"] is None
    if undated and any("before_due" in reminder for reminder in task["reminders"]):
        raise InvalidField("reminders", "a before_due reminder needs a due_at or a due_date")


_FIRES_OF = Query(
    select(reminder_fires.c.reminder_id, reminder_fires.c.fires_at).where(
        reminder_fires.c.task_id == bindparam("task_id")
    )
)
_ADD = Query(insert_bound(reminder_fires, "reminder_id", "task_id", "fires_at", "next_fire_at"))
# A new time: a fresh schedule (a claim on the old time is dropped, so that the scheduler
# holding it fires nothing, and the new time is not held up by its lease).
_MOVE = Query(
    update(reminder_fires)
    .where(reminder_fires.c.reminder_id == bindparam("reminder_id"))
    .values(
        fires_at=bindparam("fires_at"),
        next_fire_at=bindparam("next_fire_at"),
        claimed_by=None,
        claimed_until=None,
    )
)
_FORGET = Query(delete(reminder_fires).where(reminder_fires.c.reminder_id == bindparam("id")))
# Reopened: what is still to come fires; what passed while it was completed does not.
_REARM = Query(
    update(reminder_fires)
    .where(reminder_fires.c.task_id == bindparam("task_id"))
    .values(
        next_fire_at=case(
            (reminder_fires.c.fires_at > bindparam("now"), reminder_fires.c.fires_at),
            else_=None,
        ),
        claimed_by=None,
        claimed_until=None,
    )
)


def _set_at(task: Mapping[str, Any]) -> datetime:
    """When the write that sets the task's reminders was made: its `updated_at`, as its answer
    shows it (a create's `created_at`). Not the clock when `schedule` runs: that is later, by
    the write's statements before it (seconds on a loaded server, a lock waited for), and a
    reminder whose time fell in between would be kept and never fire, though the answer shows
    it set before its time."""
    at: datetime | None = task.get("updated_at")
    return at if at is not None else utcnow()


async def schedule(
    conn: Connection, task: Mapping[str, Any], *, missed_since: datetime | None = None
) -> None:
    """Bring the task's schedule in line with its reminders and due time (in the caller's
    transaction): a reminder whose time is unchanged keeps its state (fired or not), one with
    a new time fires then if that is still to come. With `missed_since` (a task restored: when
    it was deleted), one whose time came since then fires now, once, as one missed while the
    service was down does (within REMINDER_MAX_LATE_HOURS); one that came before had fired."""
    check(task)
    existing = {
        row["reminder_id"]: row["fires_at"]
        for row in await conn.execute(_FIRES_OF, {"task_id": task["id"]})
    }
    now = _set_at(task)
    sooner = False
    kept: list[uuid.UUID] = []
    for reminder in task["reminders"]:
        at = fire_time(reminder, task)
        if at is None:
            continue
        reminder_id = uuid.UUID(reminder["id"])
        kept.append(reminder_id)
        missed = missed_since is not None and missed_since <= at <= now
        if existing.get(reminder_id) == at:
            continue
        params = {
            "reminder_id": reminder_id,
            "task_id": task["id"],
            "fires_at": at,
            "next_fire_at": at if at > now or missed else None,
        }
        await conn.execute(_MOVE if reminder_id in existing else _ADD, params)
        sooner = sooner or at > now or missed
    for gone in existing.keys() - set(kept):  # at most five
        await conn.execute(_FORGET, {"id": gone})
    if sooner:
        wake_scheduler()


async def rearm(conn: Connection, task: Mapping[str, Any]) -> None:
    """A reopened task's reminders still to come fire again; those whose time passed do not."""
    if task["reminders"]:
        await conn.execute(_REARM, {"task_id": task["id"], "now": _set_at(task)})
        wake_scheduler()


def wake_scheduler() -> None:
    """This process's scheduler reads the earliest time again, once the write has committed."""
    loop = asyncio.get_running_loop()
    for delay in WAKE_AFTER_SECONDS:
        loop.call_later(delay, jobs.wake, FIRE_JOB)
