"""A view's tasks as a calendar: a month of weeks (or one week with the hours) on the person's
clock, each week starting on the day their profile names or else the language's first day
(Babel's locale data), the dated tasks on their days, a repeating task on each of its
occurrences in the range (the recurrence code's next occurrence, a bounded number of times),
the undated ones in a tray beside.

The range's tasks are read in one statement of the columns shown alone (tasks.pages.range_tasks:
no total, no tags or reminders): the view's filters and "no date, or due in the range's window of
instants, or repeating and due before its end", each then placed on its days on the person's
clock. The grid's cells are written here in one pass, not by the template a cell at a time
(bench/README.md, "web_page.py --calendar")."""

import functools
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from markupsafe import Markup

from todo_api.kit import zones
from todo_api.tasks import recurrence, rules
from todo_api.tasks.listing import ListQuery, TaskFilters
from todo_api.tasks.pages import RangeTask

# How many tasks a month's day shows in its cell; the rest are the day's, by a link ("3 more").
SHOWN_IN_A_DAY = 3
# How many tasks one range reads at most (a month of 500 fits with room).
MOST = 1000
# How many occurrences of one repeating task are followed at most to reach a range's end (a
# daily task overdue for a year, then a month's six weeks): the bound on an odd rule's work.
MOST_OCCURRENCES = 420
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
# Farther than any zone's offset from UTC (as tasks.listing's).
_FARTHEST_OFFSET = timedelta(hours=18)
# The years a calendar shows (the filter language reads dates from 1900 to 2100).
_YEARS = (1901, 2099)


def asked_month(text: str | None, today: date) -> date:
    """The first day of the month `YYYY-MM` asks for (this month's when unread)."""
    if text and _MONTH.fullmatch(text) and _YEARS[0] <= int(text[:4]) <= _YEARS[1]:
        return date(int(text[:4]), int(text[5:]), 1)
    return today.replace(day=1)


def asked_day(text: str | None) -> date | None:
    """The day `YYYY-MM-DD` names, or None."""
    try:
        day = date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None
    return day if day is not None and _YEARS[0] <= day.year <= _YEARS[1] else None


def week_of(day: date, first: int) -> date:
    """The first day of the week `day` is in, weeks starting on `first`."""
    return day - timedelta(days=(day.weekday() - first) % 7)


def month_weeks(month: date, first: int) -> list[list[date]]:
    """The weeks that hold a month's days, each of seven days from `first`."""
    start = week_of(month, first)
    following = (month + timedelta(days=31)).replace(day=1)
    weeks = []
    while start < following:
        weeks.append([start + timedelta(days=n) for n in range(7)])
        start += timedelta(days=7)
    return weeks


def shifted(month: date, months: int) -> date:
    """The first day of the month `months` from `month`'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def range_query(filters: TaskFilters) -> ListQuery:
    """The view's filters, as a range reads them (tasks.pages.range_tasks). The view's own
    bounds (Today's and Upcoming's end) stay: a calendar of Today is today's."""
    return ListQuery(filters=filters, limit=MOST)


def window(first: date, end: date) -> tuple[datetime, datetime]:
    """Instants holding every moment of the days from `first` to before `end` on any clock
    (placed() keeps the tasks of those days on the person's)."""
    return (
        datetime.combine(first, time.min, UTC) - _FARTHEST_OFFSET,
        datetime.combine(end, time.min, UTC) + _FARTHEST_OFFSET,
    )


# A task on a day: its time on the person's clock (None: all day), the task, and whether this
# is a later occurrence than its own due (not the task's due to move).
Entry = tuple[time | None, RangeTask, bool]


@dataclass(slots=True)
class Placed:
    """The range's tasks: by day (timed first, by time), and the undated ones."""

    days: dict[date, list[Entry]] = field(default_factory=dict)
    tray: list[Entry] = field(default_factory=list)


def placed(tasks: Iterable[RangeTask], first: date, end: date, zone: str) -> Placed:
    """Each task on the days from `first` to before `end` it is due on (a repeating one on
    each occurrence there), undated ones in the tray."""
    out = Placed()
    days = out.days
    clock = zones.zone(zone)
    for task in tasks:
        due = task.due_date or task.due_at
        if due is None:
            out.tray.append((None, task, False))
            continue
        on = task.due_date
        if on is not None and not task.recurrence:  # most of a month's: on its date, all day
            if first <= on < end:
                days.setdefault(on, []).append((None, task, False))
            continue
        # A task due once is its due alone (no call for each).
        moments = _occurrences(task, due, end, clock) if task.recurrence else (due,)
        for moment in moments:
            if isinstance(moment, datetime):
                local = moment.astimezone(clock)
                day, shown_time = local.date(), local.time()  # time(): without its zone
            else:
                day, shown_time = moment, None
            if first <= day < end:
                days.setdefault(day, []).append((shown_time, task, moment != due))
    for entries in days.values():
        if len(entries) > 1:
            entries.sort(key=_timed_first)
    return out


def _timed_first(entry: Entry) -> tuple[bool, time]:
    return entry[0] is None, entry[0] or time.min


def _occurrences(task: RangeTask, due: Any, end: date, clock: Any) -> tuple[Any, ...]:
    """The task's due, then (repeating) its next occurrences while they fall before `end`."""
    rule = task.recurrence
    if not rule:
        return (due,)
    start = rules.series_start({**task._asdict(), "start_date": None, "start_at": None})
    return _following(rule, due, task.timezone, start, end, clock)


@functools.lru_cache(maxsize=4096)  # a month's page shown again reads no rule again
def _following(
    rule: str, due: Any, series_zone: str, start: datetime | None, end: date, clock: Any
) -> tuple[Any, ...]:
    found = [due]
    try:
        parsed = recurrence.parse(rule)
    except ValueError:  # a rule stored before it was read as today: its due alone
        return (due,)
    while len(found) < MOST_OCCURRENCES:
        following = recurrence.next_occurrence(parsed, due, zones.zone(series_zone), start)
        if following is None:
            break
        due, parsed = following
        day = due.astimezone(clock).date() if isinstance(due, datetime) else due
        if day >= end:
            break
        found.append(due)
    return tuple(found)


def task_link(
    task: RangeTask, clock: time | None, language: str, movable: bool, repeats: str
) -> str:
    """A task as a calendar shows it: a link to it, its time first (None: all day), its
    priority's colour (`p1` the highest), marked when it repeats (`repeats`, the words naming
    the mark, escaped); `data-fixed` when it is not to be moved (a later occurrence). Written
    as text, escaped here: a month of 500 through a template's macro costs ten times as much."""
    shown = f"<time>{time_text(clock, language)}</time> " if clock is not None else ""
    shown += f"<span>{html.escape(task.title, quote=False)}</span>"
    if task.recurrence:
        shown += f'<span class="cal-repeat" role="img" aria-label="{repeats}">↻</span>'
    priority = task.priority
    fixed = "" if movable else ' draggable="false" data-fixed'
    return (
        f'<a href="/app/tasks/{task.id}" class="cal-task p{4 - priority if priority else 4}"'
        f"{fixed}>{shown}</a>"
    )


def task_list(links: Iterable[str], day: date | None = None) -> str:
    """Tasks' links as a list (none: nothing); `day`, the one they are shown on, for a list
    outside the grid (the chosen day's: static/calendar.js moves its tasks too)."""
    items = "</li><li>".join(links)
    shown_on = f' data-day="{day.isoformat()}"' if day is not None else ""
    return f'<ul class="cal-tasks"{shown_on}><li>{items}</li></ul>' if items else ""


@dataclass(slots=True)
class Day:
    """A day of the grid as the page shows it: its links (each an entry's, with its hour on
    the person's clock, None when all day)."""

    day: date
    name: str  # escaped
    link: str  # escaped
    outside: bool
    today: bool
    chosen: bool
    entries: list[tuple[str, int | None]]
    more: str = ""  # the words of the link to the tasks the cell leaves out (escaped)


def grid_body(weeks: list[list[Day]], week: bool, short_names: list[str], all_day: str) -> Markup:
    """The grid's rows: a month's weeks (each day a cell with its number, its dots on a phone
    and its tasks), or a week's all-day row and then its 24 hours (a timed task in its hour's
    row). `short_names`: the weekdays from the week's first, `all_day` the row header's words
    (both escaped)."""
    out = []
    for days in weeks:
        out.append('<tr role="row">')
        if week:
            out.append(f'<th role="rowheader" scope="row">{all_day}</th>')
        for index, day in enumerate(days):
            classes = "cal-day"
            classes += " outside" if day.outside else ""
            classes += " today" if day.today else ""
            classes += ' chosen" aria-selected="true' if day.chosen else ""
            out.append(
                f'<td role="gridcell" aria-label="{day.name}" data-day="{day.day.isoformat()}"'
                f' class="{classes}">'
            )
            if not week:
                out.append(
                    f'<span class="cal-weekday" aria-hidden="true">{short_names[index]}</span>'
                )
            current = ' aria-current="date"' if day.today else ""
            out.append(
                f'<a class="cal-number" href="{day.link}#cal-day"{current}>{day.day.day}</a>'
            )
            if day.entries:
                dots = "•" * min(len(day.entries), 3)
                out.append(f'<span class="cal-dots" aria-hidden="true">{dots}</span>')
            out.append(task_list(link for link, hour in day.entries if not week or hour is None))
            if day.more:
                out.append(f'<a class="cal-more" href="{day.link}#cal-day">{day.more}</a>')
            out.append("</td>")
        out.append("</tr>\n")
    if week:
        for hour in range(24):
            header = f'<th role="rowheader" scope="row">{hour:02d}:00</th>'
            out.append(f'<tr role="row" class="cal-hour">{header}')
            for day in weeks[0]:
                timed = task_list(link for link, at in day.entries if at == hour)
                out.append(
                    f'<td role="gridcell" aria-label="{day.name}, {hour:02d}:00"'
                    f' data-day="{day.day.isoformat()}">{timed}</td>'
                )
            out.append("</tr>\n")
    return Markup("".join(out))  # noqa: S704 - every value in it escaped by its maker


@functools.lru_cache(maxsize=4096)
def day_name(day: date, language: str) -> str:
    """A day's full date in the language's words (`Saturday, November 28, 2026`)."""
    return babel_dates.format_date(day, "full", locale=language)


@functools.lru_cache(maxsize=1024)
def month_name(month: date, language: str) -> str:
    """A month and its year as the language says them standing alone (`November 2026`)."""
    return babel_dates.format_skeleton("yMMMM", month, locale=language)


@functools.cache
def weekday_names(first: int, language: str) -> list[tuple[str, str]]:
    """The weekdays from `first`: each short (`Mon`) and whole (`Monday`)."""
    names = Locale.parse(language).days["format"]
    days = [(first + n) % 7 for n in range(7)]
    return [(names["abbreviated"][day], names["wide"][day]) for day in days]


@functools.lru_cache(maxsize=4096)
def time_text(clock: time, language: str) -> str:
    return babel_dates.format_time(clock, "short", locale=language)
