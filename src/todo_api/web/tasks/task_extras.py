"""A task's reminders on its page: their words, and the list a reminder form leaves (one
added, before the task is due or at a time on the person's clock, or one removed); and its
repeat rule in words."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from babel import dates as babel_dates
from babel.lists import format_list

from todo_api.kit import zones
from todo_api.tasks import recurrence
from todo_api.web.common.messages import Gettext, translations
from todo_api.web.common.shown import moment_text

# The durations a reminder before the due time can take here (the API takes any).
REMINDER_PRESETS = ("PT15M", "PT1H", "P1D")
# RRULE's weekdays in Babel's order of day names (Monday first).
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


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
    return _("At %(when)s") % {"when": moment_text(at, zone, language)}


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


def rule_text(rule: str, language: str) -> str:
    """A repeat rule (RRULE) in words of `language`: how often (its frequency and interval),
    on which weekdays, how many times or until when. No library says an RRULE in the seven
    languages: the rest (the days of a month, the nth weekday, ...) is said to be there, and
    the page shows the rule itself beside."""
    words = translations(language)
    _ = words.gettext
    try:
        parsed = recurrence.parse(rule)
    except recurrence.InvalidRule:
        return rule
    every = parsed.interval
    if every == 1:
        how_often = {
            "DAILY": _("Daily"),
            "WEEKLY": _("Weekly"),
            "MONTHLY": _("Monthly"),
            "YEARLY": _("Yearly"),
        }[parsed.frequency]
    else:
        how_often = {
            "DAILY": words.ngettext("Every %(num)d day", "Every %(num)d days", every),
            "WEEKLY": words.ngettext("Every %(num)d week", "Every %(num)d weeks", every),
            "MONTHLY": words.ngettext("Every %(num)d month", "Every %(num)d months", every),
            "YEARLY": words.ngettext("Every %(num)d year", "Every %(num)d years", every),
        }[parsed.frequency] % {"num": every}
    said = [how_often]
    weekdays = [day for day in parsed.weekdays if day in WEEKDAYS]  # not "2MO", "-1FR"
    if weekdays:
        names = babel_dates.get_day_names("wide", locale=language)
        days = format_list([names[WEEKDAYS.index(day)] for day in weekdays], locale=language)
        said.append(_("on %(days)s") % {"days": days})
    if parsed.count is not None:
        count = parsed.count
        said.append(words.ngettext("%(num)d time", "%(num)d times", count) % {"num": count})
    if parsed.until is not None:
        day = babel_dates.format_date(parsed.until.date(), "medium", locale=language)
        said.append(_("until %(day)s") % {"day": day})
    if parsed.numbers or len(weekdays) < len(parsed.weekdays):
        said.append(_("with more conditions (see the rule)"))
    return ", ".join(said)
