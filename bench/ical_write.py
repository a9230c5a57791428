"""What writing a task as a calendar object costs (`todo_api.ical.write`, the body of a
CalDAV object whose task changed since a client last sent it, or was made through the REST
API): 2 000 representative task rows, each written once, as an initial CalDAV sync does.

    .venv/bin/python bench/ical_write.py        # a few seconds; no server, no database

Prints the milliseconds of one CPU per task for `write` and for the icalendar path it falls
back to (`todo_api.ical.reference`), the best of 5 rounds.
"""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from todo_api import ical
from todo_api.ical import reference

NOW = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
ROUNDS = 5


def row(i: int) -> dict[str, Any]:
    """A task as stored: most open, a few with a description, tags, a due time (UTC or a
    zone's), a date, a rule, reminders."""
    due_at = NOW + timedelta(days=i % 30, hours=i % 7) if i % 4 else None
    return {
        "id": uuid.uuid4(),
        "title": f"Buy milk, bread; and eggs {i}",
        "description": "Two litres, semi-skimmed\nfrom the shop on the corner" if i % 3 else None,
        "is_completed": i % 5 == 0,
        "completed_at": NOW if i % 5 == 0 else None,
        "priority": i % 4,
        "tags": ["errands", "home"] if i % 2 else [],
        "due_at": due_at,
        "due_date": date(2026, 12, 1 + i % 28) if due_at is None and i % 8 else None,
        "start_at": due_at - timedelta(hours=2) if due_at is not None and i % 3 == 0 else None,
        "start_date": date(2026, 11, 30) if due_at is None and i % 5 == 2 else None,
        "timezone": "Europe/Berlin" if i % 2 else "UTC",
        "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE" if i % 6 == 1 else None,
        "next_occurrence_id": None,
        "reminders": [{"id": "r1", "before_due": "PT15M"}] if i % 4 == 1 else [],
        "created_at": NOW,
        "updated_at": NOW + timedelta(seconds=i),
        "version": 1 + i % 3,
    }


def per_task(write: Callable[[dict[str, Any]], bytes], rows: list[dict[str, Any]]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for task in rows:
            write(task)
        best = min(best, time.process_time() - start)
    return best / len(rows) * 1000


def main() -> None:
    rows = [row(i) for i in range(2000)]
    written = per_task(lambda task: ical.write(task, uid=str(task["id"])), rows)
    by_icalendar = per_task(lambda t: reference.write(t, str(t["id"]), None, None), rows)
    print(f"write:     {written:.4f} ms per task")
    print(f"icalendar: {by_icalendar:.4f} ms per task")


if __name__ == "__main__":
    main()
