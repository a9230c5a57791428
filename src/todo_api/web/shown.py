"""How the pages show values: a task's due on the person's clock, in their language."""

from datetime import date, datetime
from typing import Any

from babel import dates as babel_dates

from todo_api.kit import zones


def task_row(task: dict[str, Any], zone: str, language: str) -> dict[str, Any]:
    """A task as the pages show it: its due on the user's clock, in words of `language`."""
    shown = dict(task)
    due_at, due_date = task.get("due_at"), task.get("due_date")
    shown["due_text"], shown["due_value"] = "", ""
    if due_at:
        moment = due_at if isinstance(due_at, datetime) else datetime.fromisoformat(due_at)
        local = moment.astimezone(zones.zone(zone))
        shown["due_text"] = babel_dates.format_datetime(local, "medium", locale=language)
        shown["due_value"] = local.date().isoformat()
    elif due_date:
        day = due_date if isinstance(due_date, date) else date.fromisoformat(due_date)
        shown["due_text"] = babel_dates.format_date(day, "medium", locale=language)
        shown["due_value"] = day.isoformat()
    shown["tags"] = list(task.get("tags") or [])
    return shown
