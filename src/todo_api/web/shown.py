"""How the pages show values: a task's due and start on the person's clock, in their language,
the near days in words (Today, Tomorrow, Yesterday, a weekday of the coming week) and an
overdue task said to be so."""

from datetime import date, datetime
from typing import Any

from babel import dates as babel_dates
from markupsafe import Markup, escape

from todo_api.kit import zones
from todo_api.kit.ids import utcnow
from todo_api.web.messages import translations

# A day this many days ahead or fewer is named by its weekday.
WEEKDAY_AHEAD = 6

# A task's line in a list (`_tasks.html`): its checkbox (a button of the page's `rows` form,
# in base.html), its title (opened beside the list with htmx), and its details. Written here,
# every value escaped, rather than in the template: a list page shows 50, and the template's
# lookups and escaping were most of the page's rendering.
LINE = (
    '<li class="task{completed}" id="task-{id}">\n'
    '  <button type="submit" form="rows" formaction="{action}" hx-post="{action}"'
    ' hx-include="#rows" hx-target="closest li" hx-swap="outerHTML" class="check"'
    ' role="checkbox" aria-checked="{checked}" aria-label="{label}"></button>\n'
    '  <div class="body">\n'
    '    <a hx-get="/app/tasks/{id}" hx-target="#main" hx-select="#main" hx-swap="outerHTML"'
    ' hx-push-url="true" href="/app/tasks/{id}">{title}</a>\n'
    '    <span class="meta">{details}</span>\n'
    "  </div>\n"
    "</li>"
)
DETAIL = '<span class="{kind}">{words}</span>'


def task_row(
    task: dict[str, Any], zone: str, language: str, now: datetime | None = None
) -> dict[str, Any]:
    """A task as the pages show it: its due and start on the user's clock, in words of
    `language`, and whether it is overdue (open, and its due moment or day has passed)."""
    _ = translations(language).gettext
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
    shown["priority_text"] = {
        "low": _("Low"),
        "medium": _("Medium"),
        "high": _("High"),
    }.get(str(task.get("priority")), "")
    return shown


def with_labels(
    row: dict[str, Any],
    language: str,
    *,
    assignee: str | None = None,
    subtasks: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """`row` (task_row's) with what its line in a list says, made here rather than in the
    template, which renders 50 of them a page: its checkbox's action and name, and its
    details as (class, words) pairs."""
    words = translations(language)
    _ = words.gettext
    title = {"title": row["title"]}
    if row.get("is_completed"):
        row["check_action"] = f"/app/tasks/{row['id']}/reopen"
        row["check_label"] = _("Reopen %(title)s") % title
    else:
        row["check_action"] = f"/app/tasks/{row['id']}/complete"
        row["check_label"] = _("Complete %(title)s") % title
    details = []
    if row["due_text"]:
        if row["overdue"]:
            details.append(("due overdue", _("Overdue, due %(when)s") % {"when": row["due_text"]}))
        else:
            details.append(("due", _("Due %(when)s") % {"when": row["due_text"]}))
    if row["start_text"]:
        details.append(("start", _("Starts %(when)s") % {"when": row["start_text"]}))
    if row["priority_text"]:
        priority = {"priority": row["priority_text"]}
        details.append(("priority", _("Priority: %(priority)s") % priority))
    details.extend(("tag", f"@{tag}") for tag in row["tags"])
    if assignee:
        details.append(("assignee", _("Assigned to %(who)s") % {"who": assignee}))
    if subtasks:
        done = {"done": subtasks[0], "total": subtasks[1]}
        details.append(("subtasks", _("Subtasks: %(done)s of %(total)s done") % done))
    if count := row.get("comment_count"):
        said = words.ngettext("%(num)d comment", "%(num)d comments", count) % {"num": count}
        details.append(("comments", said))
    row["details"] = details
    completed = bool(row.get("is_completed"))
    # Every value escaped here: Markup.format would escape them too, at three times the cost.
    row["line"] = Markup(  # noqa: S704
        LINE.format(
            completed=" completed" if completed else "",
            id=escape(row["id"]),
            action=escape(row["check_action"]),
            checked="true" if completed else "false",
            label=escape(row["check_label"]),
            title=escape(row["title"]),
            details="".join(
                DETAIL.format(kind=escape(kind), words=escape(words)) for kind, words in details
            ),
        )
    )
    return row


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
    _ = translations(language).gettext
    day = moment.date() if isinstance(moment, datetime) else moment
    ahead = (day - now.date()).days
    if ahead == 0:
        text = _("Today")
    elif ahead == 1:
        text = _("Tomorrow")
    elif ahead == -1:
        text = _("Yesterday")
    elif 1 < ahead <= WEEKDAY_AHEAD:
        text = babel_dates.format_date(day, "EEEE", locale=language)
    else:
        text = babel_dates.format_date(day, "medium", locale=language)
    if isinstance(moment, datetime):
        time = babel_dates.format_time(moment, "short", locale=language)
        return _("%(day)s, %(time)s") % {"day": text, "time": time}
    return text
