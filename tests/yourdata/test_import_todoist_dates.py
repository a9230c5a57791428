"""The Todoist import reads `DATE` as people typed it, in `DATE_LANG`, with the reader of quick
add (todo_api.words), on the import's clock; `@label` words of `CONTENT` are tags.

The reader's clock is fixed (Thursday 26 November 2026, 10:00 in Europe/Berlin); each expected
date is counted here from it.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.yourdata.helpers import import_file, lists_of, tasks_of
from todo_api.words import clock

ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZONE)
TODAY = NOW.date()
HEADER = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))


def weekday(index: int) -> date:
    return TODAY + timedelta(days=(index - TODAY.weekday()) % 7)


def next_date(month: int, day: int) -> date:
    candidate = date(TODAY.year, month, day)
    return candidate if candidate >= TODAY else date(TODAY.year + 1, month, day)


def utc(day: date, hour: int, minute: int = 0) -> str:
    moment = datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# CONTENT, DATE, DATE_LANG, and what the task gets: (due_date, due_at, recurrence).
ROWS = [
    ("Renew passport", "4 Jan", "en", (next_date(1, 4).isoformat(), None, None)),
    ("Dentist", "6 Apr 17:15", "en", (None, utc(next_date(4, 6), 17, 15), None)),
    ("Call grandma", "every sun", "en", (weekday(6).isoformat(), None, "FREQ=WEEKLY;BYDAY=SU")),
    ("Clean the oven", "ev 2 weeks", "en", (TODAY.isoformat(), None, "FREQ=WEEKLY;INTERVAL=2")),
    (
        "Team lunch",
        "every other monday",
        "en",
        (weekday(0).isoformat(), None, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),
    ),
    ("Blumen gießen", "jeden Montag", "de", (weekday(0).isoformat(), None, "FREQ=WEEKLY;BYDAY=MO")),
    ("Zahnarzt", "morgen 17 Uhr", "de", (None, utc(TODAY + timedelta(days=1), 17), None)),
    ("Réunion", "lundi prochain", "fr", (weekday(0).isoformat(), None, None)),
]


def _csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


async def test_todoist_dates_are_read_in_their_language(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    rows = [
        f"task,{title},,4,1,Sam (1),,{when},{lang},Europe/Berlin" for title, when, lang, _ in ROWS
    ]
    async with person() as client:
        answer = await import_file(client, "todoist", _csv(*rows), content_type="text/csv")
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == []
        (made,) = await lists_of(client)
        by_title = {task["title"]: task for task in await tasks_of(client, made["id"])}
        for title, _, _, (due_date, due_at, rule) in ROWS:
            task = by_title[title]
            assert (task["due_date"], task["due_at"], task["recurrence"]) == (
                due_date,
                due_at,
                rule,
            ), title


async def test_labels_in_content_are_tags_and_an_unreadable_date_is_listed(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = _csv(
        "section,Errands,,,,,,,,",
        "task,Buy milk @shop @Urgent,,4,1,Sam (1),,,en,",
        'task,"Read ""@home"" sign",,4,1,Sam (1),,,en,',
        "task,Water the cactus,,4,1,Sam (1),,every full moon,en,",
    )
    async with person() as client:
        answer = await import_file(client, "todoist", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        [skipped] = answer.json()["skipped"]
        assert skipped["line"] == 5
        assert "every full moon" in skipped["reason"]
        (made,) = await lists_of(client)
        by_title = {task["title"]: task for task in await tasks_of(client, made["id"])}
        assert by_title["Buy milk"]["tags"] == ["shop", "urgent"]
        assert by_title['Read "@home" sign']["tags"] == []  # quoted: not read
        cactus = by_title["Water the cactus"]
        assert (cactus["due_date"], cactus["recurrence"]) == (None, None)
