"""iCalendar files of tasks (RFC 5545 `VTODO`s), as Apple Reminders, Thunderbird and tasks.org
export them, and as this service's ics export writes them.

Each `VTODO` is one task by the mapping CalDAV uses (todo_api.ical): `RELATED-TO` makes
subtasks, `VALARM`s reminders, `RRULE` the recurrence, `DTSTART` the start, a `DUE` with a
`TZID` the task's zone, and what the mapping does not cover (`X-` properties,
`PERCENT-COMPLETE`, the client's `UID`, a `DTSTART` in a zone of the client's own) is kept, so
CalDAV and the ics export give it back, with the file's `VTIMEZONE` of a zone it names that is
no IANA name (Outlook's "Customized Time Zone"). A calendar's
`X-WR-CALNAME` names its list (and `X-APPLE-CALENDAR-COLOR` colours it); calendars without a
name share one new list, "Imported calendar". `X-APPLE-SORT-ORDER` orders a list's tasks,
those without it following in the file's order. An override that completes a recurring task's
current occurrence (`RECURRENCE-ID` and `STATUS:COMPLETED`, as Thunderbird and eM Client
export a completed occurrence) completes it as a CalDAV PUT of the same does
(`ical.occurrence_done`). `VEVENT`s, `VJOURNAL`s and other changes to one occurrence are left
out, and listed; so is an `RRULE` a task cannot recur by here (neither `DUE` nor `DTSTART`;
finer than daily), the task kept.

The file is first split into its components by line, so that an error names the line where
its `VTODO` or property starts; each component is then parsed by `icalendar`.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from icalendar import Component, Timezone, Todo, vText

from todo_api import ical
from todo_api.kit.errors import InvalidRequest, LocatedFieldError
from todo_api.tables.dav import UID_MAX_LENGTH
from todo_api.tasks import recurrence
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where

NAMELESS = "Imported calendar"
NAMELESS_KEY = "nameless"
# The property each of the API's fields comes from, for errors.
COLUMNS = {
    "id": "UID",
    "title": "SUMMARY",
    "description": "DESCRIPTION",
    "is_completed": "STATUS",
    "completed_at": "COMPLETED",
    "priority": "PRIORITY",
    "tags": "CATEGORIES",
    "due_at": "DUE",
    "due_date": "DUE",
    "start_at": "DTSTART",
    "start_date": "DTSTART",
    "timezone": "DUE",
    "recurrence": "RRULE",
    "reminders": "VALARM",
    "created_at": "CREATED",
}

_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_CONTENT_LINE = re.compile(rf"({_NAME})(?:;{_NAME}={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*:")
# A line shaped as a property whose name (or a parameter's) iCalendar does not allow
# (Synology's `PERCENT_COMPLETE:100`): visible characters up to the first ";" or ":".
_MISNAMED = re.compile(r"([!-9<-~]+?)[;:]")
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_APPLE_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$")


@dataclass
class _Block:
    """A component directly inside a VCALENDAR: its name, its first line, and its content
    lines (unfolded) with the line each starts on."""

    name: str
    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)

    def text(self) -> str:
        return "".join(text + "\r\n" for _, text in self.lines)


@dataclass
class _Calendar:
    # Its own properties, the first of each: its line and its value as written.
    props: dict[str, tuple[int, str]] = field(default_factory=dict)
    blocks: list[_Block] = field(default_factory=list)


def parse(body: bytes, _options: dict[str, str]) -> Parsed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("The file is not UTF-8 text (an iCalendar file expected)") from None
    if (found := ical.CONTROL.search(text)) is not None:
        line = text.count("\n", 0, found.start()) + 1
        raise _broken(line, f"a control character (U+{ord(found.group()):04X})")
    parsed = Parsed()
    calendars = _split(text, parsed.skipped)
    errors = FileErrors()
    keys: dict[str, str] = {}  # list key by the name a calendar gives
    for number, calendar in enumerate(calendars):
        timezones = _timezones(calendar)
        overrides = _Overrides(_overrides_of(calendar))
        for block in calendar.blocks:
            where: Where = ("line", block.line)
            if block.name == "VTODO":
                list_key = _list_of(calendar, number, keys, parsed)
                task = _task(block, list_key, errors, parsed.skipped, timezones, overrides)
                if task is not None:
                    parsed.tasks.append(task)
            elif block.name != "VTIMEZONE":  # read with the tasks that name them
                parsed.skipped.append(Skipped(where, f"a {block.name} is not a task"))
    errors.raise_any()
    return parsed


def _list_of(calendar: _Calendar, number: int, keys: dict[str, str], parsed: Parsed) -> str:
    """The key of the list a calendar's tasks go to, made when first needed."""
    line, raw = calendar.props.get("X-WR-CALNAME", (0, ""))
    name = str(vText.from_ical(raw)).strip()
    key = f"calendar {number}" if name else NAMELESS_KEY
    if (name or NAMELESS) in keys:  # several calendars of one name: one list
        return keys[name or NAMELESS]
    color = calendar.props.get("X-APPLE-CALENDAR-COLOR", (0, ""))[1].strip()
    parsed.lists.append(
        ImportedList(
            key=key,
            name=name or NAMELESS,
            # Apple's "#rrggbbaa": the colour without its opacity.
            color=color[:7].lower() if name and _APPLE_COLOR.match(color) else None,
            where=("line", line) if name else None,
            name_field="X-WR-CALNAME",
        )
    )
    keys[name or NAMELESS] = key
    return key


def _timezones(calendar: _Calendar) -> dict[str, Component]:
    """The calendar's VTIMEZONEs by TZID (one that cannot be read is left out: a task naming
    its zone then keeps the name alone)."""
    found = {}
    for block in calendar.blocks:
        if block.name == "VTIMEZONE":
            try:
                zone = Timezone.from_ical(block.text())
            except ical.UNREADABLE:
                continue
            found[str(zone.get("TZID", ""))] = zone
    return found


@dataclass
class _Overrides:
    """A calendar's changes to one occurrence (VTODOs with RECURRENCE-ID), by UID, each with
    its line; those a task spent (its occurrence completed), and those listed as left out."""

    by_uid: dict[str, list[tuple[int, Component]]]
    spent: set[int] = field(default_factory=set)
    listed: dict[int, Skipped] = field(default_factory=dict)

    def left_out(self, line: int, skipped: list[Skipped]) -> None:
        if line not in self.spent:
            reason = "a change to one occurrence (RECURRENCE-ID) is not imported"
            self.listed[line] = Skipped(("line", line), reason)
            skipped.append(self.listed[line])

    def spend(self, line: int, skipped: list[Skipped]) -> None:
        self.spent.add(line)
        if line in self.listed:  # listed before the task it completes came
            skipped.remove(self.listed.pop(line))


def _overrides_of(calendar: _Calendar) -> dict[str, list[tuple[int, Component]]]:
    """The calendar's readable VTODOs with a RECURRENCE-ID, by UID."""
    found: dict[str, list[tuple[int, Component]]] = {}
    for block in calendar.blocks:
        if block.name != "VTODO" or "RECURRENCE-ID" not in _property_lines(block):
            continue
        try:
            todo = Todo.from_ical(block.text())
        except ical.UNREADABLE:
            continue
        found.setdefault(str(todo.get("UID", "")), []).append((block.line, todo))
    return found


def _task(
    block: _Block,
    list_key: str,
    errors: FileErrors,
    skipped: list[Skipped],
    timezones: dict[str, Component],
    overrides: _Overrides,
) -> ImportedTask | None:
    where: Where = ("line", block.line)
    lines = _property_lines(block)
    todo = _component(block, errors, skipped)
    if todo is None:
        return None
    if "RECURRENCE-ID" in todo:
        overrides.left_out(block.line, skipped)
        return None
    try:
        read = ical.read_todo(todo, user_zone="UTC", timezones=timezones)
    except ical.CalendarDataError as exc:
        prop = exc.prop or "VTODO"
        line = lines.get(prop, block.line)
        errors.add(("line", line), prop, str(exc))
        return None
    fields = dict(read.fields)
    if fields["recurrence"] is not None and (left_out := _rule_left_out(fields)) is not None:
        fields["recurrence"] = None  # the task, without it: its other parts are worth keeping
        line = lines.get("RRULE", block.line)
        skipped.append(Skipped(("line", line), f"its RRULE is left out: {left_out}"))
    own = overrides.by_uid.get(read.uid, [])
    done = ical.occurrence_done(todo, [o for _, o in own], fields, "UTC")
    if done is not None:
        overrides.spend(next(line for line, o in own if o is done[0]), skipped)
    task = ImportedTask(
        where=where,
        fields=fields,
        list_key=list_key,
        key=read.uid or None,
        parent_key=read.parent_uid,
        order=_sort_order(todo),
        columns=COLUMNS,
        lines={name: lines[prop] for name, prop in COLUMNS.items() if prop in lines},
    )
    due = todo.get("DUE")
    if due is not None and isinstance(due.dt, datetime) and due.dt.tzinfo is None:
        task.local_due = due.dt  # floating: on the wall clock of the importer's zone
    start = todo.get("DTSTART")
    if (
        fields["start_at"] is not None
        and isinstance(start.dt, datetime)
        and start.dt.tzinfo is None
    ):
        task.local_start = start.dt  # likewise
    completed = todo.get("COMPLETED")
    if fields["is_completed"] and isinstance(getattr(completed, "dt", None), datetime):
        moment = completed.dt if completed.dt.tzinfo else completed.dt.replace(tzinfo=UTC)
        fields["completed_at"] = moment.astimezone(UTC).isoformat()
    created = todo.get("CREATED")
    if isinstance(getattr(created, "dt", None), datetime):
        made = created.dt
        task.created = made if made.tzinfo else made.replace(tzinfo=UTC)  # UTC, or floating
    elif created is not None:
        task.created = str(created.to_ical().decode())  # a date: not a time, listed
    uid: str | None = read.uid
    if len(read.uid) > UID_MAX_LENGTH:
        skipped.append(Skipped(where, f"its UID is over {UID_MAX_LENGTH} characters: not kept"))
        uid = None
    task.calendar_object = (uid, read.extra)
    if done is not None:
        task.completes_occurrence, task.occurrence_completed_at = True, done[1]
    return task


def _rule_left_out(fields: dict[str, Any]) -> str | None:
    """Why a task cannot recur here by its RRULE, as far as the file tells (None: it can):
    neither DUE nor DTSTART; finer than daily."""
    when = ("due_at", "due_date", "start_at", "start_date")
    if all(fields[name] is None for name in when):
        return "a recurring task needs a DUE or a DTSTART"
    try:
        recurrence.parse(fields["recurrence"])
    except recurrence.InvalidRule as exc:
        return str(exc)
    return None


def _component(block: _Block, errors: FileErrors, skipped: list[Skipped]) -> Component | None:
    """The block parsed. A property whose value its type cannot have (Horde's empty
    `PRIORITY:`, a malformed `DUE`) is read as absent and listed; in an alarm, the alarm is
    left out. None (and an error naming the block) if it cannot be read even so."""
    try:
        return Todo.from_ical(block.text())
    except ical.UNREADABLE as exc:
        problem = str(exc)
    # Which lines: each property on its own, as the block's parse reads it.
    kept: list[tuple[int, str]] = []
    inner: list[tuple[int, str]] = []  # the lines of an alarm (or other component) within
    inner_name, inner_broken = "", ""
    for line, text in block.lines[1:-1]:
        name = _name(text)
        if name == "BEGIN" and not inner:
            inner, inner_name, inner_broken = [(line, text)], text.partition(":")[2].strip(), ""
            continue
        if inner:
            inner.append((line, text))
            if not inner_broken and name not in ("BEGIN", "END") and _unreadable(text):
                inner_broken = name
            if name == "END" and text.partition(":")[2].strip().upper() == inner_name.upper():
                if inner_broken:
                    reason = f"its {inner_broken} cannot be read: the {inner_name} left out"
                    skipped.append(Skipped(("line", inner[0][0]), reason))
                else:
                    kept += inner
                inner = []
            continue
        if _unreadable(text):
            skipped.append(Skipped(("line", line), f"{name} cannot be read: left out"))
        else:
            kept.append((line, text))
    body = "".join(text + "\r\n" for _, text in [block.lines[0], *kept, block.lines[-1]])
    try:
        return Todo.from_ical(body)
    except ical.UNREADABLE:
        errors.add(("line", block.line), "VTODO", f"the VTODO cannot be read: {problem}")
        return None


def _unreadable(text: str) -> bool:
    """Whether `icalendar` cannot read one content line (a property) in a VTODO."""
    try:
        Todo.from_ical(f"BEGIN:VTODO\r\n{text}\r\nEND:VTODO\r\n")
    except ical.UNREADABLE:
        return True
    return False


def _sort_order(todo: Component) -> tuple[int, int]:
    """Apple's order where the task has one (first), else after those, in the file's order."""
    try:
        return (0, int(str(todo["X-APPLE-SORT-ORDER"]).strip()))
    except (KeyError, ValueError):
        return (1, 0)


def _property_lines(block: _Block) -> dict[str, int]:
    """The line of the first of each of the VTODO's own properties (its first VALARM's as
    `VALARM`)."""
    found: dict[str, int] = {}
    depth = 0
    for line, text in block.lines:
        name = _name(text)
        if name == "BEGIN":
            depth += 1
            if depth == 2 and text.partition(":")[2].strip().upper() == "VALARM":
                found.setdefault("VALARM", line)
        elif name == "END":
            depth -= 1
        elif depth == 1:
            found.setdefault(name, line)
    return found


def _name(text: str) -> str:
    match = _CONTENT_LINE.match(text)
    return match[1].upper() if match else ""


def _content_lines(text: str) -> Iterator[tuple[int, str]]:
    """The file's content lines, unfolded (RFC 5545 §3.1), each with the line it starts on;
    blank lines left out."""
    start, current = 0, ""
    for number, physical in enumerate(_LINE_BREAK.split(text), start=1):
        if physical[:1] in (" ", "\t") and start:
            current += physical[1:]
            continue
        if current:
            yield start, current
        start, current = number, physical
        if not physical.strip():
            start, current = 0, ""
    if current:
        yield start, current


def _split(text: str, skipped: list[Skipped]) -> list[_Calendar]:
    """The file's calendars, each with its own properties and its components; 400 naming
    the line where the file stops being iCalendar. A property inside a calendar whose name
    or a parameter's iCalendar does not allow is left out and listed."""
    calendars: list[_Calendar] = []
    stack: list[str] = []
    last = 1
    for line, content in _content_lines(text):
        last = line
        name = _name(content)
        if not name and stack and (misnamed := _MISNAMED.match(content)) is not None:
            skipped.append(
                Skipped(
                    ("line", line),
                    f"{misnamed[1]}: a name iCalendar does not allow (letters, digits and "
                    "hyphens), left out",
                )
            )
            continue
        if not name:
            raise _broken(line, "not an iCalendar content line (NAME:value)")
        value = content.partition(":")[2].strip().upper()
        if name == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise _broken(line, "an iCalendar file begins with BEGIN:VCALENDAR")
            if not stack:
                calendars.append(_Calendar())
            elif len(stack) == 1:
                calendars[-1].blocks.append(_Block(value, line))
            stack.append(value)
        elif name == "END" and (not stack or stack[-1] != value):
            opened = f"BEGIN:{stack[-1]}" if stack else "no BEGIN"
            raise _broken(line, f"END:{value} does not close {opened}")
        elif name == "END":
            stack.pop()
            if stack:
                calendars[-1].blocks[-1].lines.append((line, content))
            continue
        elif not stack:
            raise _broken(line, "a property outside BEGIN:VCALENDAR")
        elif len(stack) == 1:
            calendars[-1].props.setdefault(name, (line, content.partition(":")[2]))
            continue
        if len(stack) > 1:
            calendars[-1].blocks[-1].lines.append((line, content))
    if stack:
        raise _broken(last, f"BEGIN:{stack[-1]} is never ended")
    if not calendars:
        raise _broken(1, "an iCalendar file begins with BEGIN:VCALENDAR")
    return calendars


def _broken(line: int, message: str) -> InvalidRequest:
    detail: Any = LocatedFieldError(field="file", message=message, line=line)
    return InvalidRequest(f"The file is not iCalendar: line {line}: {message}", details=[detail])
