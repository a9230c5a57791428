"""Microsoft To Do's lists as Microsoft Graph returns them (`GET /me/todo/lists`, each list's
`GET …/tasks`, each task's `checklistItems`), saved by a script or a migration tool: the lists
(`{"value": [todoTaskList, …]}` or an array of them), each with its `tasks` (an array, or a
Graph page `{"value": […]}`); or one list's tasks alone (`{"value": [todoTask, …]}`), which
make one list named by `?list=`, else after the file.

A list is a new list (the default list, `wellknownListName: defaultList`, is the inbox). A
task: `title`, `body.content` the description (HTML made text), `importance` low, normal
(none) or high, `categories` tags, `status: completed` completed at `completedDateTime`,
`createdDateTime` its creation. `dueDateTime` (`dateTime` on the clock of its `timeZone`, an
IANA or Windows name) is a due date when it is midnight there, as To Do's days are, else a due
time; `recurrence` (its `pattern` and `range`) the recurrence. Each of its `checklistItems` is
a subtask (`isChecked` completed). Linked resources' addresses are kept in the description;
reminders are To Do's and are left out, and listed.
"""

import html
import re
from datetime import datetime
from typing import Any

from todo_api.kit import zones
from todo_api.kit.errors import InvalidRequest
from todo_api.yourdata.records import ImportedList, ImportedTask, Parsed, Skipped, Where
from todo_api.yourdata.sources.documents import file_stem, items, json_value

DEFAULT_LIST = "Microsoft To Do"
IMPORTANCE = {"low": "low", "normal": "none", "high": "high", None: "none"}
COLUMNS = {
    "title": "title",
    "description": "body",
    "priority": "importance",
    "tags": "categories",
    "due_date": "dueDateTime",
    "due_at": "dueDateTime",
    "timezone": "dueDateTime",
    "recurrence": "recurrence",
    "completed_at": "completedDateTime",
    "created_at": "createdDateTime",
}
DAYS = {
    "sunday": "SU",
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
}
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
FREQUENCIES = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}
_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li)\b[^>]*>", re.IGNORECASE)


def looks_like(document: Any) -> bool:
    """Graph's To Do objects: lists (`displayName`) or tasks (`importance` and `status`)."""
    found = document.get("value") if isinstance(document, dict) else document
    first = found[0] if isinstance(found, list) and found else None
    return isinstance(first, dict) and (
        "wellknownListName" in first or ("importance" in first and "status" in first)
    )


def parse_document(document: Any, options: dict[str, str]) -> Parsed:
    entries = document
    if isinstance(document, dict):
        entries = document.get("value", document.get("lists"))
    if not isinstance(entries, list):
        raise InvalidRequest(
            'The file is not Microsoft To Do\'s lists: "value" must be an array of '
            "todoTaskList or todoTask objects"
        )
    parsed = Parsed()
    if entries and all(isinstance(e, dict) and "displayName" not in e for e in entries):
        # One list's tasks alone.
        name = options.get("list") or file_stem(options) or DEFAULT_LIST
        parsed.lists.append(ImportedList(key="list", name=name, name_field="list"))
        _tasks(parsed, "list", entries, "value")
        return parsed
    for index, entry in enumerate(entries):
        where: Where = ("index", f"value[{index}]")
        if not isinstance(entry, dict):
            parsed.skipped.append(Skipped(where, "a list must be an object"))
            continue
        key = f"value[{index}]"
        list_key: str | None = key
        if entry.get("wellknownListName") == "defaultList":
            list_key = None
        else:
            parsed.lists.append(ImportedList(key=key, name=entry.get("displayName"), where=where))
            parsed.lists[-1].name_field = "displayName"
        _tasks(parsed, list_key, _page(entry.get("tasks")), f"{key}.tasks")
    return parsed


def _tasks(parsed: Parsed, list_key: str | None, tasks: list[Any], path: str) -> None:
    for index, item in enumerate(tasks):
        where: Where = ("index", f"{path}[{index}]")
        if not isinstance(item, dict):
            parsed.skipped.append(Skipped(where, "a task must be an object"))
            continue
        task = _task(where, item, list_key, parsed.skipped)
        task.key = f"{path}[{index}]"
        task.order = index
        parsed.tasks.append(task)
        for number, check in enumerate(_page(item.get("checklistItems"))):
            if not isinstance(check, dict):
                continue
            fields: dict[str, Any] = {"title": check.get("displayName")}
            if check.get("isChecked"):
                fields["is_completed"] = True
                fields["completed_at"] = check.get("checkedDateTime")
            parsed.tasks.append(
                ImportedTask(
                    where=("index", f"{path}[{index}].checklistItems[{number}]"),
                    fields=fields,
                    list_key=list_key,
                    key=f"{task.key}/{number}",
                    parent_key=task.key,
                    order=number,
                    created=check.get("createdDateTime"),
                    columns={"title": "displayName", "completed_at": "checkedDateTime"},
                )
            )


def _task(where: Where, item: dict[str, Any], list_key: str | None, skipped: list[Skipped]) -> Any:
    fields: dict[str, Any] = {
        "title": item.get("title"),
        "priority": IMPORTANCE.get(item.get("importance"), item.get("importance")),
    }
    description = _body(item.get("body"))
    links = [
        resource["webUrl"]
        for resource in _page(item.get("linkedResources"))
        if isinstance(resource, dict) and isinstance(resource.get("webUrl"), str)
    ]
    if links:
        description = "\n\n".join(filter(None, [description, "Links:\n" + "\n".join(links)]))
    if description:
        fields["description"] = description
    tags = [tag for tag in items(item.get("categories")) if isinstance(tag, str) and tag.strip()]
    if tags:
        fields["tags"] = tags
    if item.get("status") == "completed":
        fields["is_completed"] = True
        done = _moment(item.get("completedDateTime"))
        if done is not None:
            fields["completed_at"] = done.isoformat()
    if item.get("isReminderOn") and item.get("reminderDateTime"):
        skipped.append(Skipped(where, "reminderDateTime left out: set the reminder again"))
    task = ImportedTask(
        where=where,
        fields=fields,
        list_key=list_key,
        created=item.get("createdDateTime"),
        columns=COLUMNS,
    )
    due = item.get("dueDateTime")
    moment = _moment(due)
    if due is not None and moment is None:
        fields["due_at"] = due  # refused, naming dueDateTime
    elif moment is not None:
        if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
            fields["due_date"] = moment.date().isoformat()
        else:
            fields["due_at"] = moment.isoformat()
        key = getattr(moment.tzinfo, "key", None)
        if key:
            fields["timezone"] = key
    timed = "due_at" in fields
    rule = _rule(item.get("recurrence"), timed=timed)
    if rule is not None and moment is not None:
        fields["recurrence"] = rule
    elif item.get("recurrence") is not None:
        skipped.append(Skipped(where, "recurrence left out: To Do's pattern has no rule here"))
    return task


def _moment(value: Any) -> datetime | None:
    """A Graph `dateTimeTimeZone`: its `dateTime` on the clock of its `timeZone`."""
    from todo_api.ical.reading import iana_zone  # icalendar, with the first file of To Do's

    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    zone_name = iana_zone(str(value.get("timeZone") or "UTC")) or "UTC"
    try:
        naive = datetime.fromisoformat(value["dateTime"][:26].rstrip("Z"))
        return naive.replace(tzinfo=zones.zone(zone_name))
    except (ValueError, KeyError):
        return None


def _rule(recurrence: Any, *, timed: bool = False) -> str | None:
    """A Graph `patternedRecurrence` as an RRULE (its end a day, or the day's last second in
    UTC for a task due at a time, as RFC 5545 wants it); None for one this cannot say."""
    pattern = recurrence.get("pattern") if isinstance(recurrence, dict) else None
    if not isinstance(pattern, dict) or pattern.get("type") not in FREQUENCIES:
        return None
    kind = pattern["type"]
    parts = [f"FREQ={FREQUENCIES[kind]}"]
    interval = pattern.get("interval")
    if isinstance(interval, int) and interval > 1:
        parts.append(f"INTERVAL={interval}")
    days = [DAYS[d] for d in items(pattern.get("daysOfWeek")) if d in DAYS]
    if kind.startswith("relative"):
        position = INDEX.get(str(pattern.get("index")), 1)
        if not days:
            return None
        parts.append("BYDAY=" + ",".join(f"{position}{day}" for day in days))
    elif kind == "weekly" and days:
        parts.append("BYDAY=" + ",".join(days))
    day = pattern.get("dayOfMonth")
    if kind.startswith("absolute") and isinstance(day, int) and day > 0:
        parts.append(f"BYMONTHDAY={day}")
    if kind.endswith("Yearly") and isinstance(pattern.get("month"), int) and pattern["month"] > 0:
        parts.append(f"BYMONTH={pattern['month']}")
    limit = recurrence.get("range")
    if isinstance(limit, dict):
        if limit.get("type") == "endDate" and isinstance(limit.get("endDate"), str):
            parts.append(
                "UNTIL=" + limit["endDate"].replace("-", "") + ("T235959Z" if timed else "")
            )
        elif limit.get("type") == "numbered" and isinstance(limit.get("numberOfOccurrences"), int):
            parts.append(f"COUNT={limit['numberOfOccurrences']}")
    return ";".join(parts)


def _body(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        return None
    content = body["content"]
    if str(body.get("contentType")).lower() == "html":
        content = html.unescape(_TAG.sub("", _BREAK.sub("\n", content)))
    return content.strip() or None


def _page(value: Any) -> list[Any]:
    """An array as a file gives it: itself, or a Graph page's `value`."""
    if isinstance(value, dict):
        value = value.get("value")
    return items(value)


def parse(body: bytes, options: dict[str, str]) -> Parsed:
    return parse_document(json_value(body, "Microsoft To Do's lists from Graph"), options)
