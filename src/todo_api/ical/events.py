"""Tasks as a calendar app shows them: a subscription feed (RFC 5545, read-only) of `VEVENT`s,
one per dated task, and, when undated tasks are asked for too, a `VTODO` for each of those
(a `VEVENT` needs a `DTSTART`, and a date made up for a task would put it on a day it is not
due).

A feed of hundreds of tasks is written on every poll of every calendar app that subscribed, so
it is written as text with the lines `direct` writes for a task's `VTODO` (the same `DUE`/`DTSTART`
values with their `TZID`, `RRULE`, escaping and folding) and the zone database's `VTIMEZONE`s:
tests/unit/test_ical_events.py reads what it writes back with `icalendar`.

An event is at the task's due (a date: all day; a moment: with its zone), from its start when
both are dates or both moments. A repeating task is one event with its `RRULE`, starting at its
oldest completed occurrence given (its rule as it was then), each completed occurrence an
`EXDATE`, so that the calendar shows what is still to do.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from todo_api.ical.direct import _HEAD, _fold, _moment_line, _rule_line, _utc_text
from todo_api.ical.mapping import escape_text
from todo_api.ical.reference import END, timezone_ical

# How often a calendar app is asked to fetch the feed again (Apple's and Outlook's
# `REFRESH-INTERVAL`, Google's and Thunderbird's reading of `X-PUBLISHED-TTL`).
REFRESH = "PT15M"

# A completed occurrence of a repeating task: its due and start as they were (a row of
# `task_completions`), and its rule then.
Occurrence = Mapping[str, Any]


def _anchor(schedule: Mapping[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    """Where an event of `schedule` starts (a date, a moment) and ends (None: no end given),
    as (date, moment) pairs."""
    due = (schedule["due_date"], schedule["due_at"] if schedule["due_date"] is None else None)
    start = (
        schedule["start_date"],
        schedule["start_at"] if schedule["start_date"] is None else None,
    )
    has_due = due != (None, None)
    has_start = start != (None, None)
    if has_due and has_start and (due[0] is None) == (start[0] is None):
        return start, due  # a span: both dates or both moments
    return (due if has_due else start), None


def dated(task: Mapping[str, Any]) -> bool:
    """Whether a task has a day in a calendar: a due or a start."""
    return any(task[name] is not None for name in ("due_date", "due_at", "start_date", "start_at"))


def event(
    task: Mapping[str, Any], *, url: str, completed: Sequence[Occurrence] = ()
) -> tuple[bytes, str | None]:
    """The `VEVENT` of a dated task (as the API shows it), and the zone it names (None: none).
    `completed`: a repeating task's completed occurrences, oldest first."""
    zone = task["timezone"]
    first: Mapping[str, Any] = completed[0] if completed else task
    rule = first.get("recurrence") or task["recurrence"]
    (day, moment), end = _anchor(first)
    lines = ["BEGIN:VEVENT", "UID:" + escape_text(str(task["id"]))]
    stamp = _utc_text(task["updated_at"])
    if stamp is not None:
        lines.append("DTSTAMP:" + stamp)
    named = None
    start_line, named = _moment("DTSTART", day, moment, zone)
    lines.append(start_line)
    if end is not None:
        end_day = end[0] + timedelta(days=1) if end[0] is not None else None  # DTEND excludes
        end_line, end_zone = _moment("DTEND", end_day, end[1], zone)
        lines.append(end_line)
        named = named or end_zone
    rule_line = None if rule is None else _rule_line(rule)
    if rule_line is not None:
        lines.append(rule_line)
        for done in completed:
            (done_day, done_moment), _ = _anchor(done)
            if done_day is not None or done_moment is not None:
                lines.append(_moment("EXDATE", done_day, done_moment, zone)[0])
    lines += _described(task, url)
    lines.append("TRANSP:TRANSPARENT")  # a task takes no time in a free/busy view
    lines.append("END:VEVENT")
    return _text(lines), named


def _moment(name: str, day: Any, moment: Any, zone: str) -> tuple[str, str | None]:
    """`direct`'s line of a date or a moment on its zone's clock (in UTC for a zone it leaves
    to icalendar), and the zone it names."""
    found = _moment_line(name, day, moment, zone) or _moment_line(name, day, moment, "UTC")
    if found is None:  # not a date nor an aware moment: nothing the API stores
        raise ValueError(f"{name} of neither a date nor a moment")
    return found


def todo(task: Mapping[str, Any], *, url: str) -> bytes:
    """The `VTODO` of an undated task: calendar apps that show tasks list it, others skip it."""
    lines = ["BEGIN:VTODO", "UID:" + escape_text(str(task["id"]))]
    stamp = _utc_text(task["updated_at"])
    if stamp is not None:
        lines.append("DTSTAMP:" + stamp)
    lines += _described(task, url)
    lines += ["STATUS:NEEDS-ACTION", "END:VTODO"]
    return _text(lines)


def _described(task: Mapping[str, Any], url: str) -> list[str]:
    """What a calendar app shows of a task: its title, description, tags and page; never its
    comments."""
    lines = ["SUMMARY:" + escape_text(task["title"])]
    if task["description"]:
        lines.append("DESCRIPTION:" + escape_text(task["description"]))
    if task["tags"]:
        lines.append("CATEGORIES:" + ",".join(escape_text(tag) for tag in task["tags"]))
    lines.append("URL:" + url)
    return lines


def _text(lines: list[str]) -> bytes:
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()


def calendar(name: str, components: Iterable[tuple[bytes, str | None]]) -> bytes:
    """A feed's `VCALENDAR`: its name for the calendar app, how often to fetch it, each zone's
    `VTIMEZONE` once, then the components (each its text and the zone it names)."""
    head = [
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:" + escape_text(name),
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    texts: list[bytes] = []
    zones: set[str] = set()
    for text, zone in components:
        texts.append(text)
        if zone is not None:
            zones.add(zone)
    return b"".join(
        [_HEAD, _text(head), *(timezone_ical(zone) for zone in sorted(zones)), *texts, END]
    )
