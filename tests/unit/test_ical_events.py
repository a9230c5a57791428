"""A calendar feed's events are written by hand (todo_api.ical.events) with the lines of
`direct`: icalendar reads back, for many generated tasks, what each task has (its title,
description and tags however they are escaped and folded, its day or its instant, its span and
rule, its page), and the calendar holds one VTIMEZONE for each zone its events name."""

import datetime as dt
import random
import uuid

import pytest
from icalendar import Calendar

from tests.unit.test_ical_plain import ZONES, random_task
from todo_api.ical import events


def shown(rng: random.Random) -> dict[str, object]:
    """A generated task as the API shows it (an all-day due or start has no instant)."""
    task = random_task(rng)
    task["id"] = uuid.UUID(int=rng.getrandbits(128))
    task["due_at"] = None if task["due_date"] is not None else task["due_at"]
    task["start_at"] = None if task["start_date"] is not None else task["start_at"]
    return task


def as_read(text: str) -> str:
    """TEXT as a reader gives it back: every line end one LF (RFC 5545 has no CR)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def seconds(value: object) -> object:
    """A moment to the second, as iCalendar writes it."""
    return value.replace(microsecond=0) if isinstance(value, dt.datetime) else value


@pytest.mark.parametrize("seed", range(40))
def test_icalendar_reads_back_what_each_event_has(seed: int) -> None:
    rng = random.Random(seed)
    tasks = [shown(rng) for _ in range(25)]
    components = []
    for task in tasks:
        url = f"https://todo.example/app/tasks/{task['id']}"
        if events.dated(task):
            components.append(events.event(task, url=url))
        else:
            components.append((events.todo(task, url=url), None))
    written = events.calendar("Täglich; mit, Zeichen", components)
    calendar = Calendar.from_ical(written)
    # TEXT escaped, as Google's and Apple's calendars write (and read) their names.
    assert "X-WR-CALNAME:Täglich\\; mit\\, Zeichen\r\n".encode() in written
    found = {str(c["UID"]): c for c in calendar.walk() if c.name in {"VEVENT", "VTODO"}}
    assert set(found) == {str(task["id"]) for task in tasks}
    named = set()
    for task in tasks:
        read = found[str(task["id"])]
        assert read.name == ("VEVENT" if events.dated(task) else "VTODO")
        assert str(read["SUMMARY"]) == as_read(str(task["title"]))
        assert str(read.get("DESCRIPTION", "")) == as_read(str(task["description"] or ""))
        tags = read.get("CATEGORIES")
        assert ([] if tags is None else [str(tag) for tag in tags.cats]) == [
            as_read(str(tag))
            for tag in task["tags"]  # type: ignore[attr-defined]
        ]
        assert str(read["URL"]) == f"https://todo.example/app/tasks/{task['id']}"
        if read.name == "VTODO":
            continue
        due = task["due_date"] or task["due_at"]
        start = task["start_date"] or task["start_at"]
        both = due is not None and start is not None
        spans = both and (task["due_date"] is None) == (task["start_date"] is None)
        first = start if spans or due is None else due
        assert read["DTSTART"].dt == seconds(first)
        for name in ("DTSTART", "DTEND"):
            if name in read and "TZID" in read[name].params:
                named.add(str(read[name].params["TZID"]))
        if spans:
            end = read["DTEND"].dt
            after = due + dt.timedelta(days=1) if task["due_date"] else due  # type: ignore[operator]
            assert end == seconds(after)
        else:
            assert "DTEND" not in read
        assert ("RRULE" in read) == (task["recurrence"] is not None)
    assert {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")} == named
    assert named <= set(ZONES)
