"""A recurring task's rule against its due time or date: whether a write may give it, and
where its next occurrence falls (on the wall clock of the task's zone: todo_api.tasks.recurrence
reads the rule)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from todo_api.kit import zones
from todo_api.kit.errors import InvalidField
from todo_api.tasks import recurrence


def due_of(task: Mapping[str, Any]) -> recurrence.Due | None:
    """What a task's rule is read from: its date when all-day, else its due time."""
    due: recurrence.Due | None = task["due_date"] or task["due_at"]
    return due


def check_rule(task: Mapping[str, Any], *, written: bool = False) -> None:
    """A rule on a task: it needs a due time or date and a next one within ten years; a rule
    this write gives the task (`written`) must also leave, with its COUNT or UNTIL, an
    occurrence after it (the last task of a series keeps the rule that ended it)."""
    if task["recurrence"] is None:
        return
    due = due_of(task)
    if due is None:
        raise InvalidField("recurrence", "a recurring task needs a due_at or a due_date")
    parsed, zone = recurrence.parse(task["recurrence"]), zones.zone(task["timezone"])
    start = task.get("series_start")
    if not recurrence.recurs_soon(parsed, due, zone, start):
        raise InvalidField(
            "recurrence", "gives no date after the task's due time within the next 10 years"
        )
    if written and not recurrence.leaves_an_occurrence(parsed, due, zone, start):
        raise InvalidField(
            "recurrence", "its COUNT or UNTIL leaves no occurrence after the task's due time"
        )


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


def next_due(due: recurrence.Due, zone: str) -> dict[str, Any]:
    """The due columns of the next occurrence, due at `due`."""
    if isinstance(due, datetime):
        return {"due_at": due, "due_date": None}
    return {"due_at": zones.start_of(due, zone), "due_date": due}
