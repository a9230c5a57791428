"""What finding a recurring task's next occurrence costs (`todo_api.tasks.recurrence`), for the
rules calendars write and for rules that match nothing or almost nothing (where dateutil, left
to itself, looks period after period up to year 9999), beside plain dateutil on the same rule
when that finishes within a few seconds.

    .venv/bin/python bench/recurrence_next.py        # ~1 min; no server, no database

Each figure is the median of a few calls (milliseconds of one CPU), on a due time in 2026 in
Europe/Berlin, and for the series started ten years before it (a long series).
"""

import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dateutil import rrule

from todo_api.tasks import recurrence

ZONE = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 3, 27, 2, 30)
RULES = [
    ("daily", "FREQ=DAILY"),
    ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
    ("last Friday", "FREQ=MONTHLY;BYDAY=-1FR"),
    ("last weekday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
    ("29 February", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
    ("29 February, a Monday (2044)", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"),
    ("31 February (never)", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"),
    ("daily, 31 April (never)", "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"),
    ("every 2 days, 30 February (never)", "FREQ=DAILY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=30"),
    ("weekly, 2nd of 1 a week (never)", "FREQ=WEEKLY;BYMONTH=1;BYSETPOS=2"),
    ("monthly, 6th Monday (never)", "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6"),
    ("day 366 in January (never)", "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1"),
]


def milliseconds(call: Callable[[], object], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        start = time.process_time()
        call()
        spent.append(time.process_time() - start)
    return statistics.median(spent) * 1000


def main() -> None:
    due = DUE.replace(tzinfo=ZONE).astimezone(UTC)
    long_ago = DUE.replace(year=DUE.year - 10)
    print("| rule | next (service) | service | series of 10 years | plain dateutil |")
    print("|---|---|---:|---:|---:|")
    for name, text in RULES:
        rule = recurrence.parse(text)
        found = recurrence.next_occurrence(rule, due, ZONE)
        service = milliseconds(functools.partial(recurrence.next_occurrence, rule, due, ZONE))
        series = milliseconds(
            functools.partial(recurrence.next_occurrence, rule, due, ZONE, long_ago)
        )
        plain = rrule.rrulestr(f"RRULE:{text}", dtstart=DUE)
        started = time.process_time()
        plain.after(DUE)
        plain_ms = (time.process_time() - started) * 1000
        when = "none"
        if found is not None and isinstance(found[0], datetime):
            when = found[0].astimezone(ZONE).strftime("%Y-%m-%d %H:%M")
        print(f"| {name} | {when} | {service:.2f} | {series:.2f} | {plain_ms:.1f} |")


if __name__ == "__main__":
    main()
