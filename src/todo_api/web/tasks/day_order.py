"""The order a page shows its tasks in: Today's and Upcoming's by day (`Overdue` first, then a
heading per day, each day's timed tasks by time and its all-day ones after), and in every view
each subtask under its parent when the parent is shown beside it."""

import functools
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import babel
from babel import dates as babel_dates

from todo_api.kit import zones
from todo_api.web.common.messages import translations


@dataclass(slots=True)
class Day:
    """A heading of a day's tasks (`key` names it in the page: `overdue`, or the ISO date)."""

    key: str
    heading: str
    tasks: list[dict[str, Any]] = field(default_factory=list)


def _placed(task: Mapping[str, Any], zone: str) -> tuple[date, bool, time]:
    """A task's day on the person's clock, then whether it is all day (after the timed ones),
    then its time."""
    due_at, due_date = task.get("due_at"), task.get("due_date")
    if due_at:
        moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
        moment = moment.astimezone(zones.zone(zone))
        return moment.date(), False, moment.time()
    day = due_date if isinstance(due_date, date) else date.fromisoformat(str(due_date))
    return day, True, time()


def by_day(
    found: Iterable[dict[str, Any]],
    zone: str,
    today: date,
    language: str,
    days: int,
    *,
    near_words: bool = True,
) -> list[Day]:
    """The tasks (each with a due date) under their days' headings: those of days before
    `today` under `Overdue`, then `days` days from `today` on, each whether it has tasks or
    not (`days` 0: only the days with tasks), and any later day a task falls on. Today and
    tomorrow are named so with `near_words`, else by weekday and date, today's led by `Today`
    (Today's page: "Today · Sunday, November 29")."""
    _ = translations(language).gettext
    placed = sorted(((_placed(task, zone), task) for task in found), key=lambda pair: pair[0])
    overdue = Day("overdue", _("Overdue"))
    shown = {today + timedelta(days=n): None for n in range(days)}
    shown.update({key[0]: None for key, _task in placed if key[0] >= today})
    groups = {
        day: Day(day.isoformat(), _day_heading(day, today if near_words else None, language))
        for day in shown
    }
    if not near_words and today in groups:
        dated = groups[today].heading
        groups[today] = Day(today.isoformat(), f"{_('Today')} \u00b7 {dated}")
    for (day, _all_day, _clock), task in placed:
        (overdue if day < today else groups[day]).tasks.append(task)
    return ([overdue] if overdue.tasks else []) + [groups[day] for day in sorted(groups)]


def _day_heading(day: date, today: date | None, language: str) -> str:
    _ = translations(language).gettext
    if today is not None and day == today:
        return _("Today")
    if today is not None and day == today + timedelta(days=1):
        return _("Tomorrow")
    return babel_dates.format_date(day, _weekday_and_date(language), locale=language)


@functools.cache
def _weekday_and_date(language: str) -> str:
    """The language's pattern of a weekday and a date without the year (CLDR's `MMMMEd`),
    its weekday written in full ("Friday, December 4", "Freitag, 4. Dezember"), as ICU's
    pattern generator widens a field."""
    pattern = babel.Locale.parse(language).datetime_skeletons["MMMMEd"].pattern
    return re.sub("E+", "EEEE", pattern)


@dataclass(slots=True)
class Node:
    """A task of a view and the subtasks shown under it."""

    task: dict[str, Any]
    children: list["Node"] = field(default_factory=list)
    under_parent: bool = False


def nested(found: Iterable[dict[str, Any]]) -> list[Node]:
    """The tasks as a tree, in their order: each subtask under its parent when the parent is
    among them, else where it stands."""
    nodes = {task["id"]: Node(task) for task in found}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node.task.get("parent_id"))
        if parent is None:
            roots.append(node)
        else:
            node.under_parent = True
            parent.children.append(node)
    return roots


def parents_away(trees: Iterable[Node]) -> set[uuid.UUID]:
    """The parents of the tasks shown where they stand (their parents not shown with them)."""
    return {node.task["parent_id"] for node in trees if node.task.get("parent_id")}


def by_section(
    found: Iterable[dict[str, Any]],
    sections: Iterable[Mapping[str, Any]],
    no_section: str,
    *,
    board: bool,
) -> list[Day]:
    """A list's tasks under its sections' headings, in the list's order of sections, each
    section's tasks in the order found (a subtask in its parent's): those in no section first
    (`key` `none`, headed `no_section` on the board, where that column shows only when it has
    tasks; in the list, without a heading), then each section's (`key` its id), with tasks
    or not."""
    groups = {None: Day("none", no_section if board else "")}
    groups.update({section["id"]: Day(str(section["id"]), section["name"]) for section in sections})
    for task in found:
        (groups.get(task.get("section_id")) or groups[None]).tasks.append(task)
    shown = list(groups.values())
    return shown if shown[0].tasks or not board else shown[1:]
