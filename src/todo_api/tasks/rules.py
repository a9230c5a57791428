"""A recurring task's rule against its due time or date (without one, its start): whether a
write may give it, and where its next occurrence falls (on the wall clock of the task's zone:
todo_api.tasks.recurrence reads the rule). The next occurrence keeps the gap between start and
due, on that wall clock."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from todo_api.kit import zones
from todo_api.kit.errors import InvalidField
from todo_api.tasks import recurrence


def due_of(task: Mapping[str, Any]) -> recurrence.Due | None:
    """What a task's rule is read from, the moment its series follows: its due date when
    all-day, else its due time; without either, its start (date or time) likewise."""
    due: recurrence.Due | None = (
        task["due_date"] or task["due_at"] or task["start_date"] or task["start_at"]
    )
    return due


def _start_of(task: Mapping[str, Any]) -> recurrence.Due | None:
    start: recurrence.Due | None = task["start_date"] or task["start_at"]
    return start


def _follows_due(task: Mapping[str, Any]) -> bool:
    return task["due_date"] is not None or task["due_at"] is not None


def check_rule(task: Mapping[str, Any], *, written: bool = False) -> None:
    """A rule on a task: it needs a due time or date and a next one within ten years; a rule
    this write gives the task (`written`) must also leave, with its COUNT or UNTIL, an
    occurrence after it (the last task of a series keeps the rule that ended it)."""
    if task["recurrence"] is None:
        return
    due = due_of(task)
    if due is None:
        raise InvalidField(
            "recurrence",
            "a recurring task needs a due_at, a due_date or a start (start_at, start_date)",
        )
    parsed, zone = recurrence.parse(task["recurrence"]), zones.zone(task["timezone"])
    start = task.get("series_start")
    if not recurrence.recurs_soon(parsed, due, zone, start):
        raise InvalidField(
            "recurrence",
            f"gives no date after the task's {_followed(task)} within the next 10 years",
        )
    if written and not recurrence.leaves_an_occurrence(parsed, due, zone, start):
        raise InvalidField(
            "recurrence",
            f"its COUNT or UNTIL leaves no occurrence after the task's {_followed(task)}",
        )


def _followed(task: Mapping[str, Any]) -> str:
    return "due time" if _follows_due(task) else "start"


def following(task: dict[str, Any]) -> tuple[recurrence.Due, recurrence.Rule] | None:
    """The next due time (or date) and rule of a recurring task, on the wall clock of its
    zone; None when it does not recur (any more)."""
    due = due_of(task)
    if task["recurrence"] is None or due is None:
        return None
    rule = recurrence.parse(task["recurrence"])
    zone = zones.zone(task["timezone"])
    return recurrence.next_occurrence(rule, due, zone, task.get("series_start"))


def series_start(task: Mapping[str, Any]) -> datetime | None:
    """Where the series of a recurring task started, for its next occurrence to carry: its
    own, or (none kept) its due time on the wall clock of its zone."""
    start: datetime | None = task.get("series_start")
    due = due_of(task)
    if start is None and due is not None:
        start = recurrence.wall_clock(due, zones.zone(task["timezone"]))
    return start


def next_when(task: Mapping[str, Any], following: recurrence.Due) -> dict[str, Any]:
    """The due and start columns of the occurrence after `task`, whose series comes next at
    `following` (its due time or date; without one, its start). A start before a due time
    stays as far before it on the wall clock of the task's zone (a task from 09:00 to 17:00
    keeps both times across a change of the clocks); a start given as a day stays a day."""
    zone = task["timezone"]
    if not _follows_due(task):
        return {"due_at": None, "due_date": None, **_columns("start", following, zone)}
    values = _columns("due", following, zone)
    start, due = _start_of(task), due_of(task)
    next_start = None
    if start is not None and due is not None:
        next_start = _as_far_before(following, start, due, zones.zone(zone))
    return {**values, **_columns("start", next_start, zone)}


def _as_far_before(
    following: recurrence.Due, start: recurrence.Due, due: recurrence.Due, zone: tzinfo
) -> recurrence.Due | None:
    """A start as far before `following` as `start` was before `due`, on the zone's wall
    clock; None beyond the years a time can be written in."""
    start_wall, due_wall, following_wall = (
        recurrence.wall_clock(moment, zone) for moment in (start, due, following)
    )
    if start_wall is None or due_wall is None or following_wall is None:
        return None
    try:
        wall = following_wall - (due_wall - start_wall)
        if not isinstance(start, datetime):
            return wall.date()
        return wall.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def _columns(kind: str, moment: recurrence.Due | None, zone: str) -> dict[str, Any]:
    """`{kind}_at` and `{kind}_date` for a moment: an instant, or a day and the instant it
    starts in `zone`, or neither."""
    if moment is None:
        return {f"{kind}_at": None, f"{kind}_date": None}
    if isinstance(moment, datetime):
        return {f"{kind}_at": moment, f"{kind}_date": None}
    day: date = moment
    return {f"{kind}_at": zones.start_of(day, zone), f"{kind}_date": day}
