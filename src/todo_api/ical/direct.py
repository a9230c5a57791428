"""Writing a task with nothing kept from a client, by hand.

Through icalendar a task costs ~0.3-0.6 ms to write, most of an initial CalDAV sync of
thousands of tasks. A task with nothing kept from a client (no `extra`, as every task made
through the REST API) is written here as text directly, in about 10 µs: exactly the bytes the
icalendar path (`reference`) writes (its decisions in `_write_mapped`, its property order,
which is alphabetical, its escaping and folding), which stays the reference and takes any other
shape (None here). tests/unit/test_ical_plain.py compares the two over many generated tasks.
"""

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Todo, vDatetime, vUri

from todo_api.ical.mapping import (
    ALL_DAY_OFFSET,
    SECTION,
    WRITTEN_PRIORITY,
    Attached,
    due_on_its_clock,
    duration_text,
    escape_text,
)
from todo_api.ical.reference import (
    END,
    RuleText,
    attach_params,
    calendar_text,
    timezone_ical,
)
from todo_api.kit import zones
from todo_api.kit.reminders import parse_duration

_HEAD = calendar_text([], []).removesuffix(END)


def write_plain(
    task: Mapping[str, Any], uid: str, parent_uid: str | None, files: Sequence[Attached] = ()
) -> bytes | None:
    """`write` for a task with nothing kept; None for a shape left to icalendar."""
    plain = todo_plain(task, uid, parent_uid, files)
    if plain is None:
        return None
    todo, zone = plain
    zone_text = b"" if zone is None else timezone_ical(zone)
    return b"".join([_HEAD, zone_text, todo, END])


def todo_plain(
    task: Mapping[str, Any], uid: str, parent_uid: str | None, files: Sequence[Attached] = ()
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
    summary = escape_text(title)
    lines = [_attach_line(file) for file in files]
    if tags:
        if not all(isinstance(tag, str) for tag in tags):
            return None
        lines.append("CATEGORIES:" + ",".join(escape_text(tag) for tag in tags))
    if task["is_completed"] and task["completed_at"] is not None:
        completed = _utc_text(task["completed_at"])
        if completed is None:
            return None
        lines.append("COMPLETED:" + completed)
    lines.append("CREATED:" + created)
    if description is not None:
        if not isinstance(description, str):
            return None
        lines.append("DESCRIPTION:" + escape_text(description))
    lines.append("DTSTAMP:" + stamp)
    named = None
    for name, day, moment in (
        ("DTSTART", task["start_date"], task["start_at"]),
        ("DUE", task["due_date"], task["due_at"]),
    ):
        moment_line = _moment_line(name, day, moment, task["timezone"])
        if moment_line is None:
            return None
        line, tzid = moment_line
        if line:
            lines.append(line)
        named = named or tzid
    all_day = task["due_date"] is not None
    lines.append("LAST-MODIFIED:" + stamp)
    if task["is_completed"]:
        lines.append("PERCENT-COMPLETE:100")
    if task["priority"]:
        written = WRITTEN_PRIORITY.get(task["priority"])
        if written is None:
            return None
        lines.append(f"PRIORITY:{written}")
    if parent_uid is not None:
        lines.append("RELATED-TO:" + escape_text(parent_uid))
    if recurrence is not None and task.get("next_occurrence_id") is None:
        rule = _rule_line(recurrence) if isinstance(recurrence, str) else None
        if rule is None:
            return None
        lines.append(rule)
    lines.append(f"SEQUENCE:{max(version - 1, 0)}")
    lines.append("STATUS:COMPLETED" if task["is_completed"] else "STATUS:NEEDS-ACTION")
    lines.append("SUMMARY:" + summary)
    lines.append("UID:" + escape_text(uid))
    section = task.get("section_name")
    if section is not None:
        if not isinstance(section, str):
            return None
        lines.append(f"{SECTION}:" + escape_text(section))
    for reminder in task["reminders"]:
        trigger = _trigger_line(reminder, all_day)
        if trigger is None:
            return None
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:" + summary, trigger, "END:VALARM"]
    todo = "\r\n".join([_fold(line) for line in lines]).encode()
    return b"".join([b"BEGIN:VTODO\r\n", todo, b"\r\nEND:VTODO\r\n"]), named


def _attach_line(file: Attached) -> str:
    """An ATTACH line as icalendar writes it (its parameters sorted, quoted and RFC 6868's
    escapes as it does them): a task's files are few, and rarely there."""
    value = vUri(file.url, params=attach_params(file))
    return str(Todo().content_line("ATTACH", value))


def _moment_line(name: str, day: Any, moment: Any, zone: str) -> tuple[str, str | None] | None:
    """The DUE or DTSTART line of a day or a moment ("" for neither) and the zone it names
    (None: none); None for a shape left to icalendar."""
    if day is not None:
        if type(day) is not date:
            return None
        return f"{name};VALUE=DATE:{day.year:04}{day.month:02}{day.day:02}", None
    if moment is None:
        return "", None
    if not isinstance(moment, datetime) or moment.tzinfo is None or zone not in zones.known_zones():
        return None
    tzid, param = _due_zone(zone)
    clock = due_on_its_clock(moment, zone)
    wall = _moment_text(clock)
    if tzid is None or clock.tzinfo is UTC:
        return f"{name}:{wall}Z", None
    return f"{name};{param}:{wall}", tzid if tzid in zones.known_zones() else None


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
        return None if at is None else f"TRIGGER;VALUE=DATE-TIME:{at}"
    if "before_due" in reminder:
        return _before_due_line(reminder["before_due"], all_day)
    return None


@functools.lru_cache(maxsize=256)
def _before_due_line(before_due: str, all_day: bool) -> str:
    before = parse_duration(before_due)
    offset = ALL_DAY_OFFSET - before if all_day else -before
    return f"TRIGGER;RELATED=END:{duration_text(offset)}"


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
