"""Writing a task as a calendar object through `icalendar`: the reference, which takes every
shape of task, and the only writer of one that holds what a client gave (`extra`, merged back so
nothing a client gave is lost, also after the task changed elsewhere). `VTIMEZONE`s are made
from the zone database for every `TZID` the object uses."""

import functools
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from icalendar import Alarm, Calendar, Component, FreeBusy, Todo, vText, vUri
from icalendar.parser import Parameters

from todo_api.ical.mapping import (
    ALL_DAY_OFFSET,
    CALENDAR_OWN,
    PRODID,
    SECTION,
    WRITTEN_PRIORITY,
    Attached,
    alarm_reminder,
    due_on_its_clock,
    same_reminder,
    to_ical,
    tzid_values,
)
from todo_api.ical.vtimezone import vtimezone
from todo_api.kit import zones
from todo_api.kit.reminders import parse_duration


def write(
    task: Mapping[str, Any],
    uid: str,
    parent_uid: str | None,
    extra: str | None,
    files: Sequence[Attached] = (),
) -> bytes:
    calendar_props, components = object_components(task, uid, parent_uid, extra, files)
    return calendar_text(calendar_props, components)


def parts(
    task: Mapping[str, Any],
    uid: str,
    parent_uid: str | None,
    extra: str | None,
    renamed: Mapping[str, str] | None,
    files: Sequence[Attached] = (),
) -> tuple[list[tuple[str, bytes | None]], bytes]:
    """What `write` puts in the calendar object of a task, without the calendar around it, for
    a calendar of many tasks (which holds each zone once): the zones it names, each with the
    VTIMEZONE a client sent (None: the zone database's, `timezone_ical`), and the text of its
    other components. `renamed` gives a zone a client sent another TZID (another task's zone
    took its name in the calendar)."""
    found = object_components(task, uid, parent_uid, extra, files)[1]
    if renamed:
        _rename_zones(found, renamed)
    sent = [c for c in found if c.name == "VTIMEZONE"]
    rest = [c for c in found if c.name != "VTIMEZONE"]
    named: list[tuple[str, bytes | None]] = [(zone, None) for zone in zones_used(found)]
    named += [(str(zone.get("TZID", "")), to_ical(zone)) for zone in sent]
    return named, b"".join(to_ical(component) for component in rest)


def _rename_zones(components: list[Component], renamed: Mapping[str, str]) -> None:
    for component in components:
        for value in tzid_values(component):
            if (tzid := str(value.params.get("TZID", ""))) in renamed:
                value.params["TZID"] = renamed[tzid]
        if component.name == "VTIMEZONE" and (tzid := str(component.get("TZID", ""))) in renamed:
            component["TZID"] = renamed[tzid]


def object_components(
    task: Mapping[str, Any],
    uid: str,
    parent_uid: str | None,
    extra: str | None,
    files: Sequence[Attached] = (),
) -> tuple[list[tuple[str, Any]], list[Component]]:
    kept = _kept(extra)
    todo = Todo()
    calendar_props: list[tuple[str, Any]] = []
    others: list[Component] = []
    if kept is not None:
        calendar_props = [(n, v) for n, v in kept.items() if n not in CALENDAR_OWN]
        stored = next((c for c in kept.subcomponents if c.name == "VTODO"), None)
        others = [c for c in kept.subcomponents if c is not stored]
        if stored is not None:
            for name, value in stored.items():
                todo[name] = value
            alarms = list(stored.subcomponents)
        else:
            alarms = []
    else:
        alarms = []
    _write_mapped(todo, task, uid, parent_uid, alarms)
    for file in files:  # after the client's own ATTACH values, if it kept any
        todo.add("ATTACH", vUri(file.url), parameters=attach_params(file))
    return calendar_props, [todo, *others]


def attach_params(file: Attached) -> dict[str, str]:
    return {"FMTTYPE": file.content_type, "FILENAME": file.name}


def _write_mapped(
    todo: Todo,
    task: Mapping[str, Any],
    uid: str,
    parent_uid: str | None,
    alarms: list[Component],
) -> None:
    todo.add("UID", uid)
    todo.add("DTSTAMP", task["updated_at"])
    todo.add("CREATED", task["created_at"])
    todo.add("LAST-MODIFIED", task["updated_at"])
    todo.add("SEQUENCE", max(task["version"] - 1, 0))
    todo.add("SUMMARY", task["title"])
    if task["description"] is not None:
        todo.add("DESCRIPTION", task["description"])
    if task["is_completed"]:
        todo["STATUS"] = "COMPLETED"  # replaces a kept IN-PROCESS
        if task["completed_at"] is not None:
            todo.add("COMPLETED", task["completed_at"].astimezone(UTC))
    elif "STATUS" not in todo:
        todo.add("STATUS", "NEEDS-ACTION")
    _percent_follows_completion(todo, task["is_completed"])
    if task["priority"]:
        todo.add("PRIORITY", WRITTEN_PRIORITY[task["priority"]])
    if task["tags"]:
        todo.add("CATEGORIES", list(task["tags"]))
    if task.get("section_name") is not None:
        todo.add(SECTION, vText(task["section_name"]))  # TEXT, escaped as typed
    if task["start_date"] is not None or task["start_at"] is not None:
        todo.pop("DTSTART", None)  # kept from a client before DTSTART was the task's start
    if task["start_date"] is not None:
        todo.add("DTSTART", task["start_date"])
    elif task["start_at"] is not None:
        todo.add("DTSTART", due_on_its_clock(task["start_at"], task["timezone"]))
    all_day = task["due_date"] is not None
    if all_day:
        todo.add("DUE", task["due_date"])
    elif task["due_at"] is not None:
        todo.add("DUE", due_on_its_clock(task["due_at"], task["timezone"]))
    # A completed task whose next occurrence exists no longer recurs: the next one does.
    if task["recurrence"] is not None and task.get("next_occurrence_id") is None:
        todo.add("RRULE", RuleText(task["recurrence"]))
    if parent_uid is not None:
        todo.add("RELATED-TO", parent_uid)
    timed = task["due_at"] is not None and not all_day
    unused = list(alarms)
    for reminder in task["reminders"]:
        match = next(
            (
                alarm
                for alarm in unused
                if (spec := alarm_reminder(alarm, all_day=all_day, timed=timed)) is not None
                and same_reminder(spec, reminder)
            ),
            None,
        )
        if match is not None:
            unused.remove(match)
            todo.add_component(match)
        else:
            todo.add_component(_alarm(reminder, task["title"], all_day=all_day))
    for alarm in unused:  # an alarm the mapping does not cover stays; a removed reminder goes
        if alarm_reminder(alarm, all_day=all_day, timed=timed) is None:
            todo.add_component(alarm)


def _percent_follows_completion(todo: Todo, completed: bool) -> None:
    """PERCENT-COMPLETE follows completion, however it changed: 100 while the task is
    completed (also where no client gave one: Thunderbird shows a task without it at 0 %),
    left out once it is reopened from 100 (Thunderbird takes 100 for done whatever STATUS
    says); a part done (40) stays while the task is open."""
    if completed:
        todo.pop("PERCENT-COMPLETE", None)
        todo.add("PERCENT-COMPLETE", 100)
    elif "PERCENT-COMPLETE" in todo and str(todo["PERCENT-COMPLETE"]).strip() == "100":
        todo.pop("PERCENT-COMPLETE")


class RuleText(str):
    """A rule as the API stores it (its validation is the API's). icalendar reads it and
    writes its parts again, in RFC 5545's order."""

    params = Parameters()

    def to_ical(self) -> bytes:
        return self.encode()


def _alarm(reminder: Mapping[str, str], title: str, *, all_day: bool) -> Alarm:
    alarm = Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", title)
    if "at" in reminder:
        at = datetime.fromisoformat(reminder["at"]).astimezone(UTC)
        alarm.add("TRIGGER", at, parameters={"VALUE": "DATE-TIME"})  # RFC 5545 §3.8.6.3
    else:
        before = parse_duration(reminder["before_due"])
        offset = ALL_DAY_OFFSET - before if all_day else -before
        alarm.add("TRIGGER", offset, parameters={"RELATED": "END"})
    return alarm


def _kept(extra: str | None) -> Calendar | None:
    if not extra:
        return None
    calendar = Calendar.from_ical(extra)
    return calendar if isinstance(calendar, Calendar) else None


END = b"END:VCALENDAR\r\n"


def calendar_text(props: list[tuple[str, Any]], components: list[Component]) -> bytes:
    """The calendar of `props` and `components`, its zones first. Written a part at a time (a
    calendar is its content lines, each written alone): each zone's text is written once."""
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    for name, value in props:
        calendar[name] = value
    head = to_ical(calendar)
    zones = [timezone_ical(zone) for zone in zones_used(components)]
    parts = [to_ical(component) for component in components]
    return b"".join([head.removesuffix(END), *zones, *parts, END])


def zones_used(components: list[Component]) -> list[str]:
    """The zones the components name with a TZID (each once, sorted)."""
    return sorted(set(_zones_named(components)))


def free_busy(start: datetime, end: datetime) -> bytes:
    """A VFREEBUSY for a range with no busy period: tasks take no time (RFC 4791 §7.10)."""
    period = FreeBusy()
    period.add("DTSTAMP", datetime.now(UTC))
    period.add("DTSTART", start)
    period.add("DTEND", end)
    return calendar_text([], [period])


def _zones_named(components: list[Component]) -> Iterator[str]:
    for component in components:
        for value in tzid_values(component):
            if "TZID" in value.params:
                name = str(value.params["TZID"])
                if name in zones.known_zones():
                    yield name


@functools.cache  # a few KB each, ~0.15 s to make: every zone kept once made (~600 at most)
def timezone_ical(name: str) -> bytes:
    """The `VTIMEZONE` of a zone, as iCalendar text."""
    return to_ical(vtimezone(name))
