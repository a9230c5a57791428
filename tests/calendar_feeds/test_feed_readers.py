"""A feed as calendar apps read it: ical.js (Thunderbird's library, from npm, installed once
into tests/dav/ical_readers/node_modules, ignored by git) expands each event's occurrences from
the feed alone (its VTIMEZONEs, RRULE and EXDATEs) to the days and instants the API has, and
icalendar (PyPI) reads the same."""

import asyncio
import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import httpx
import pytest
from dateutil.rrule import rrulestr
from icalendar import Calendar

from tests.calendar_feeds.helpers import fetch, make_feed
from tests.dav.helpers import npm_installed
from tests.tasks.helpers import create_task

READERS = Path(__file__).parent.parent / "dav" / "ical_readers"


@pytest.fixture(scope="session")
def ical_js() -> Path:
    return npm_installed(READERS, "ical.js")


async def _read_by_ical_js(folder: Path, text: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(folder / "feed_events.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(text.encode()), 120)
    assert process.returncode == 0, err.decode()
    read: dict[str, Any] = json.loads(out)
    return read


def _icalendar_occurrences(text: str, uid: str) -> list[Any]:
    """The event's occurrences as icalendar and dateutil read them (RRULE less EXDATE)."""
    [event] = [e for e in Calendar.from_ical(text).walk("VEVENT") if str(e["UID"]) == uid]
    start = _moment(event["DTSTART"].dt)
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start, forceset=True)
    exdates = event.get("EXDATE", [])
    for exdate in exdates if isinstance(exdates, list) else [exdates]:
        for excluded in exdate.dts:
            rule.exdate(_moment(excluded.dt))
    return list(rule)


def _moment(value: date) -> datetime:
    """A date as dateutil expands it (its midnight); a date-time as it is."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


async def test_ical_js_shows_each_task_on_its_days_and_at_its_times(
    ical_js: Path, alice: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    daily = await create_task(
        alice,
        title="Stretch",
        due_at="2026-03-27T08:00:00Z",  # 09:00 in Berlin, before the clocks change on the 29th
        timezone="Europe/Berlin",
        recurrence="FREQ=DAILY;COUNT=6",
    )
    weekly = await create_task(
        alice, title="Bins", due_date="2026-03-02", recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    )
    once = await create_task(
        alice, title="Flight", due_at="2026-10-01T22:15:00Z", timezone="America/New_York"
    )
    trip = await create_task(
        alice, title="Trip, all of it", start_date="2026-08-01", due_date="2026-08-14"
    )
    undated = await create_task(alice, title="Someday")
    for task in (daily, daily, weekly):
        response = await alice.post(f"/api/tasks/{task['id']}/complete")
        assert response.status_code == 200, response.text
    feed = await make_feed(alice, include="all")
    text = (await fetch(anonymous, feed["url"])).text

    read = await _read_by_ical_js(ical_js, text)
    assert set(read["events"]) == {daily["id"], weekly["id"], once["id"], trip["id"]}
    assert read["todos"] == {undated["id"]: "Someday"}
    stretch = read["events"][daily["id"]]
    assert stretch["allDay"] is False
    assert stretch["url"] == f"http://test/app/tasks/{daily['id']}"
    # The 27th and 28th done; 09:00 in Berlin is 07:00 UTC from the 29th (summer time).
    assert stretch["occurrences"] == [
        "2026-03-29T07:00:00.000Z",
        "2026-03-30T07:00:00.000Z",
        "2026-03-31T07:00:00.000Z",
        "2026-04-01T07:00:00.000Z",
    ]
    bins = read["events"][weekly["id"]]
    assert bins["allDay"] is True
    assert bins["occurrences"] == ["2026-03-09", "2026-03-16", "2026-03-23"]
    assert read["events"][once["id"]]["occurrences"] == ["2026-10-01T22:15:00.000Z"]
    whole = read["events"][trip["id"]]
    assert (whole["summary"], whole["occurrences"], whole["end"]) == (
        "Trip, all of it",
        ["2026-08-01"],
        "2026-08-15",
    )

    # icalendar with dateutil reads the same occurrences.
    assert [moment.astimezone(UTC) for moment in _icalendar_occurrences(text, daily["id"])] == [
        datetime.fromisoformat(at) for at in stretch["occurrences"]
    ]
    assert [day.date() for day in _icalendar_occurrences(text, weekly["id"])] == [
        date.fromisoformat(day) for day in bins["occurrences"]
    ]
