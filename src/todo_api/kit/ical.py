"""A task as an iCalendar `VTODO` (RFC 5545) and back: the one translation that CalDAV, export
and import share (docs/caldav.md says what maps to what).

Built on `icalendar`. Reading gives the task's fields as the API takes them (the API's own
validation then decides what is acceptable), the client's `UID`, the parent's `UID`, and
everything the mapping does not cover as iCalendar text (`extra`): unknown properties, the
calendar's own properties, other components, and every alarm (a mapped alarm keeps its other
properties there). Writing merges `extra` back, so nothing a client gave is lost, also after
the task changed elsewhere. `VTIMEZONE`s are made from the zone database for every `TZID` the
object uses.
"""

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import (
    Alarm,
    Calendar,
    Component,
    FreeBusy,
    Timezone,
    Todo,
    vDatetime,
    vDuration,
)
from icalendar.parser import Parameters
from icalendar.prop import text as _icalendar_text
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from todo_api.kit import zones
from todo_api.kit.reminders import ALL_DAY_AT, LONGEST, SHORTEST, parse_duration

PRODID = "-//todo-api//CalDAV//EN"
# The stored priority (tables.tasks.Priority: none 0, low 1, medium 2, high 3) as written.
_WRITTEN_PRIORITY = {1: 9, 2: 5, 3: 1}
_ALL_DAY_OFFSET = timedelta(hours=ALL_DAY_AT.hour)
# Properties of a VTODO the mapping owns: written from the task, never kept in `extra`.
_MAPPED = frozenset(
    {
        "UID",
        "SUMMARY",
        "DESCRIPTION",
        "COMPLETED",
        "PRIORITY",
        "CATEGORIES",
        "DUE",
        "RRULE",
        "CREATED",
        "LAST-MODIFIED",
        "DTSTAMP",
        "SEQUENCE",
    }
)
# The calendar's own properties, written anew.
_CALENDAR_OWN = frozenset({"VERSION", "PRODID", "CALSCALE", "METHOD"})
MAX_REMINDERS = 5


class CalendarDataError(ValueError):
    """A body that is not an acceptable calendar object; `condition` names the CalDAV
    precondition it fails (RFC 4791 §5.3.2) and `prop` the property at fault, when one is."""

    def __init__(self, condition: str, message: str, prop: str | None = None) -> None:
        super().__init__(message)
        self.condition = condition
        self.prop = prop


@dataclass(frozen=True)
class ReadTodo:
    uid: str
    # The task's fields as TaskCreate / TaskUpdate take them (JSON values). `timezone` is
    # present only when the object names one (a DUE with a TZID).
    fields: dict[str, Any]
    parent_uid: str | None
    extra: str  # iCalendar text of what the mapping does not cover


# What iCalendar text may not hold (RFC 5545 §3.1: no control character but HTAB; line
# breaks only between content lines) nor XML carry in `calendar-data` (U+FFFE, U+FFFF).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


# What `icalendar` raises on text it cannot read, besides ValueError: a TZID that names a folder
# of the zone database or too long a file name (OSError), a parameter or component of the wrong
# shape (AttributeError, KeyError, TypeError, IndexError).
UNREADABLE = (ValueError, KeyError, IndexError, TypeError, AttributeError, OSError)


def read(body: bytes, *, user_zone: str) -> ReadTodo:
    """The task a calendar object describes; raises CalendarDataError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CalendarDataError("valid-calendar-data", "not UTF-8 text") from None
    if (found := CONTROL.search(text)) is not None:
        raise CalendarDataError(
            "valid-calendar-data", f"a control character (U+{ord(found.group()):04X})"
        )
    try:
        calendar = Calendar.from_ical(body)
    except UNREADABLE as exc:
        raise CalendarDataError("valid-calendar-data", f"not iCalendar: {exc}") from None
    if not isinstance(calendar, Calendar) or calendar.name != "VCALENDAR":
        raise CalendarDataError("valid-calendar-data", "not a VCALENDAR")
    components = [c for c in calendar.subcomponents if c.name != "VTIMEZONE"]
    if any(c.name in ("VEVENT", "VJOURNAL", "VFREEBUSY") for c in components):
        raise CalendarDataError("supported-calendar-component", "only VTODO is supported here")
    todos = [c for c in components if c.name == "VTODO"]
    if not todos:
        raise CalendarDataError("supported-calendar-component", "no VTODO in the object")
    uids = {str(c.get("UID", "")) for c in todos}
    if len(uids) != 1 or "" in uids:
        raise CalendarDataError(
            "valid-calendar-object-resource", "one object holds one UID, and needs one"
        )
    masters = [c for c in todos if "RECURRENCE-ID" not in c]
    if len(masters) != 1:
        raise CalendarDataError("valid-calendar-object-resource", "one VTODO without RECURRENCE-ID")
    todo = masters[0]
    fields, parent_uid, kept = _fields_within_range(todo, user_zone)
    extra = Calendar()
    for name, value in calendar.items():
        if name not in _CALENDAR_OWN:
            extra[name] = value
    extra.add_component(kept)
    for component in components:
        if component is not todo:
            extra.add_component(component)
    _keep_zones(extra, {str(zone.get("TZID", "")): zone for zone in calendar.walk("VTIMEZONE")})
    return ReadTodo(str(todo["UID"]), fields, parent_uid, extra.to_ical().decode())


def read_todo(
    todo: Component, *, user_zone: str, timezones: Mapping[str, Component] | None = None
) -> ReadTodo:
    """The task one parsed `VTODO` of a larger calendar (a file) describes, its `extra` only
    what that `VTODO` holds beyond the mapping and the zones of `timezones` (the file's
    VTIMEZONEs, by TZID) that it keeps; raises CalendarDataError."""
    fields, parent_uid, kept = _fields_within_range(todo, user_zone)
    extra = Calendar()
    extra.add_component(kept)
    _keep_zones(extra, timezones or {})
    return ReadTodo(str(todo.get("UID", "")), fields, parent_uid, extra.to_ical().decode())


def _keep_zones(extra: Calendar, timezones: Mapping[str, Component]) -> None:
    """A zone that is no IANA name is written back as sent, for what is kept that uses it (DUE
    is written with the IANA zone it names)."""
    used = {str(v.params["TZID"]) for v in _tzid_values(extra) if "TZID" in v.params}
    for tzid in sorted(used - zones.known_zones()):
        if tzid in timezones:
            extra.add_component(timezones[tzid])


def _fields_within_range(
    todo: Component, user_zone: str
) -> tuple[dict[str, Any], str | None, Component]:
    """`_fields`, refusing a time that leaves years 1 to 9999 in UTC (DUE;TZID=...:00010101T000000
    in a zone east of UTC)."""
    try:
        return _fields(todo, user_zone)
    except OverflowError:
        message = "a date-time beyond years 1 to 9999"
        raise CalendarDataError("valid-calendar-data", message) from None


def _values(todo: Component, name: str) -> list[Any]:
    value = todo.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# A VTODO's properties that occur once at most (RFC 5545 §3.6.2; RRULE: one is all a task
# holds).
_ONCE = (
    "UID",
    "SUMMARY",
    "DESCRIPTION",
    "STATUS",
    "COMPLETED",
    "PRIORITY",
    "DUE",
    "DTSTAMP",
    "CREATED",
    "LAST-MODIFIED",
    "SEQUENCE",
    "RRULE",
)


def _fields(todo: Component, user_zone: str) -> tuple[dict[str, Any], str | None, Todo]:
    for name in _ONCE:
        if isinstance(todo.get(name), list):
            raise CalendarDataError("valid-calendar-data", f"{name} more than once", name)
    fields: dict[str, Any] = {
        "title": str(todo.get("SUMMARY", "")),
        "description": str(todo["DESCRIPTION"]) if "DESCRIPTION" in todo else None,
    }
    status = str(todo.get("STATUS", "")).upper()
    fields["is_completed"] = status == "COMPLETED" or (not status and "COMPLETED" in todo)
    try:
        priority = int(todo.get("PRIORITY", 0))
    except (TypeError, ValueError):
        raise CalendarDataError(
            "valid-calendar-data", "PRIORITY is not a number", "PRIORITY"
        ) from None
    fields["priority"] = (
        "high"
        if 1 <= priority <= 4
        else "medium"
        if priority == 5
        else "low"
        if priority > 5
        else "none"
    )
    fields["tags"] = [str(tag) for value in _values(todo, "CATEGORIES") for tag in value.cats]
    fields["due_at"] = fields["due_date"] = None
    all_day = False
    if "DUE" in todo:
        due = _moment(todo["DUE"], "DUE")
        if isinstance(due, datetime):
            if due.tzinfo is None:  # floating: the user's wall clock
                due = due.replace(tzinfo=zones.zone(user_zone))
            else:
                zone = _zone_name(todo["DUE"], "DUE")
                if zone is not None:
                    fields["timezone"] = zone
                    # The wall time in the zone it names, as it is written back.
                    due = due.replace(tzinfo=zones.zone(zone))
            fields["due_at"] = _instant_text(due)
        else:
            fields["due_date"] = due.isoformat()
            all_day = True
    rules = _values(todo, "RRULE")
    fields["recurrence"] = rules[0].to_ical().decode() if rules else None
    kept = Todo()
    for name, value in todo.items():
        if name not in _MAPPED and name not in ("STATUS", "RELATED-TO"):
            kept[name] = value
    if len(rules) > 1:
        kept["RRULE"] = rules[1:]
    status_kept = status not in ("", "COMPLETED", "NEEDS-ACTION")
    if status_kept:  # IN-PROCESS, CANCELLED: given back while the task is open
        kept["STATUS"] = todo["STATUS"]
    parent_uid = None
    others = []
    for relation in _values(todo, "RELATED-TO"):
        kind = str(relation.params.get("RELTYPE", "PARENT")).upper()
        if kind == "PARENT" and parent_uid is None:
            parent_uid = str(relation)
        else:
            others.append(relation)
    if others:
        kept["RELATED-TO"] = others
    reminders: list[dict[str, str]] = []
    for component in todo.subcomponents:
        spec = _reminder(component, all_day=all_day, timed=fields["due_at"] is not None)
        if spec is not None and len(reminders) < MAX_REMINDERS:
            reminders.append(spec)
        kept.add_component(component)  # its other properties, given back with it
    fields["reminders"] = reminders
    return fields, parent_uid, kept


def _moment(prop: Any, name: str) -> datetime | date:
    value = getattr(prop, "dt", None)
    if not isinstance(value, date):
        raise CalendarDataError("valid-calendar-data", f"{name} is not a date or a date-time", name)
    if isinstance(value, datetime) and "TZID" in prop.params and value.tzinfo is None:
        raise CalendarDataError("valid-calendar-data", f"unknown TZID {prop.params['TZID']}", name)
    return value


def _zone_name(prop: Any, name: str) -> str | None:
    """The IANA zone a date-time names with its TZID (None for UTC)."""
    if "TZID" not in prop.params:
        return None
    tzid = str(prop.params["TZID"])
    # icalendar itself reads some TZIDs as IANA zones (its tzinfo's key).
    zone = iana_zone(tzid) or iana_zone(getattr(prop.dt.tzinfo, "key", None) or "")
    if zone is None:
        raise CalendarDataError("valid-calendar-data", f"unknown TZID {tzid}", name)
    return zone


def iana_zone(tzid: str) -> str | None:
    """The IANA zone a TZID names: an IANA name; a Windows zone's name, as Outlook and
    Exchange write them ("W. Europe Standard Time"), by the CLDR mapping icalendar ships;
    or a globally unique TZID (RFC 5545 §3.2.19) ending in an IANA name, as libical,
    Evolution and Thunderbird write them ("/mozilla.org/20050126_1/Europe/Berlin").
    None for any other: no library here tells a zone by its VTIMEZONE's rules."""
    known = zones.known_zones()
    if tzid in known:
        return tzid
    windows = WINDOWS_TO_OLSON.get(tzid)
    if windows in known:
        return windows
    if tzid.startswith("/"):
        parts = tzid.strip("/").split("/")
        for start in range(1, len(parts)):  # the longest ending first: America/Argentina/...
            candidate = "/".join(parts[start:])
            if candidate in known:
                return candidate
    return None


def _instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _reminder(alarm: Component, *, all_day: bool, timed: bool) -> dict[str, str] | None:
    """The reminder an alarm is (None: one the mapping does not cover, kept as it is)."""
    if alarm.name != "VALARM" or "TRIGGER" not in alarm:
        return None
    trigger = alarm["TRIGGER"]
    value = getattr(trigger, "dt", None)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return None
        return {"at": _instant_text(value)}
    if not isinstance(value, timedelta) or str(trigger.params.get("RELATED", "")).upper() != "END":
        return None
    before = _ALL_DAY_OFFSET - value if all_day else -value if timed else None
    if before is None or not SHORTEST <= before <= LONGEST:
        return None
    return {"before_due": _duration_text(before)}


def _duration_text(duration: timedelta) -> str:
    text: str = vDuration(duration).to_ical().decode()  # type: ignore[no-untyped-call]
    return text


def _same_reminder(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    if "at" in a and "at" in b:
        return datetime.fromisoformat(a["at"]) == datetime.fromisoformat(b["at"])
    if "before_due" in a and "before_due" in b:
        return parse_duration(a["before_due"]) == parse_duration(b["before_due"])
    return False


# --- Writing ------------------------------------------------------------------------------


def write(
    task: Mapping[str, Any],
    *,
    uid: str,
    parent_uid: str | None = None,
    extra: str | None = None,
) -> bytes:
    """The calendar object of a stored task (a row of `tasks`), with `extra` merged back."""
    if not extra:
        text = _write_plain(task, uid, parent_uid)
        if text is not None:
            return text
    return _write_icalendar(task, uid, parent_uid, extra)


def _write_icalendar(
    task: Mapping[str, Any], uid: str, parent_uid: str | None, extra: str | None
) -> bytes:
    calendar_props, components = _object(task, uid, parent_uid, extra)
    return _calendar_text(calendar_props, components)


def parts(
    task: Mapping[str, Any],
    *,
    uid: str,
    parent_uid: str | None = None,
    extra: str | None = None,
    renamed: Mapping[str, str] | None = None,
) -> tuple[list[tuple[str, bytes | None]], bytes]:
    """What `write` puts in the calendar object of a task, without the calendar around it, for
    a calendar of many tasks (which holds each zone once): the zones it names, each with the
    VTIMEZONE a client sent (None: the zone database's, `timezone_ical`), and the text of its
    other components. `renamed` gives a zone a client sent another TZID (another task's zone
    took its name in the calendar)."""
    if not extra:
        plain = _todo_plain(task, uid, parent_uid)
        if plain is not None:
            todo, zone = plain
            return ([] if zone is None else [(zone, None)]), todo
    found = _object(task, uid, parent_uid, extra)[1]
    if renamed:
        _rename_zones(found, renamed)
    sent = [c for c in found if c.name == "VTIMEZONE"]
    rest = [c for c in found if c.name != "VTIMEZONE"]
    named: list[tuple[str, bytes | None]] = [(zone, None) for zone in zones_used(found)]
    named += [(str(zone.get("TZID", "")), zone.to_ical()) for zone in sent]
    return named, b"".join(component.to_ical() for component in rest)


def _due_on_its_clock(due: datetime, zone: str) -> datetime:
    """A due time on its zone's clock; in UTC where that clock leaves years 1 to 9999 (and the
    first instant, which asyncpg gives without a zone: PostgreSQL's -infinity)."""
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    try:
        return due.astimezone(UTC if zone == "UTC" else zones.zone(zone))
    except OverflowError:
        return due.astimezone(UTC)


def _rename_zones(components: list[Component], renamed: Mapping[str, str]) -> None:
    for component in components:
        for value in _tzid_values(component):
            if (tzid := str(value.params.get("TZID", ""))) in renamed:
                value.params["TZID"] = renamed[tzid]
        if component.name == "VTIMEZONE" and (tzid := str(component.get("TZID", ""))) in renamed:
            component["TZID"] = renamed[tzid]


def _object(
    task: Mapping[str, Any], uid: str, parent_uid: str | None, extra: str | None
) -> tuple[list[tuple[str, Any]], list[Component]]:
    kept = _kept(extra)
    todo = Todo()
    calendar_props: list[tuple[str, Any]] = []
    others: list[Component] = []
    if kept is not None:
        calendar_props = [(n, v) for n, v in kept.items() if n not in _CALENDAR_OWN]
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
    return calendar_props, [todo, *others]


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
    if task["priority"]:
        todo.add("PRIORITY", _WRITTEN_PRIORITY[task["priority"]])
    if task["tags"]:
        todo.add("CATEGORIES", list(task["tags"]))
    all_day = task["due_date"] is not None
    if all_day:
        todo.add("DUE", task["due_date"])
    elif task["due_at"] is not None:
        todo.add("DUE", _due_on_its_clock(task["due_at"], task["timezone"]))
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
                if (spec := _reminder(alarm, all_day=all_day, timed=timed)) is not None
                and _same_reminder(spec, reminder)
            ),
            None,
        )
        if match is not None:
            unused.remove(match)
            todo.add_component(match)
        else:
            todo.add_component(_alarm(reminder, task["title"], all_day=all_day))
    for alarm in unused:  # an alarm the mapping does not cover stays; a removed reminder goes
        if _reminder(alarm, all_day=all_day, timed=timed) is None:
            todo.add_component(alarm)


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
        alarm.add("TRIGGER", datetime.fromisoformat(reminder["at"]).astimezone(UTC))
    else:
        before = parse_duration(reminder["before_due"])
        offset = _ALL_DAY_OFFSET - before if all_day else -before
        alarm.add("TRIGGER", offset, parameters={"RELATED": "END"})
    return alarm


def _kept(extra: str | None) -> Calendar | None:
    if not extra:
        return None
    calendar = Calendar.from_ical(extra)
    return calendar if isinstance(calendar, Calendar) else None


_END = b"END:VCALENDAR\r\n"


def _calendar_text(props: list[tuple[str, Any]], components: list[Component]) -> bytes:
    """The calendar of `props` and `components`, its zones first. Written a part at a time (a
    calendar is its content lines, each written alone): each zone's text is written once."""
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    for name, value in props:
        calendar[name] = value
    head: bytes = calendar.to_ical()
    zones = [timezone_ical(zone) for zone in zones_used(components)]
    parts = [component.to_ical() for component in components]
    return b"".join([head.removesuffix(_END), *zones, *parts, _END])


def zones_used(components: list[Component]) -> list[str]:
    """The zones the components name with a TZID (each once, sorted)."""
    return sorted(set(_zones_named(components)))


def free_busy(start: datetime, end: datetime) -> bytes:
    """A VFREEBUSY for a range with no busy period: tasks take no time (RFC 4791 §7.10)."""
    period = FreeBusy()
    period.add("DTSTAMP", datetime.now(UTC))
    period.add("DTSTART", start)
    period.add("DTEND", end)
    return _calendar_text([], [period])


def _tzid_values(component: Component) -> Iterator[Any]:
    """The property values of a component and its subcomponents that can carry a TZID."""
    for _, value in component.property_items():
        if getattr(value, "params", None) is not None:
            yield value


def _zones_named(components: list[Component]) -> Iterator[str]:
    for component in components:
        for value in _tzid_values(component):
            if "TZID" in value.params:
                name = str(value.params["TZID"])
                if name in zones.known_zones():
                    yield name


@functools.lru_cache(maxsize=64)
def timezone_ical(name: str) -> bytes:
    """The `VTIMEZONE` of a zone, as iCalendar text (as it is read back from its own text and
    written, which is what a calendar holding it writes)."""
    text = Timezone.from_tzinfo(zones.zone(name)).to_ical()
    data: bytes = Timezone.from_ical(text).to_ical()
    return data


# --- Writing a task with nothing kept, by hand -------------------------------------------------
# Through icalendar a task costs ~0.3-0.6 ms to write, most of an initial CalDAV sync of
# thousands of tasks. A task with nothing kept from a client (no `extra`, as every task made
# through the REST API) is written here as text directly, in about 10 µs: exactly the
# bytes the icalendar path writes (its decisions in `_write_mapped`, its property order, which is
# alphabetical, its escaping and folding), which stays the reference and takes any other shape
# (None here). tests/unit/test_ical_plain.py compares the two over many generated tasks.

_HEAD = _calendar_text([], []).removesuffix(_END)


def _write_plain(task: Mapping[str, Any], uid: str, parent_uid: str | None) -> bytes | None:
    """`write` for a task with nothing kept; None for a shape left to icalendar."""
    plain = _todo_plain(task, uid, parent_uid)
    if plain is None:
        return None
    todo, zone = plain
    zone_text = b"" if zone is None else timezone_ical(zone)
    return b"".join([_HEAD, zone_text, todo, _END])


def _todo_plain(
    task: Mapping[str, Any], uid: str, parent_uid: str | None
) -> tuple[bytes, str | None] | None:
    """The VTODO of a task with nothing kept, and the zone it names (None: none); None for a
    shape left to icalendar."""
    title, description, tags = task["title"], task["description"], task["tags"]
    recurrence, version = task["recurrence"], task["version"]
    if not isinstance(title, str) or not isinstance(version, int):
        return None
    stamp, created = _utc_text(task["updated_at"]), _utc_text(task["created_at"])
    if stamp is None or created is None:
        return None
    summary = _text(title)
    lines = []
    if tags:
        if not all(isinstance(tag, str) for tag in tags):
            return None
        lines.append("CATEGORIES:" + ",".join(_text(tag) for tag in tags))
    if task["is_completed"] and task["completed_at"] is not None:
        completed = _utc_text(task["completed_at"])
        if completed is None:
            return None
        lines.append("COMPLETED:" + completed)
    lines.append("CREATED:" + created)
    if description is not None:
        if not isinstance(description, str):
            return None
        lines.append("DESCRIPTION:" + _text(description))
    lines.append("DTSTAMP:" + stamp)
    named = None
    all_day = task["due_date"] is not None
    if all_day:
        day = task["due_date"]
        if type(day) is not date:
            return None
        lines.append(f"DUE;VALUE=DATE:{day.year:04}{day.month:02}{day.day:02}")
    elif task["due_at"] is not None:
        due, zone = task["due_at"], task["timezone"]
        if not isinstance(due, datetime) or due.tzinfo is None or zone not in zones.known_zones():
            return None
        tzid, param = _due_zone(zone)
        try:
            wall = _moment_text(due.astimezone(UTC if zone == "UTC" else zones.zone(zone)))
        except OverflowError:  # beyond its zone's years: icalendar's path writes it in UTC
            return None
        if tzid is None:
            lines.append(f"DUE:{wall}Z")
        else:
            lines.append(f"DUE;{param}:{wall}")
            if tzid in zones.known_zones():
                named = tzid
    lines.append("LAST-MODIFIED:" + stamp)
    if task["priority"]:
        written = _WRITTEN_PRIORITY.get(task["priority"])
        if written is None:
            return None
        lines.append(f"PRIORITY:{written}")
    if parent_uid is not None:
        lines.append("RELATED-TO:" + _text(parent_uid))
    if recurrence is not None and task.get("next_occurrence_id") is None:
        rule = _rule_line(recurrence) if isinstance(recurrence, str) else None
        if rule is None:
            return None
        lines.append(rule)
    lines.append(f"SEQUENCE:{max(version - 1, 0)}")
    lines.append("STATUS:COMPLETED" if task["is_completed"] else "STATUS:NEEDS-ACTION")
    lines.append("SUMMARY:" + summary)
    lines.append("UID:" + _text(uid))
    for reminder in task["reminders"]:
        trigger = _trigger_line(reminder, all_day)
        if trigger is None:
            return None
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + summary, trigger, "END:VALARM"]
    todo = "\r\n".join([_fold(line) for line in lines]).encode()
    return b"".join([b"BEGIN:VTODO\r\n", todo, b"\r\nEND:VTODO\r\n"]), named


def _text(value: str) -> str:
    """A TEXT value escaped (RFC 5545 §3.3.11): a backslash first, then `;`, `,` and line
    breaks (CR LF, LF and a lone CR each one `\\n`)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


# icalendar writes every TEXT value (a kept client property's too) through this function of its
# own, which reads a literal `\N` in the value as a line break first: a title "C:\Nightly"
# came out as "C:" and "ightly" on two lines, which no client could save back. Ours escapes
# every value as it is.
def _escape_text(text: str | bytes) -> str:
    return _text(text.decode() if isinstance(text, bytes) else text)


_icalendar_text._escape_char = _escape_text  # type: ignore[attr-defined]


def _moment_text(moment: datetime) -> str:
    return (
        f"{moment.year:04}{moment.month:02}{moment.day:02}"
        f"T{moment.hour:02}{moment.minute:02}{moment.second:02}"
    )


def _utc_text(moment: Any) -> str | None:
    """An instant in UTC (None: not an aware date-time, left to icalendar)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return None
    return _moment_text(moment.astimezone(UTC)) + "Z"


@functools.lru_cache(maxsize=256)
def _due_zone(zone: str) -> tuple[str | None, str]:
    """The TZID icalendar names a date-time of `zone` with (None: it writes the time as UTC,
    also for a zone it knows to be UTC's equal) and that parameter as it writes it."""
    written = vDatetime(datetime(2000, 1, 1, tzinfo=UTC if zone == "UTC" else zones.zone(zone)))
    if written.is_utc():
        return None, ""
    return str(written.params["TZID"]), written.params.to_ical().decode()


@functools.lru_cache(maxsize=1024)
def _rule_line(rule: str) -> str | None:
    """The RRULE line of a stored rule as icalendar writes it: it reads the rule and writes
    its parts again, in RFC 5545's order (None: a rule it does not read)."""
    todo = Todo()
    try:
        todo.add("RRULE", RuleText(rule))
        return str(todo.content_line("RRULE", todo["RRULE"]))
    except (ValueError, AssertionError):
        return None


def _trigger_line(reminder: Mapping[str, str], all_day: bool) -> str | None:
    if "at" in reminder:
        at = _utc_text(datetime.fromisoformat(reminder["at"]))
        return None if at is None else f"TRIGGER:{at}"
    if "before_due" in reminder:
        return _before_due_line(reminder["before_due"], all_day)
    return None


@functools.lru_cache(maxsize=256)
def _before_due_line(before_due: str, all_day: bool) -> str:
    before = parse_duration(before_due)
    offset = _ALL_DAY_OFFSET - before if all_day else -before
    return f"TRIGGER;RELATED=END:{_duration_text(offset)}"


def _fold(line: str) -> str:
    """A content line folded as icalendar folds it: lines of at most 74 octets (75 with the
    space that continues them), never inside a UTF-8 character, and a backslash or caret
    that would end a line moved to the next (so an escape is never split)."""
    if line.isascii():
        if len(line) < 75:
            return line
        parts = []
        start = 0
        while len(line) - start > 74:
            end = start + 74
            if line[end - 1] in "\\^":
                end -= 1
            parts.append(line[start:end])
            start = end
        parts.append(line[start:])
        return "\r\n ".join(parts)
    if len(line.encode()) < 75:
        return line
    folded: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        length = len(char.encode())
        if current and size + length >= 75:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                folded.append("".join(current))
                current, size = [carried], 1
            else:
                folded.append("".join(current))
                current, size = [], 0
        current.append(char)
        size += length
    folded.append("".join(current))
    return "\r\n ".join(folded)
