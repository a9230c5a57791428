"""A task as an iCalendar `VTODO` (RFC 5545) and back: the one translation that CalDAV, export
and import share (docs/caldav.md says what maps to what).

Built on `icalendar`: `reading` (a calendar object as the task's fields, and what the mapping
does not cover as `extra`), `reference` (writing through icalendar, `extra` merged back),
`direct` (the same bytes by hand for a task with nothing kept, the common case), and `mapping`
(what they share).

A room of its own just above the kit (zones, reminders' durations): it imports no domain; the
rooms that speak iCalendar (dav, yourdata, files, calendar_feeds) import it.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from todo_api.ical import direct, reference
from todo_api.ical.mapping import MAX_REMINDERS, PRODID, Attached, CalendarDataError
from todo_api.ical.reading import (
    CONTROL,
    UNREADABLE,
    ReadTodo,
    iana_zone,
    occurrence_done,
    read,
    read_todo,
)
from todo_api.ical.reference import free_busy, timezone_ical, zones_used

__all__ = [
    "CONTROL",
    "MAX_REMINDERS",
    "PRODID",
    "UNREADABLE",
    "Attached",
    "CalendarDataError",
    "ReadTodo",
    "free_busy",
    "iana_zone",
    "occurrence_done",
    "parts",
    "read",
    "read_todo",
    "timezone_ical",
    "write",
    "zones_used",
]


def write(
    task: Mapping[str, Any],
    *,
    uid: str,
    parent_uid: str | None = None,
    extra: str | None = None,
    files: Sequence[Attached] = (),
) -> bytes:
    """The calendar object of a stored task (a row of `tasks`), with `extra` merged back and
    the task's `files` as ATTACH."""
    if not extra:
        text = direct.write_plain(task, uid, parent_uid, files)
        if text is not None:
            return text
    return reference.write(task, uid, parent_uid, extra, files)


def parts(
    task: Mapping[str, Any],
    *,
    uid: str,
    parent_uid: str | None = None,
    extra: str | None = None,
    renamed: Mapping[str, str] | None = None,
    files: Sequence[Attached] = (),
) -> tuple[list[tuple[str, bytes | None]], bytes]:
    """`reference.parts`: what `write` puts in the calendar object of a task, without the
    calendar around it, for a calendar of many tasks (the ics export)."""
    if not extra:
        plain = direct.todo_plain(task, uid, parent_uid, files)
        if plain is not None:
            todo, zone = plain
            return ([] if zone is None else [(zone, None)]), todo
    return reference.parts(task, uid, parent_uid, extra, renamed, files)
