"""What every import source makes of its file: lists and tasks in one shape (the intermediate
rows), each task located in the file (`line` or `index`) so that an error or a skip names it.

A source only reads its format; what the values must be (a title's length, a zone, a rule) is
checked once, by the importer, against the API's own input models. An `ics` source is one
more parser that yields these rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from todo_api.kit.errors import FieldError, LocatedFieldError, ValidationFailed

# Where a record is in its file: ("line", 12) for a text file's 1-based line, ("index", 3)
# or ("index", "items[0].items[2]") for a JSON document's.
Where = tuple[Literal["line", "index"], int | str]

# The document as a whole (its format, version or kind): no place within it.
TOP = None

# A file's errors become one VALIDATION_ERROR listing at most this many (the contract's cap).
MAX_DETAILS = 20


@dataclass
class ImportedList:
    key: str  # how the file's tasks name it
    name: Any  # as the file gives them: checked by the importer
    color: Any = None
    where: Where | None = None  # None: the request, not the file, names it
    # What an error about its name names (`list`: the request's parameter).
    name_field: str = "name"
    # Its sections in order: (how the file's tasks name one, its name).
    sections: list[tuple[str, Any]] = field(default_factory=list)
    # Where in the file a section is, by its key, when the file says (else the list's place).
    section_where: dict[str, Where] = field(default_factory=dict)
    # The key of the list it is inside, when the file says (a list not in the file: none).
    parent_key: str | None = None


@dataclass
class ImportedTask:
    where: Where
    # TaskCreate's fields as the file gives them (title, description, priority, due_at,
    # due_date, start_at, start_date, timezone, tags, recurrence, reminders, is_completed),
    # plus `completed_at`.
    fields: dict[str, Any]
    list_key: str | None = None  # None: the inbox
    section_key: str | None = None  # a section of its list's (ImportedList.sections)
    key: str | None = None  # how its subtasks name it
    parent_key: str | None = None
    # The order among its siblings (the file's own when equal): a position, a Google string.
    order: Any = 0
    # A due time on the wall clock of the task's zone (the file gives no offset).
    local_due: datetime | None = None
    # A start likewise.
    local_start: datetime | None = None
    # A due date or recurrence as a person typed it, and its language (a Todoist DATE):
    # read on the import's clock in the task's zone (todo_api.words).
    spoken_due: tuple[str, str] | None = None
    # The file's own names for the API's fields (Todoist's `CONTENT` for `title`), for errors.
    columns: dict[str, str] = field(default_factory=dict)
    # Assigned to whoever exported it (this service's export): to whoever imports it.
    assigned_to_importer: bool = False
    # Where in the file each of the API's fields is, when that is more precise than `where`
    # (an iCalendar property's line).
    lines: dict[str, int] = field(default_factory=dict)
    # When the source app made it, as the file gives it (iCalendar's `CREATED`, Google's
    # `updated`): the task's `created_at` when it is a time in the past.
    created: Any = None
    # A calendar file's `UID` (None: the task's id) and what the task mapping does not cover,
    # as iCalendar text: kept for CalDAV and the ics export (todo_api.ical).
    calendar_object: tuple[str | None, str] | None = None
    # A recurring task whose current occurrence the file completed (an iCalendar override with
    # RECURRENCE-ID): imported open, then completed as `complete` does it (the next occurrence
    # follows), at `occurrence_completed_at` (None: the import's clock).
    completes_occurrence: bool = False
    occurrence_completed_at: datetime | None = None
    # Its comments as the file gives them (this service's export: `{"body", "created_at"}`
    # each, oldest first); checked by the importer, which makes them the importer's.
    comments: list[Any] = field(default_factory=list)
    # Once checked: each comment's body and time, and the file's id of it (None: none), which
    # the export's files on that comment name (their `comment_id`).
    checked_comments: list[tuple[str, datetime]] = field(default_factory=list)
    comment_keys: list[str | None] = field(default_factory=list)
    # A repeating task's completed occurrences as the file gives them (this service's export:
    # `{"occurrence", "completed_at", ...}` each, newest first), and once checked, oldest
    # first: each occurrence (a time or a date) and when it was completed.
    completions: list[Any] = field(default_factory=list)
    checked_completions: list[tuple[datetime | date, datetime]] = field(default_factory=list)

    def at(self, field_name: str) -> Where:
        """Where the file gives the API's field `field_name`."""
        line = self.lines.get(field_name)
        return self.where if line is None else ("line", line)


@dataclass
class Skipped:
    """A part of the file left out: a whole record, or a part of one that was imported."""

    where: Where
    reason: str

    def body(self) -> dict[str, Any]:
        return {self.where[0]: self.where[1], "reason": self.reason}


@dataclass
class Parsed:
    lists: list[ImportedList] = field(default_factory=list)
    tasks: list[ImportedTask] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # Another app's file, read liberally (a title over the limit is cut, not refused); this
    # service's own export keeps the strict rules.
    liberal: bool = True
    # The exporter's language (this service's export), as the file gives it: checked by the
    # importer, and the importer's own where they have set none.
    language: Any = None
    theme: Any = None  # and their theme, the same way
    week_start: Any = None  # and their first day of the week
    # The exporter's push subscriptions (this service's export), each where it is and as the
    # file gives it: checked by the importer.
    push_subscriptions: list[tuple[Where, Any]] = field(default_factory=list)
    # The files of the exporter's tasks (this service's export's `attachments`), each where it
    # is and as the file gives it: their bytes come in the zip of `?with_files=true`
    # (todo_api.yourdata.archive).
    files: list[tuple[Where, Any]] = field(default_factory=list)


def located(where: Where | None, field_name: str, message: str) -> LocatedFieldError:
    if where is None:
        return LocatedFieldError(field=field_name, message=message)
    kind, at = where
    if kind == "line":
        return LocatedFieldError(field=field_name, message=message, line=int(at))
    return LocatedFieldError(field=field_name, message=message, index=at)


class FileErrors:
    """Collects a file's errors; `raise_any` refuses the file if there were any."""

    def __init__(self) -> None:
        self.details: list[FieldError] = []

    def add(self, where: Where | None, field_name: str, message: str) -> None:
        if len(self.details) < MAX_DETAILS:
            self.details.append(located(where, field_name, message))

    def extend(self, errors: Iterable[LocatedFieldError]) -> None:
        for error in errors:
            if len(self.details) < MAX_DETAILS:
                self.details.append(error)

    def raise_any(self) -> None:
        if self.details:
            raise ValidationFailed(list(self.details))
