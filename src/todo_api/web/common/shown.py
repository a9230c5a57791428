"""How the pages show values: a task's due and start on the person's clock, in their language,
the near days in words (Today, Tomorrow, Yesterday, a weekday of the coming week) and an
overdue task said to be so; the day the person's weeks start on; time zones by country and
city."""

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, time
from html import escape
from typing import Any

import babel
from babel import Locale
from babel import dates as babel_dates
from babel.core import get_global
from markupsafe import Markup

from todo_api.kit import zones
from todo_api.kit.ids import utcnow
from todo_api.web.common.messages import translations

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
        "reopen_p": _("Reopen %(title)s, priority %(number)s"),
        "complete_p": _("Complete %(title)s, priority %(number)s"),
        "repeats": _("Repeats"),
        "overdue": _("Overdue, due %(when)s"),
        "due": _("Due %(when)s"),
        "starts": _("Starts %(when)s"),
        "assigned": _("Assigned to %(who)s"),
        "subtasks": _("Subtasks: %(done)s of %(total)s done"),
        "today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "yesterday": _("Yesterday"),
        "day_time": _("%(day)s, %(time)s"),
        "parent": _("Subtask of %(title)s"),
    }


def task_line(
    task: Mapping[str, Any],
    zone: str,
    language: str,
    now: datetime,
    *,
    assignee: str | None = None,
    subtasks: tuple[int, int] | None = None,
    files: int = 0,
    viewed_only: Collection[str] = (),
    parent: str | None = None,
    under_parent: bool = False,
) -> Markup:
    """The task's line in a list (for `_tasks.html`): its checkbox (a button of the page's
    `rows` form, in base.html; none for a task of a list in `viewed_only`, the ids of those the
    person only views), its title (opened beside the list with htmx) and its details (due,
    start, priority, tags, assignee, subtasks, comments, `files`), as task_row says them; `now`
    on the person's clock (`zone`). A subtask names its `parent`: on a wide screen only when it
    is not shown `under_parent` (the page's CSS hides the name there).

    Written in Python with every value escaped, rather than in the template: a list page shows
    50, and the template's lookups and escaping were most of the page's rendering. The line is
    made once for each set of what it shows (`_line` sees nothing else): a list shown again,
    as people do all day, costs a lookup a task. Whether the task is overdue is read here each
    time (it changes with the clock alone)."""
    due_at, due_date = task.get("due_at"), task.get("due_date")
    completed = bool(task.get("is_completed"))
    due = _moment(due_at, due_date, zone) if not completed else None
    overdue = due is not None and _passed(due, now)
    return _line(
        task["id"],
        task["title"],
        completed,
        due_at,
        due_date,
        task.get("start_at"),
        task.get("start_date"),
        task.get("priority"),
        tuple(task.get("tags") or ()),
        task.get("comment_count") or 0,
        bool(task.get("recurrence")),
        bool(viewed_only) and str(task.get("list_id")) in viewed_only,
        assignee,
        subtasks,
        zone,
        language,
        now.date(),
        overdue,
        parent,
        under_parent,
        str(task.get("list_id") or ""),
        files,
    )


@functools.lru_cache(maxsize=4096)
def _line(
    task_id: Any,
    title: str,
    completed: bool,
    due_at: Any,
    due_date: Any,
    start_at: Any,
    start_date: Any,
    priority: Any,
    tags: tuple[str, ...],
    comment_count: int,
    repeats: bool,
    viewed: bool,
    assignee: str | None,
    subtasks: tuple[int, int] | None,
    zone: str,
    language: str,
    today: date,
    overdue: bool,
    parent: str | None = None,
    under_parent: bool = False,
    list_id: str = "",
    files: int = 0,
) -> Markup:
    """task_line's line, from what it shows. A detail's words are made once for each value
    (tasks share their days, priorities and tags), and the title is escaped once for the line
    and the checkbox's label. The row's list and due day on the person's clock are in its
    `data-` attributes: static/offline.js places a change made offline by them (views and
    counts)."""
    task_id = str(task_id)
    title = escape(title)
    details = []
    if parent is not None:
        said = escape(_words(language)["parent"] % {"title": parent})
        details.append(f'<span class="parent{" under" if under_parent else ""}">{said}</span>')
    due = _moment(due_at, due_date, zone)
    if due is not None:
        details.append(_due_chip(language, due, today, overdue))
    if repeats:
        details.append(_icon(language, "repeats"))
    start = _moment(start_at, start_date, zone)
    if start is not None:
        details.append(_said(language, "starts", _when(start, today, language)))
    for tag in tags:
        details.append(_tag(tag))
    if assignee:
        details.append(_said(language, "assigned", assignee))
    if subtasks:
        details.append(_said(language, "subtasks", subtasks))
    if comment_count:
        details.append(_said(language, "comments", comment_count))
    if files:
        details.append(_said(language, "files", files))
    if viewed:
        check = NO_CHECK
    else:
        action = f"/app/tasks/{task_id}/{'reopen' if completed else 'complete'}"
        number = PRIORITY_NUMBERS.get(str(priority))
        said = "reopen" if completed else "complete"
        label = _escaped_words(language)[f"{said}_p" if number else said] % {
            "title": title,
            "number": number,
        }
        check = (
            f'<button type="submit" form="rows" formaction="{action}" hx-post="{action}"'
            ' hx-include="#rows" hx-target="closest li" hx-swap="outerHTML" class="check"'
            f' role="checkbox" aria-checked="{"true" if completed else "false"}"'
            f' aria-label="{label}"></button>'
        )
        check = check.replace('class="check"', f'class="check p{number or 4}"', 1)
    return Markup(  # noqa: S704 - every value in it escaped above
        f'<li class="task{" completed" if completed else ""}" id="task-{task_id}"'
        f' data-list="{escape(list_id)}" data-due="{_day_of(due)}">\n'
        f"  {check}\n"
        '  <div class="body">\n'
        f'    <a class="title" hx-get="/app/tasks/{task_id}" hx-target="#main" hx-select="#main"'
        f' hx-swap="outerHTML" hx-push-url="true" href="/app/tasks/{task_id}">{title}</a>\n'
        f'    <span class="meta">{"".join(details)}</span>\n'
        "  </div>\n"
        "</li>"
    )


def lines(rows: Iterable[Mapping[str, Any]], pick_label: object = None) -> Markup:
    """The rows' lines (task_line's), each on a line of its own (`_tasks.html`); a row's
    `children` (its subtasks' rows) in a list of their own inside its line. With `pick_label`
    (`Select %(title)s`, the list chosen from without JavaScript), each row with a checkbox of
    the bulk form (`_select.html`) first."""
    made = "".join(f"\n{_with_children(row)}" for row in rows)
    if pick_label:
        label = escape(str(pick_label))
        made = _ROW_START.sub(lambda found: _with_box(found, label), made)
    return Markup(made)  # noqa: S704 - made safe


# A row's start as _line writes it, up to its title (escaped there) in its link.
_ROW_START = re.compile(
    r'(<li class="task[^"]*" id="task-(?P<id>[^"]+)"[^>]*>)(?P<rest>.*?href="/app/tasks/(?P=id)">'
    r"(?P<title>.*?)</a>)",
    re.S,
)


def _with_box(found: re.Match[str], label: str) -> str:
    box = (
        f'\n  <input type="checkbox" class="pick" name="task" value="{found["id"]}" form="bulk"'
        f' aria-label="{label % {"title": found["title"]}}">'
    )
    return f"{found[1]}{box}{found['rest']}"


def card(row: Mapping[str, Any], inside: str) -> Markup:
    """A board's card: the row's line (with its subtasks' as `lines` shows them) with `inside`
    (markup made by the template: its `Move to…` form) at its end."""
    line = _with_children(row)
    return Markup(f"{line.removesuffix('</li>')}{inside}</li>")  # noqa: S704 - both made safe


def _with_children(row: Mapping[str, Any]) -> str:
    line = str(row["line"])
    children = row.get("children")
    if not children:
        return line
    inner = lines(children)
    return f'{line.removesuffix("</li>")}<ul class="tasks subtasks">{inner}\n</ul>\n</li>'


def now_in(zone: str) -> datetime:
    """This moment on the person's clock (`task_line`'s `now`)."""
    return utcnow().astimezone(zones.zone(zone))


def _passed(moment: datetime | date, now: datetime) -> bool:
    """Whether a due moment (or day) is before `now` (or its day)."""
    return moment < now if isinstance(moment, datetime) else moment < now.date()


@functools.cache
def _escaped_words(language: str) -> dict[str, Any]:
    """_words' sentences escaped: one with a value escaped into it is the sentence escaped,
    since escaping maps each character on its own (`%(title)s` has none it changes)."""
    return {key: escape(value) for key, value in _words(language).items() if isinstance(value, str)}


# A detail of a line: its class, and the sentence of `_words` that says it.
_DETAILS = {
    "starts": ("start", "starts", "when"),
    "assigned": ("assignee", "assigned", "who"),
}


@functools.lru_cache(maxsize=4096)
def _said(language: str, kind: str, value: Any) -> str:
    """A detail's `<span>` in `language`: `kind` with its value (a day, a priority's word, a
    person, (done, total) subtasks, a number of comments or files: an icon and the number,
    named by the sentence)."""
    words = _words(language)
    if kind == "subtasks":
        css, said = "subtasks", words["subtasks"] % {"done": value[0], "total": value[1]}
    elif kind in ("comments", "files"):
        ngettext = translations(language).ngettext
        if kind == "comments":
            plural = ngettext("%(num)d comment", "%(num)d comments", value)
        else:
            plural = ngettext("%(num)d file", "%(num)d files", value)
        said = plural % {"num": value}
        return (
            f'<span class="{kind} icon"><span aria-hidden="true">{value}</span>'
            f'<span class="visually-hidden">{escape(said)}</span></span>'
        )
    else:
        css, sentence, name = _DETAILS[kind]
        said = words[sentence] % {name: value}
    return f'<span class="{css}">{escape(said)}</span>'


# A task's priority as Todoist numbers it: its checkbox's ring (app.css) and accessible name.
PRIORITY_NUMBERS = {"high": 1, "medium": 2, "low": 3}


@functools.lru_cache(maxsize=4096)
def _due_chip(language: str, due: datetime | date, today: date, overdue: bool) -> str:
    """The due's chip, coloured by when (overdue, today, the next days, later: app.css), its
    day (and time) shown and the whole sentence (`Due Tomorrow`) for screen readers."""
    day = due.date() if isinstance(due, datetime) else due
    ahead = (day - today).days
    when_css = " overdue" if overdue else " today" if ahead == 0 else " soon" if ahead <= 7 else ""
    shown = _when(due, today, language)
    said = _words(language)["overdue" if overdue else "due"] % {"when": shown}
    return (
        f'<span class="due chip{when_css}"><span aria-hidden="true">{escape(shown)}</span>'
        f'<span class="visually-hidden">{escape(said)}</span></span>'
    )


@functools.lru_cache(maxsize=256)
def _icon(language: str, kind: str) -> str:
    """An icon (app.css draws it) named by `kind`'s words."""
    named = escape(_words(language)[kind])
    return f'<span class="{kind} icon" role="img" aria-label="{named}"></span>'


@functools.lru_cache(maxsize=4096)
def _tag(tag: str) -> str:
    return f'<span class="tag chip">{escape(f"@{tag}")}</span>'


def _day_of(moment: datetime | date | None) -> str:
    """A moment's day (ISO), or ""."""
    if isinstance(moment, datetime):
        return moment.date().isoformat()
    return moment.isoformat() if moment is not None else ""


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
    return _when(moment, now.date(), language)


def _when(moment: datetime | date, today: date, language: str) -> str:
    if isinstance(moment, datetime):
        day = _day_words(moment.date(), today, language)
        clock = _time_words(moment.time().replace(second=0, microsecond=0), language)
        return str(_words(language)["day_time"] % {"day": day, "time": clock})
    return _day_words(moment, today, language)


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


def day_text(day: date, language: str) -> str:
    """A date in the language's form ("Nov 28, 2026", "28.11.2026")."""
    return babel_dates.format_date(day, "medium", locale=language)


def moment_text(at: datetime | str, zone: str, language: str) -> str:
    """A moment (a comment's, a reminder's, a notification's) on the person's clock: its date
    and time in the language's form, without seconds ("28 Nov 2026, 14:05", "Nov 28, 2026,
    2:05 PM"), as Babel's `medium` date and `short` time joined by the language's pattern."""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    local = moment.astimezone(zones.zone(zone))
    joined = str(babel_dates.get_datetime_format("medium", locale=language)).replace("'", "")
    day = day_text(local.date(), language)
    clock = _time_words(local.time().replace(second=0, microsecond=0), language)
    return joined.replace("{1}", day).replace("{0}", clock)


# Zones of no country (UTC, Etc/GMT+5) keep their IANA names; UTC, the default, comes first.
# The days a person may start their weeks on (accounts.schemas.WeekStart), as date.weekday().
WEEK_STARTS = {"monday": 0, "saturday": 5, "sunday": 6}


def week_start(chosen: str | None, language: str) -> int:
    """The day the person's weeks start on: the one their profile names, else the language's."""
    return WEEK_STARTS[chosen] if chosen in WEEK_STARTS else first_weekday(language)


@functools.cache
def first_weekday(language: str) -> int:
    """The day a week starts on in the language's likeliest region (0 Monday .. 6 Sunday):
    `en` is the United States' Sunday, `de` Germany's Monday."""
    likely = get_global("likely_subtags").get(language, language)
    return int(Locale.parse(likely).first_week_day)


_NO_COUNTRY = frozenset({None, "001", "ZZ"})
EN_DASH = "\u2013"


@functools.cache
def zone_choices(language: str) -> tuple[tuple[str, str], ...]:
    """Every zone a person picks from, as (IANA name, words): Japan, en dash, Tokyo, in the
    language's words for the country and the city (CLDR's, through Babel), sorted as read;
    one entry for a zone and its old names (`Asia/Calcutta` is `Asia/Kolkata`: `zone_alias`)."""
    locale = babel.Locale.parse(language)
    named, unnamed = [], []
    territories: Mapping[str, str] = babel.core.get_global("zone_territories")
    for name in zones.known_zones() - _aliases().keys():
        country = territories.get(name)
        if country in _NO_COUNTRY:
            unnamed.append((name, name))
            continue
        city = babel_dates.get_timezone_location(name, locale=locale, return_city=True)
        named.append((name, f"{locale.territories.get(country, country)} {EN_DASH} {city}"))
    named.sort(key=lambda choice: _reading_order(choice[1]))
    unnamed.sort(key=lambda choice: (choice[0] != zones.DEFAULT_ZONE, choice[0]))
    return tuple(unnamed[:1] + named + unnamed[1:])


def zone_alias(name: str) -> str:
    """The name `zone_choices` lists for the same zone as `name` (itself if it lists it)."""
    return _aliases().get(name, name)


@functools.cache  # read when a page first needs it, not when the app starts
def _aliases() -> dict[str, str]:
    """CLDR's old names of zones, UTC's names led to ours (CLDR's is Etc/UTC)."""
    cldr: Mapping[str, str] = babel.core.get_global("zone_aliases")
    utc = {name for name, canonical in cldr.items() if canonical == "Etc/UTC"} | {"Etc/UTC"}
    aliases = {**cldr, **dict.fromkeys(utc, zones.DEFAULT_ZONE)}
    del aliases[zones.DEFAULT_ZONE]
    return aliases


def _reading_order(text: str) -> str:
    """Letters without their accents, case folded: "Österreich" among the O's."""
    parts = unicodedata.normalize("NFKD", text)
    return "".join(c for c in parts if not unicodedata.combining(c)).casefold()
