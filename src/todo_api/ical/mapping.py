"""What reading and writing a task as a `VTODO` share: the properties the mapping owns, the
error a body that is no acceptable object raises, reminders as alarms, and TEXT escaping.

icalendar's own TEXT escaping reads a literal `\\N` in a value as a line break first: a title
"C:\\Nightly" came out as "C:" and "ightly" on two lines, which no client could save back.
`to_ical` writes a component with every TEXT value escaped as it is (`escape_text`) instead,
without changing icalendar for the rest of the process.
"""

import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from icalendar import Component, vCategory, vDuration, vText
from icalendar.prop import vAdr, vN, vOrg, vUnknown

from todo_api.kit import zones
from todo_api.kit.reminders import ALL_DAY_AT, LONGEST, SHORTEST, parse_duration

PRODID = "-//todo-api//CalDAV//EN"
# The stored priority (tables.tasks.Priority: none 0, low 1, medium 2, high 3) as written.
WRITTEN_PRIORITY = {1: 9, 2: 5, 3: 1}
ALL_DAY_OFFSET = timedelta(hours=ALL_DAY_AT.hour)
# The name of the task's section in its list (written when it has one; read back by name).
SECTION = "X-TODO-API-SECTION"
# Properties of a VTODO the mapping owns: written from the task, never kept in `extra`.
MAPPED = frozenset(
    {
        "UID",
        "SUMMARY",
        "DESCRIPTION",
        "COMPLETED",
        "PRIORITY",
        "CATEGORIES",
        "DUE",
        "DTSTART",
        "RRULE",
        "CREATED",
        "LAST-MODIFIED",
        "DTSTAMP",
        "SEQUENCE",
        SECTION,
    }
)
# The path of a file's bytes (GET /api/attachments/{id}/content), which an ATTACH of the task's
# files names: read back as the task's file (under any host), not kept as the client's.
FILE_PATH = re.compile(r"/api/attachments/([0-9a-fA-F-]{32,36})/content$")
# The calendar's own properties, written anew.
CALENDAR_OWN = frozenset({"VERSION", "PRODID", "CALSCALE", "METHOD"})
MAX_REMINDERS = 5


class CalendarDataError(ValueError):
    """A body that is not an acceptable calendar object; `condition` names the CalDAV
    precondition it fails (RFC 4791 §5.3.2) and `prop` the property at fault, when one is."""

    def __init__(self, condition: str, message: str, prop: str | None = None) -> None:
        super().__init__(message)
        self.condition = condition
        self.prop = prop


class Attached(NamedTuple):
    """A file of the task, written as `ATTACH;FMTTYPE=…;FILENAME=…:<url>`."""

    url: str
    content_type: str
    name: str


def file_id(value: object) -> uuid.UUID | None:
    """The id of the task's file an ATTACH names (None: a value of the client's own)."""
    params = getattr(value, "params", {})
    if str(params.get("VALUE", "URI")).upper() != "URI" or "ENCODING" in params:
        return None  # inline bytes (VALUE=BINARY)
    match = FILE_PATH.search(str(value).strip())
    if match is None:
        return None
    try:
        return uuid.UUID(match[1])
    except ValueError:
        return None


def tzid_values(component: Component) -> Iterator[Any]:
    """The property values of a component and its subcomponents that can carry a TZID."""
    for _, value in component.property_items():
        if getattr(value, "params", None) is not None:
            yield value


def due_on_its_clock(due: datetime, zone: str) -> datetime:
    """A due time on its zone's clock; in UTC where that clock leaves years 1 to 9999 (and the
    first instant, which asyncpg gives without a zone: PostgreSQL's -infinity), and where its
    offset has seconds (local mean time, before about 1920), which ical.js reads without them."""
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    try:
        local = due.astimezone(UTC if zone == "UTC" else zones.zone(zone))
    except OverflowError:
        return due.astimezone(UTC)
    offset = local.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        return due.astimezone(UTC)
    return local


def instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alarm_reminder(alarm: Component, *, all_day: bool, timed: bool) -> dict[str, str] | None:
    """The reminder an alarm is (None: one the mapping does not cover, kept as it is)."""
    if alarm.name != "VALARM" or "TRIGGER" not in alarm:
        return None
    trigger = alarm["TRIGGER"]
    value = getattr(trigger, "dt", None)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return None
        return {"at": instant_text(value)}
    if not isinstance(value, timedelta) or str(trigger.params.get("RELATED", "")).upper() != "END":
        return None
    before = ALL_DAY_OFFSET - value if all_day else -value if timed else None
    if before is None or not SHORTEST <= before <= LONGEST:
        return None
    return {"before_due": duration_text(before)}


def duration_text(duration: timedelta) -> str:
    text: str = vDuration(duration).to_ical().decode()  # type: ignore[no-untyped-call]
    return text


def same_reminder(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    if "at" in a and "at" in b:
        return datetime.fromisoformat(a["at"]) == datetime.fromisoformat(b["at"])
    if "before_due" in a and "before_due" in b:
        return parse_duration(a["before_due"]) == parse_duration(b["before_due"])
    return False


# --- TEXT as typed ---------------------------------------------------------------------------


def escape_text(value: str) -> str:
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


class _Text(vText):
    """A TEXT value written as typed."""

    __slots__ = ()

    def to_ical(self) -> bytes:
        return escape_text(self).encode()


def _as_typed(value: object) -> object:
    if isinstance(value, vText) and not isinstance(value, _Text):
        return _Text(str(value), params=value.params)
    if isinstance(value, vCategory):
        value.cats = [_Text(str(cat)) for cat in value.cats]
    elif isinstance(value, vN | vAdr | vOrg):  # TEXT fields between unescaped semicolons
        return vUnknown(";".join(escape_text(field) for field in value.fields), params=value.params)
    return value


def to_ical(component: Component) -> bytes:
    """A component's iCalendar text, each TEXT value (its subcomponents' too) escaped as
    typed."""
    for part in component.walk():
        for name, value in list(part.items()):
            typed = [_as_typed(v) for v in value] if isinstance(value, list) else _as_typed(value)
            part[name] = typed
    text: bytes = component.to_ical()
    return text
