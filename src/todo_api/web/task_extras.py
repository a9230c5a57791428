"""A task's reminders on its page: their words, and the list a reminder form leaves (one
added, before the task is due or at a time on the person's clock, or one removed)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from babel import dates as babel_dates

from todo_api.kit import zones
from todo_api.web.messages import Gettext

# The durations a reminder before the due time can take here (the API takes any).
REMINDER_PRESETS = ("PT15M", "PT1H", "P1D")


def reminder_text(reminder: Mapping[str, Any], zone: str, language: str, _: Gettext) -> str:
    before = reminder.get("before_due")
    if before:
        words = {
            "PT15M": _("15 minutes before it is due"),
            "PT1H": _("1 hour before it is due"),
            "P1D": _("1 day before it is due"),
        }
        return words.get(str(before)) or _("%(duration)s before it is due") % {"duration": before}
    at = reminder["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    local = moment.astimezone(zones.zone(zone))
    return _("At %(when)s") % {
        "when": babel_dates.format_datetime(local, "medium", locale=language)
    }


def _kept(reminder: Mapping[str, Any]) -> dict[str, Any]:
    if reminder.get("before_due"):
        return {"id": str(reminder["id"]), "before_due": reminder["before_due"]}
    at = reminder["at"]
    return {"id": str(reminder["id"]), "at": at.isoformat() if isinstance(at, datetime) else at}


def reminders_after(
    current: Sequence[Mapping[str, Any]], form: Mapping[str, Any], zone: str
) -> list[dict[str, Any]]:
    """The task's reminders once the form's change is made (the schema checks them)."""
    kept = [_kept(reminder) for reminder in current]
    remove = str(form.get("remove") or "")
    if remove:
        return [reminder for reminder in kept if reminder["id"] != remove]
    when = str(form.get("remind") or "")
    if when in REMINDER_PRESETS:
        return [*kept, {"before_due": when}]
    at = str(form.get("remind_at") or "")
    try:
        local = datetime.fromisoformat(at).replace(tzinfo=zones.zone(zone))
    except ValueError:
        return [*kept, {"at": at}]  # the schema says what is wrong with it
    return [*kept, {"at": local.isoformat()}]
