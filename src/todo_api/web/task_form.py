"""The task form's values: a task as the form shows it (strings, on the person's clock), the
change a submitted form asks for (only the fields the person changed, as a `TaskUpdate`
reads them), what changed elsewhere when a save meets a newer version, and the next dates of
a repeating task."""

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from todo_api.kit import zones
from todo_api.kit.words import clock, read_rule
from todo_api.tasks import recurrence, rules

FIELDS = (
    "title",
    "description",
    "due",
    "due_time",
    "all_day",
    "start",
    "start_time",
    "recurrence",
    "priority",
    "tags",
    "list_id",
    "assignee_id",
)
PRESETS = {
    "FREQ=DAILY": "daily",
    "FREQ=WEEKLY": "weekly",
    "FREQ=MONTHLY": "monthly",
    "FREQ=YEARLY": "yearly",
}


def _local(value: Any, zone: str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(zones.zone(zone))


def _day(value: Any) -> str:
    return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()


def values_of(task: Mapping[str, Any], zone: str) -> dict[str, str]:
    """The task as the form shows it."""
    shown = {
        "title": task["title"],
        "description": task.get("description") or "",
        "recurrence": task.get("recurrence") or "",
        "priority": task.get("priority") or "none",
        "tags": ", ".join(task.get("tags") or []),
        "list_id": str(task.get("list_id") or ""),
        "assignee_id": str(task.get("assignee_id") or ""),
        "all_day": "on",
    }
    for kind in ("due", "start"):
        at, day = task.get(f"{kind}_at"), task.get(f"{kind}_date")
        shown[kind], shown[f"{kind}_time"] = "", ""
        if at:
            local = _local(at, zone)
            shown[kind], shown[f"{kind}_time"] = local.date().isoformat(), local.strftime("%H:%M")
            if kind == "due":
                shown["all_day"] = ""
        elif day:
            shown[kind] = _day(day)
    return shown


def submitted(
    form: Mapping[str, Any], base: Mapping[str, str], zone: str, language: str
) -> dict[str, str]:
    """The form's values, a rule in words (`repeat_words`) read as quick add reads it. A form
    of fewer fields (another page's, a script's) leaves the others as in `base`."""
    whole = "base" in form
    values = {
        name: str(form.get(name) or "").strip() if whole or name in form else base[name]
        for name in FIELDS
    }
    if "description" in form:
        values["description"] = str(form.get("description") or "")
    words = str(form.get("repeat_words") or "").strip()
    if words:
        read = read_rule(words, clock.now(), zones.zone(zone), language)
        values["recurrence"] = read[0] if read else words  # else an RRULE, or its error
    return values


def _when(day: str, at: str, all_day: bool, zone: str, kind: str) -> dict[str, Any]:
    if not day:
        return {f"{kind}_at": None, f"{kind}_date": None}
    if all_day or not at:
        return {f"{kind}_date": day, f"{kind}_at": None}
    try:
        moment = datetime.combine(date.fromisoformat(day), time.fromisoformat(at))
    except ValueError:
        return {f"{kind}_at": f"{day}T{at}"}  # the schema says what is wrong with it
    local = moment.replace(tzinfo=zones.zone(zone))
    return {f"{kind}_at": local.isoformat(), f"{kind}_date": None}


def changes(mine: Mapping[str, str], base: Mapping[str, str], zone: str) -> dict[str, Any]:
    """What the person changed from `base` (the task as their form showed it), for TaskUpdate."""
    changed = {name for name in FIELDS if mine.get(name, "") != base.get(name, "")}
    out: dict[str, Any] = {}
    for name in ("title", "priority"):
        if name in changed:
            out[name] = mine[name]
    for name in ("description", "recurrence", "list_id", "assignee_id"):
        if name in changed:
            out[name] = mine[name] or None
    if "tags" in changed:
        out["tags"] = [tag.strip() for tag in mine["tags"].split(",") if tag.strip()]
    if changed & {"due", "due_time", "all_day"}:
        out.update(_when(mine["due"], mine["due_time"], mine["all_day"] == "on", zone, "due"))
    if changed & {"start", "start_time"}:
        start_all_day = not mine["start_time"]
        out.update(_when(mine["start"], mine["start_time"], start_all_day, zone, "start"))
    return out


def elsewhere(base: Mapping[str, str], current: Mapping[str, str]) -> list[tuple[str, str]]:
    """The fields someone else changed since `base`, with their values now."""
    return [(name, current[name]) for name in FIELDS if base.get(name, "") != current[name]]


def next_dates(task: Mapping[str, Any], count: int = 3) -> list[Any]:
    """The next `count` dates (or times) a repeating task comes due, on its zone's clock."""
    found: list[Any] = []
    due, rule = rules.due_of(task), task.get("recurrence")
    if due is None or not rule:
        return found
    parsed, zone = recurrence.parse(rule), zones.zone(task["timezone"])
    start = rules.series_start(task)
    while len(found) < count:
        following = recurrence.next_occurrence(parsed, due, zone, start)
        if following is None:
            break
        due, parsed = following
        found.append(due)
    return found
