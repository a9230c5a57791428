"""TickTick's backup (Settings → Account → Generate backup): a CSV whose column row (`"Folder
Name","List Name","Title","Kind","Tags","Content",…,"taskId","parentId"`) follows a few lines
about the file (`"Date: …"`, `"Version: 7.1"`, `"Status: …"`).

Each `List Name` is a list (`Inbox` is the inbox), inside a list named after its `Folder Name`
when it has one. A row is a task: `Title`, `Content` the description, `Tags` (comma-separated)
tags, `Priority` 0 none, 1 low, 3 medium, 5 high, `Status` 1 or 2 (completed, archived)
completed at `Completed Time`, `Created Time` its creation, `Order` its place, `parentId` the
task it is a subtask of (of its top-level ancestor, one level here). `Due Date` (and `Start
Date`) with `Is All Day` true is a day in the row's `Timezone`, else a time in it; `Repeat` (an
`RRULE`) the recurrence. Reminders are TickTick's and are left out, and listed.
"""

import contextlib
import csv
import io
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse

from todo_api.kit import zones
from todo_api.kit.errors import InvalidRequest
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped, Where

HEADER_START = ["Folder Name", "List Name", "Title"]
INBOX = "inbox"
PRIORITIES = {"0": "none", "": "none", "1": "low", "3": "medium", "5": "high"}
COLUMNS = {
    "title": "Title",
    "description": "Content",
    "tags": "Tags",
    "priority": "Priority",
    "due_at": "Due Date",
    "due_date": "Due Date",
    "start_at": "Start Date",
    "start_date": "Start Date",
    "timezone": "Timezone",
    "recurrence": "Repeat",
    "completed_at": "Completed Time",
    "created_at": "Created Time",
    "id": "taskId",
}


def looks_like(text: str) -> bool:
    """A TickTick backup: its column row within its first lines."""
    return '"Folder Name","List Name","Title"' in text[:4096]


def parse(body: bytes, _options: dict[str, str]) -> Parsed:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidRequest("The file is not UTF-8 text (a TickTick backup expected)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    errors = FileErrors()
    parsed = Parsed()
    header: list[str] | None = None
    folders: dict[str, ImportedList] = {}
    lists: dict[str, ImportedList] = {}
    line = 1
    try:
        for values in reader:
            where: Where = ("line", line)
            line = reader.line_num + 1
            if header is None:
                if [value.strip() for value in values[:3]] == HEADER_START:
                    header = [value.strip() for value in values]
                continue
            if not any(value.strip() for value in values):
                continue
            row = dict(zip(header, (value.strip() for value in values), strict=False))
            if not row.get("Title"):  # TickTick keeps rows a person never named
                parsed.skipped.append(Skipped(where, "a task without a title"))
                continue
            list_key = _list_of(row, where, folders, lists, parsed)
            parsed.tasks.append(_task(where, row, list_key, errors, parsed.skipped))
    except csv.Error as exc:
        errors.add(("line", reader.line_num), "CSV", str(exc))
    if header is None:
        raise InvalidRequest(
            'The file is not a TickTick backup: no line names its columns ("Folder Name", '
            '"List Name", "Title", …)'
        )
    errors.raise_any()
    return parsed


def _list_of(
    row: dict[str, str],
    where: Where,
    folders: dict[str, ImportedList],
    lists: dict[str, ImportedList],
    parsed: Parsed,
) -> str | None:
    """The key of the row's list (made at its first row, inside its folder's); None for the
    inbox."""
    name = row.get("List Name", "")
    if name.lower() == INBOX or not name:
        return None
    folder = row.get("Folder Name", "")
    key = f"{folder}\n{name}"
    if key not in lists:
        if folder and folder not in folders:
            folders[folder] = ImportedList(key=f"folder\n{folder}", name=folder, where=where)
            parsed.lists.append(folders[folder])
        made = ImportedList(key=key, name=name, where=where)
        made.parent_key = folders[folder].key if folder else None
        lists[key] = made
        parsed.lists.append(made)
    return key


def _task(
    where: Where,
    row: dict[str, str],
    list_key: str | None,
    errors: FileErrors,
    skipped: list[Skipped],
) -> ImportedTask:
    fields: dict[str, Any] = {"title": row.get("Title", "")}
    if row.get("Content"):
        fields["description"] = row["Content"]
    tags = [tag.strip() for tag in row.get("Tags", "").split(",") if tag.strip()]
    if tags:
        fields["tags"] = tags
    priority = PRIORITIES.get(row.get("Priority", ""))
    if priority is None:
        errors.add(where, "Priority", "must be 0 (none), 1 (low), 3 (medium) or 5 (high)")
    else:
        fields["priority"] = priority
    zone = row.get("Timezone") or None
    if zone:
        fields["timezone"] = zone
    all_day = row.get("Is All Day", "").lower() == "true"
    task = ImportedTask(where=where, fields=fields, list_key=list_key, columns=COLUMNS)
    for column, name in (("Due Date", "due"), ("Start Date", "start")):
        _read_time(task, row.get(column, ""), name, all_day, zone, errors, column)
    if row.get("Repeat"):
        fields["recurrence"] = row["Repeat"]
    if row.get("Reminder"):
        skipped.append(Skipped(where, "Reminder left out: set it again"))
    if row.get("Status") in ("1", "2"):
        fields["is_completed"] = True
        if row.get("Completed Time"):
            fields["completed_at"] = _instant(row["Completed Time"], zone)
    task.created = _instant(row["Created Time"], zone) if row.get("Created Time") else None
    task.key = row.get("taskId") or f"line {where[1]}"
    task.parent_key = row.get("parentId") or None
    order = row.get("Order", "")
    task.order = int(order) if order.lstrip("-").isdigit() else 0
    return task


def _read_time(
    task: ImportedTask,
    value: str,
    name: str,
    all_day: bool,
    zone: str | None,
    errors: FileErrors,
    column: str,
) -> None:
    """A `Due Date` or `Start Date`: the day it is in the row's zone (an all-day task), else
    the time; a time without an offset is on the zone's clock."""
    if not value:
        return
    try:
        moment = isoparse(value)
    except (ValueError, OverflowError):
        errors.add(task.where, column, f"{value!r} is not a time")
        return
    if moment.tzinfo is not None and zone:
        with contextlib.suppress(KeyError, ValueError):  # the zone's own check names it
            moment = moment.astimezone(zones.zone(zone))
    if all_day:
        task.fields[f"{name}_date"] = moment.date().isoformat()
    elif moment.tzinfo is None:
        if name == "due":
            task.local_due = moment
        else:
            task.local_start = moment
    else:
        task.fields[f"{name}_at"] = moment.isoformat()


def _instant(value: str, zone: str | None) -> Any:
    """A time as the file gives it; one without an offset on the zone's clock."""
    try:
        moment = isoparse(value)
    except (ValueError, OverflowError):
        return value  # refused by the importer, naming it
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=zones.zone(zone or "UTC"))
        except (KeyError, ValueError):
            return value
    return moment.isoformat() if isinstance(moment, datetime) else value
