"""Reading a calendar object as a task: the task's fields as the API takes them (the API's own
validation then decides what is acceptable), the client's `UID`, the parent's `UID`, and
everything the mapping does not cover as iCalendar text (`extra`): unknown properties, the
calendar's own properties, other components, and every alarm (a mapped alarm keeps its other
properties there)."""

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar, Component, Todo
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from todo_api.ical.mapping import (
    CALENDAR_OWN,
    MAPPED,
    MAX_REMINDERS,
    SECTION,
    CalendarDataError,
    alarm_reminder,
    file_id,
    instant_text,
    to_ical,
    tzid_values,
)
from todo_api.kit import zones


@dataclass(frozen=True)
class ReadTodo:
    uid: str
    # The task's fields as TaskCreate / TaskUpdate take them (JSON values). `timezone` is
    # present only when the object names one (a DUE with a TZID).
    fields: dict[str, Any]
    parent_uid: str | None
    extra: str  # iCalendar text of what the mapping does not cover
    # When a completed task was completed (COMPLETED), if that is a date-time with a zone not
    # in the future; None: the server's clock decides.
    completed_at: datetime | None = None
    # The name of a section of the task's list (X-TODO-API-SECTION), as this service wrote it.
    section: str | None = None
    # The task's files its ATTACH values name (this service's URLs), which are not kept: files
    # are added and deleted through the API only.
    attached: frozenset[uuid.UUID] = frozenset()


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
    occurrence = occurrence_done(todo, todos, fields, user_zone)
    done = None if occurrence is None else occurrence[0]
    if done is not None:
        fields["is_completed"] = True
    extra = Calendar()
    for name, value in calendar.items():
        if name not in CALENDAR_OWN:
            extra[name] = value
    extra.add_component(kept)
    for component in components:
        if component is not todo and component is not done:
            extra.add_component(component)
    _keep_zones(extra, {str(zone.get("TZID", "")): zone for zone in calendar.walk("VTIMEZONE")})
    extra_text = to_ical(extra).decode()
    completed_at = _completed_at(todo, fields) if occurrence is None else occurrence[1]
    named = todo.get(SECTION)
    section = str(named).strip() or None if isinstance(named, str) else None
    attached = frozenset(i for v in _values(todo, "ATTACH") if (i := file_id(v)) is not None)
    return ReadTodo(
        str(todo["UID"]), fields, parent_uid, extra_text, completed_at, section, attached
    )


def occurrence_done(
    master: Component, todos: Sequence[Component], fields: dict[str, Any], user_zone: str
) -> tuple[Component, datetime | None] | None:
    """The override that completes the series' current occurrence (of a master read as
    `fields`), and when it was completed (its COMPLETED: None, the server's clock decides), as
    Thunderbird and eM Client complete one occurrence of a repeating task: `STATUS:COMPLETED`
    (or a COMPLETED without STATUS), its `RECURRENCE-ID` the master's `DUE` (or its `DTSTART`,
    which Thunderbird's recurrence ids follow when there is one). The task is then completed
    as `complete` does it (by a CalDAV PUT, or an imported file), and the override is spent;
    an override of another occurrence is kept as the client's text."""
    if fields["recurrence"] is None or fields["is_completed"]:
        return None
    current = {_occurrence(master.get(name), user_zone) for name in ("DUE", "DTSTART")} - {None}
    for override in todos:
        if override is master or not _says_completed(override):
            continue
        if _occurrence(override.get("RECURRENCE-ID"), user_zone) in current:
            return override, _completed_at(override, {"is_completed": True})
    return None


def _says_completed(todo: Component) -> bool:
    status = str(todo.get("STATUS", "")).upper()
    return status == "COMPLETED" or (not status and "COMPLETED" in todo)


def _occurrence(prop: Any, user_zone: str) -> date | datetime | None:
    """The day, or the instant in UTC (floating: on the user's clock), a DATE or DATE-TIME
    property names."""
    value = getattr(prop, "dt", None)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zones.zone(user_zone))
        try:
            return value.astimezone(UTC)
        except OverflowError:  # beyond year 1 or 9999 in UTC: no occurrence of a task
            return None
    return value if isinstance(value, date) else None


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
    extra_text = to_ical(extra).decode()
    uid = str(todo.get("UID", ""))
    return ReadTodo(uid, fields, parent_uid, extra_text, _completed_at(todo, fields))


def _completed_at(todo: Component, fields: dict[str, Any]) -> datetime | None:
    value = getattr(todo.get("COMPLETED"), "dt", None)
    if not fields["is_completed"] or not isinstance(value, datetime) or value.tzinfo is None:
        return None
    try:
        at = value.astimezone(UTC)
    except OverflowError:
        return None
    return at if at <= datetime.now(UTC) else None


def _keep_zones(extra: Calendar, timezones: Mapping[str, Component]) -> None:
    """A zone that is no IANA name is written back as sent, for what is kept that uses it (DUE
    is written with the IANA zone it names)."""
    used = {str(v.params["TZID"]) for v in tzid_values(extra) if "TZID" in v.params}
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
    "DTSTART",
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
    fields["is_completed"] = _says_completed(todo)
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
    # The start first: a zone DUE names is the task's, before one DTSTART names. A DTSTART in
    # a zone of the client's own (a VTIMEZONE naming no IANA zone, as Outlook's "Customized
    # Time Zone") is no start here: it is kept as sent, with its VTIMEZONE.
    started = _read_moment(todo, "DTSTART", "start", fields, user_zone, own_zone_kept=True)
    _read_moment(todo, "DUE", "due", fields, user_zone)
    all_day = fields["due_date"] is not None
    rules = _values(todo, "RRULE")
    fields["recurrence"] = rules[0].to_ical().decode() if rules else None
    kept = Todo()
    for name, value in todo.items():
        if name not in MAPPED and name not in ("STATUS", "RELATED-TO"):
            kept[name] = value
    if "DTSTART" in todo and not started:
        kept["DTSTART"] = todo["DTSTART"]
    if len(rules) > 1:
        kept["RRULE"] = rules[1:]
    kept.pop("ATTACH", None)  # the task's files are written from its files, not kept
    if own := [value for value in _values(todo, "ATTACH") if file_id(value) is None]:
        kept["ATTACH"] = own
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
        spec = alarm_reminder(component, all_day=all_day, timed=fields["due_at"] is not None)
        if spec is not None and len(reminders) < MAX_REMINDERS:
            reminders.append(spec)
        kept.add_component(component)  # its other properties, given back with it
    fields["reminders"] = reminders
    return fields, parent_uid, kept


def _read_moment(
    todo: Component,
    name: str,
    kind: str,
    fields: dict[str, Any],
    user_zone: str,
    *,
    own_zone_kept: bool = False,
) -> bool:
    """`{kind}_at` and `{kind}_date` from a DUE or DTSTART: a date is a day; a date-time with a
    TZID is the wall time in the zone it names (which becomes the task's), a UTC one that
    instant, a floating one the user's wall clock. Whether it was read: a TZID naming no
    known zone is refused, or (`own_zone_kept`, with the client's VTIMEZONE) left unread."""
    fields[f"{kind}_at"] = fields[f"{kind}_date"] = None
    if name not in todo:
        return False
    prop = todo[name]
    if own_zone_kept and _own_zone(prop):
        return False
    moment = _moment(prop, name)
    if not isinstance(moment, datetime):
        fields[f"{kind}_date"] = moment.isoformat()
        return True
    if moment.tzinfo is None:  # floating: the user's wall clock
        moment = moment.replace(tzinfo=zones.zone(user_zone))
    else:
        zone = _zone_name(prop, name)
        if zone is not None:
            fields["timezone"] = zone
            # The wall time in the zone it names, as it is written back.
            moment = moment.replace(tzinfo=zones.zone(zone))
    fields[f"{kind}_at"] = instant_text(moment)
    return True


def _own_zone(prop: Any) -> bool:
    """A date-time in a zone the object's own VTIMEZONE gives, naming no IANA zone."""
    value = getattr(prop, "dt", None)
    if not isinstance(value, datetime) or value.tzinfo is None or "TZID" not in prop.params:
        return False
    tzid = str(prop.params["TZID"])
    return iana_zone(tzid) is None and iana_zone(getattr(value.tzinfo, "key", None) or "") is None


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
