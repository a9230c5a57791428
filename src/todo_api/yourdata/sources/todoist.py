"""Todoist's CSV export (a project's "Export as CSV"): `TYPE, CONTENT, DESCRIPTION, PRIORITY,
INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE, DURATION, DURATION_UNIT, DEADLINE,
DEADLINE_LANG`, one row per task, section or note, into one new list.

`INDENT` 1 is a top-level task, 2 a subtask, deeper a subtask of its top-level ancestor (one
level only here). A `section` row is a section of the list, and the tasks after it (to the
next section) are in it, as Todoist's export orders them; a subtask is in its parent's.
`PRIORITY` 1 (p1) is high, 2 medium, 3 low, 4 or empty none. `DATE` is what the person typed
in Todoist: `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (in `TIMEZONE`), else a phrase in `DATE_LANG`
(`4 Jan`, `6 Apr 17:15`, `every other monday`) read by todo_api.words on the import's
clock, a recurrence due on its first occurrence; a phrase it cannot read, or a date before
1900 or after 2100, is left out and listed, as are durations. A `note` row is a comment on
the task before it. `DEADLINE` (a day; the API has no deadline of its own) is the due date of a
task without `DATE`, else it is kept in plain words at the end of the description
(`Deadline: 2031-07-01`). `@label` words of `CONTENT` are tags, taken out of the title. People
(`AUTHOR`, `RESPONSIBLE`) are Todoist's, not this service's. The list is named by `?list=`,
else after the file (`Groceries.csv`: "Groceries"), else "Todoist import".
"""

import csv
import io
import re
from typing import Any

from dateutil.parser import isoparse

from todo_api import words
from todo_api.kit.errors import InvalidRequest
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources.documents import file_stem

DEFAULT_LIST = "Todoist import"
LIST_KEY = "todoist"
PRIORITIES = {"1": "high", "2": "medium", "3": "low", "4": "none", "": "none"}
# The API's names of what each column fills, for errors.
COLUMNS = {
    "title": "CONTENT",
    "description": "DESCRIPTION",
    "priority": "PRIORITY",
    "due_at": "DATE",
    "due_date": "DATE",
    "recurrence": "DATE",
    "timezone": "TIMEZONE",
    "tags": "CONTENT",  # its @labels
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$")


def parse(body: bytes, options: dict[str, str]) -> Parsed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("The file is not UTF-8 text (a Todoist CSV expected)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().upper() for name in next(reader, [])]
    if "TYPE" not in header or "CONTENT" not in header:
        raise InvalidRequest("The file is not a Todoist CSV: its first line names no TYPE, CONTENT")
    name = options.get("list") or file_stem(options) or DEFAULT_LIST
    parsed = Parsed(lists=[ImportedList(key=LIST_KEY, name=name, name_field="list")])
    errors = FileErrors()
    section: str | None = None  # the key of the section the tasks are in
    parent: ImportedTask | None = None
    last: ImportedTask | None = None  # the task a note row is a comment on
    line = reader.line_num
    try:
        for values in reader:
            where: Where = ("line", line + 1)
            line = reader.line_num
            row = dict(zip(header, (value.strip() for value in values), strict=False))
            kind = row.get("TYPE", "").lower()
            if kind == "task":
                task = _task(where, row, section, parent, errors, parsed.skipped)
                if task.parent_key is None:
                    parent = task
                parsed.tasks.append(task)
                last = task
            elif kind == "section":
                section = f"line {where[1]}"
                parsed.lists[0].sections.append((section, row.get("CONTENT", "")))
                parsed.lists[0].section_where[section] = where
            elif kind == "note" and last is not None and row.get("CONTENT"):
                note = {"body": row["CONTENT"], "where": where, "field": "CONTENT"}
                last.comments.append(note)
            elif kind == "note" and last is not None:
                parsed.skipped.append(Skipped(where, "a note without text (a file) left out"))
            elif kind == "note":
                parsed.skipped.append(Skipped(where, "a note of the project, not of a task"))
            elif kind not in ("", "meta"):  # blank lines, and the project's view settings
                parsed.skipped.append(Skipped(where, f"a row of TYPE {kind!r} is not imported"))
    except csv.Error as exc:
        errors.add(("line", reader.line_num), "CSV", str(exc))
    errors.raise_any()
    return parsed


def _task(
    where: Where,
    row: dict[str, str],
    section: str | None,
    parent: ImportedTask | None,
    errors: FileErrors,
    skipped: list[Skipped],
) -> ImportedTask:
    title, labels = words.read_tags(row.get("CONTENT", ""))
    fields: dict[str, Any] = {"title": title}
    if row.get("DESCRIPTION"):
        fields["description"] = row["DESCRIPTION"]
    priority = PRIORITIES.get(row.get("PRIORITY", ""))
    if priority is None:
        errors.add(where, "PRIORITY", "must be 1 (p1) to 4, or empty")
    else:
        fields["priority"] = priority
    if row.get("TIMEZONE"):
        fields["timezone"] = row["TIMEZONE"]
    if labels:
        fields["tags"] = labels
    task = ImportedTask(
        where=where, fields=fields, list_key=LIST_KEY, section_key=section, columns=COLUMNS
    )
    task.key = f"line {where[1]}"
    _indent(task, row.get("INDENT", ""), parent, errors, skipped)
    read_date(task, row.get("DATE", ""), row.get("DATE_LANG", "").lower(), errors)
    keep_deadline(task, row.get("DEADLINE", ""))
    if row.get("DURATION"):
        skipped.append(Skipped(where, "DURATION left out"))
    return task


def keep_deadline(task: ImportedTask, deadline: str) -> None:
    """A deadline (a day), which the API has not: the due date of a task that has none, else
    said in plain words at the end of its description."""
    if not deadline:
        return
    dated = (
        any(name in task.fields for name in ("due_date", "due_at"))
        or task.local_due is not None
        or task.spoken_due is not None
    )
    if not dated and _DATE.match(deadline):
        task.fields["due_date"] = deadline
        return
    description = task.fields.get("description")
    said = f"Deadline: {deadline}"
    task.fields["description"] = f"{description}\n\n{said}" if description else said


def _indent(
    task: ImportedTask,
    indent: str,
    parent: ImportedTask | None,
    errors: FileErrors,
    skipped: list[Skipped],
) -> None:
    if indent in ("", "1"):
        return
    if not indent.isascii() or not indent.isdigit() or int(indent) < 1:
        errors.add(task.where, "INDENT", "must be a whole number from 1")
    elif parent is None:
        skipped.append(Skipped(task.where, "a subtask with no task before it: made top-level"))
    else:
        task.parent_key = parent.key


def read_date(task: ImportedTask, date: str, row_lang: str, errors: FileErrors) -> None:
    """`DATE` (in `DATE_LANG`) read into the task: a day, a wall-clock time, or a phrase."""
    if not date:
        return
    if _DATE.match(date) or _DATE_TIME.match(date):
        try:
            moment = isoparse(date)
        except (ValueError, OverflowError):  # 9999-12-31 24:00 is in year 10000
            errors.add(task.where, "DATE", f"{date!r} is not a date")
            return
        if not words.FIRST_DAY <= moment.date() <= words.LAST_DAY:
            # Outside the years the reader reads: left out and listed as a phrase it cannot.
            task.spoken_due = (date, "en")
        elif _DATE.match(date):
            task.fields["due_date"] = moment.date().isoformat()
        else:
            task.local_due = moment
        return
    lang = row_lang if row_lang in words.LANGUAGES else "en"
    task.spoken_due = (date, lang)
