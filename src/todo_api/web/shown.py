"""How the pages show values: a task's due and start on the person's clock, in their language,
the near days in words (Today, Tomorrow, Yesterday, a weekday of the coming week) and an
overdue task said to be so."""

import functools
from collections.abc import Collection
from datetime import date, datetime, time
from html import escape
from typing import Any

from babel import dates as babel_dates
from markupsafe import Markup

from todo_api.kit import zones
from todo_api.kit.ids import utcnow
from todo_api.web.messages import translations

# A day this many days ahead or fewer is named by its weekday.
WEEKDAY_AHEAD = 6

# A task of a list the person only views: they may not complete it.
NO_CHECK = '<span class="check read-only" aria-hidden="true"></span>'


def task_row(
    task: dict[str, Any], zone: str, language: str, now: datetime | None = None
) -> dict[str, Any]:
    """A task as the pages show it: its due and start on the user's clock, in words of
    `language`, and whether it is overdue (open, and its due moment or day has passed)."""
    now = (now or utcnow()).astimezone(zones.zone(zone))
    shown = dict(task)
    shown["due_text"], shown["due_value"], shown["overdue"] = "", "", False
    due = _moment(task.get("due_at"), task.get("due_date"), zone)
    if due is not None:
        shown["due_text"] = when(due, now, language)
        shown["due_value"] = (due.date() if isinstance(due, datetime) else due).isoformat()
        if not task.get("is_completed"):
            shown["overdue"] = due < now if isinstance(due, datetime) else due < now.date()
    start = _moment(task.get("start_at"), task.get("start_date"), zone)
    shown["start_text"] = "" if start is None else when(start, now, language)
    shown["tags"] = list(task.get("tags") or [])
    shown["priority_text"] = _words(language)["priorities"].get(str(task.get("priority")), "")
    return shown


@functools.cache
def _words(language: str) -> dict[str, Any]:
    """The words of a task's line in `language`, looked up once (50 lines a page)."""
    _ = translations(language).gettext
    return {
        "priorities": {"low": _("Low"), "medium": _("Medium"), "high": _("High")},
        "reopen": _("Reopen %(title)s"),
        "complete": _("Complete %(title)s"),
        "overdue": _("Overdue, due %(when)s"),
        "due": _("Due %(when)s"),
        "starts": _("Starts %(when)s"),
        "priority": _("Priority: %(priority)s"),
        "assigned": _("Assigned to %(who)s"),
        "subtasks": _("Subtasks: %(done)s of %(total)s done"),
        "today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "yesterday": _("Yesterday"),
        "day_time": _("%(day)s, %(time)s"),
    }


def with_labels(
    row: dict[str, Any],
    language: str,
    *,
    assignee: str | None = None,
    subtasks: tuple[int, int] | None = None,
    viewed_only: Collection[str] = (),
) -> dict[str, Any]:
    """`row` (task_row's) with its line in a list (`line`, for `_tasks.html`): its checkbox (a
    button of the page's `rows` form, in base.html; none for a task of a list in
    `viewed_only`, the ids of those the person only views), its title (opened beside the list
    with htmx) and its details. Written here with every value escaped, rather than in the
    template: a list page shows 50, and the template's lookups and escaping were most of the
    page's rendering (f-strings and `html.escape`: a third of `str.format` and Markup's cost)."""
    words = _words(language)
    task_id = str(row["id"])
    title = escape(row["title"])
    completed = bool(row.get("is_completed"))
    details = []
    if row["due_text"]:
        said = words["overdue" if row["overdue"] else "due"] % {"when": row["due_text"]}
        details.append(_detail("due overdue" if row["overdue"] else "due", said))
    if row["start_text"]:
        details.append(_detail("start", words["starts"] % {"when": row["start_text"]}))
    if row["priority_text"]:
        said = words["priority"] % {"priority": row["priority_text"]}
        details.append(_detail("priority", said))
    details.extend(_detail("tag", f"@{tag}") for tag in row["tags"])
    if assignee:
        details.append(_detail("assignee", words["assigned"] % {"who": assignee}))
    if subtasks:
        done = {"done": subtasks[0], "total": subtasks[1]}
        details.append(_detail("subtasks", words["subtasks"] % done))
    if count := row.get("comment_count"):
        said = translations(language).ngettext("%(num)d comment", "%(num)d comments", count)
        details.append(_detail("comments", said % {"num": count}))
    if str(row.get("list_id")) in viewed_only:
        check = NO_CHECK
    else:
        action = f"/app/tasks/{task_id}/{'reopen' if completed else 'complete'}"
        label = escape(words["reopen" if completed else "complete"] % {"title": row["title"]})
        check = (
            f'<button type="submit" form="rows" formaction="{action}" hx-post="{action}"'
            ' hx-include="#rows" hx-target="closest li" hx-swap="outerHTML" class="check"'
            f' role="checkbox" aria-checked="{"true" if completed else "false"}"'
            f' aria-label="{label}"></button>'
        )
    row["line"] = Markup(  # noqa: S704 - every value in it escaped above
        f'<li class="task{" completed" if completed else ""}" id="task-{task_id}">\n'
        f"  {check}\n"
        '  <div class="body">\n'
        f'    <a hx-get="/app/tasks/{task_id}" hx-target="#main" hx-select="#main"'
        f' hx-swap="outerHTML" hx-push-url="true" href="/app/tasks/{task_id}">{title}</a>\n'
        f'    <span class="meta">{"".join(details)}</span>\n'
        "  </div>\n"
        "</li>"
    )
    return row


def _detail(kind: str, words: str) -> str:
    return f'<span class="{kind}">{escape(words)}</span>'


def _moment(at: Any, day: Any, zone: str) -> datetime | date | None:
    """A timed moment on the user's clock, or an all-day date, or None."""
    if at:
        moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        return moment.astimezone(zones.zone(zone))
    if day:
        return day if isinstance(day, date) else date.fromisoformat(day)
    return None


def when(moment: datetime | date, now: datetime, language: str) -> str:
    """A day in words when it is near (`Today`, `Tomorrow`, `Yesterday`, the weekday within
    the next days), else its date in the language's form; a time on the user's clock after."""
    if isinstance(moment, datetime):
        day = _day_words(moment.date(), now.date(), language)
        clock = _time_words(moment.time().replace(second=0, microsecond=0), language)
        return str(_words(language)["day_time"] % {"day": day, "time": clock})
    return _day_words(moment, now.date(), language)


# Made once for each (day, today, language): a list's tasks share few days.
@functools.lru_cache(maxsize=4096)
def _day_words(day: date, today: date, language: str) -> str:
    ahead = (day - today).days
    if ahead in (-1, 0, 1):
        return str(_words(language)[{-1: "yesterday", 0: "today", 1: "tomorrow"}[ahead]])
    if 1 < ahead <= WEEKDAY_AHEAD:
        return babel_dates.format_date(day, "EEEE", locale=language)
    return babel_dates.format_date(day, "medium", locale=language)


@functools.lru_cache(maxsize=4096)
def _time_words(clock: time, language: str) -> str:
    return babel_dates.format_time(clock, "short", locale=language)
