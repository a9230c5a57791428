"""The task form's values: a task as the form shows it (strings, on the person's clock), the
change a submitted form asks for (only the fields the person changed, as a `TaskUpdate`
reads them), what changed elsewhere when a save meets a newer version, and the next dates of
a repeating task; words typed for a date or a rule (the due menu's box, "Repeat in words"),
read as quick add reads them, or said back in plain words when they cannot be."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from todo_api.kit import zones
from todo_api.tasks import recurrence, rules
from todo_api.words import clock, read_date, read_rule

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


# The due menu's presets, each the words quick add reads for it (English is always read).
DUE_PRESETS = ("today", "tomorrow", "next week", "this weekend")


@dataclass(frozen=True)
class Unreadable:
    """Words that read as no date (`kind` "due") or no rule ("repeat"), and the longest start
    of them that does read (`hint`; empty when none does)."""

    kind: str
    words: str
    hint: str


def _reads(kind: str, words: str, zone: str, language: str) -> Any:
    reader = read_date if kind == "due" else read_rule
    return reader(words, clock.now(), zones.zone(zone), language)


def unreadable(form: Mapping[str, Any], zone: str, language: str) -> Unreadable | None:
    """The form's words for a date (`due_words`) or a rule (`repeat_words`) that cannot be read,
    with the longest start of them that can, as a hint to try."""
    for kind in ("due", "repeat"):
        words = " ".join(str(form.get(f"{kind}_words") or "").split())
        if not words or _reads(kind, words, zone, language):
            continue
        cut = words.split(" ")
        starts = (" ".join(cut[:end]) for end in range(len(cut) - 1, 0, -1))
        hint = next((start for start in starts if _reads(kind, start, zone, language)), "")
        return Unreadable(kind, words, hint)
    return None


def due_presets(zone: str, language: str) -> dict[str, date]:
    """The day each preset of the due menu names, on the person's clock."""
    days = {name: _reads("due", name, zone, "en") for name in DUE_PRESETS}
    return {name: day.date() if isinstance(day, datetime) else day for name, day in days.items()}


def read_due(words: str, zone: str, language: str) -> Any:
    """A date (or a time on the person's clock) read from words, or None."""
    return _reads("due", " ".join(words.split()), zone, language) if words.strip() else None


def rule_dates(words: str, zone: str, language: str, count: int = 3) -> tuple[str, list[Any]]:
    """A rule read from words, and its first `count` dates from today (an empty rule: none)."""
    read = _reads("repeat", " ".join(words.split()), zone, language) if words.strip() else None
    if not read:
        return "", []
    rule, due = read
    found, parsed, where = [due], recurrence.parse(rule), zones.zone(zone)
    while len(found) < count:
        following = recurrence.next_occurrence(parsed, found[-1], where)
        if following is None:
            break
        found.append(following[0])
        parsed = following[1]
    return rule, found


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
    read = read_rule(words, clock.now(), zones.zone(zone), language) if words else None
    if read:  # (unread words: `unreadable` says so)
        values["recurrence"] = read[0]
        if not values["due"]:  # a rule needs a date: its first one
            _set_due(values, read[1], zone)
    due = read_due(str(form.get("due_words") or ""), zone, language)
    if due is not None:
        _set_due(values, due, zone)
    return values


def _set_due(values: dict[str, str], due: Any, zone: str) -> None:
    if isinstance(due, datetime):
        local = _local(due, zone)
        values["due"], values["due_time"] = local.date().isoformat(), local.strftime("%H:%M")
        values["all_day"] = ""
    else:
        values["due"], values["due_time"], values["all_day"] = due.isoformat(), "", "on"


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
