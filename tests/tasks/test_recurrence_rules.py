"""Every RRULE part RFC 5545 defines from FREQ=DAILY to YEARLY, through the API: a task's next
occurrences are dateutil's for the same rule started at the task's first due time on the wall
clock of its zone, whatever the rule, the zone and its clock changes.

dateutil is the reference, run as any client would run it, on the rule as written. It looks up
to year 9999 for an occurrence of a rule that matches nothing; so it runs here 7 600 years later
(19 cycles of 400 Gregorian years: the same weekdays and leap years), where it stops looking
after a few hundred years."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dateutil import rrule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tasks.helpers import assert_validation_error, create_task
from todo_api.tasks.recurrence import RULE_PATTERN

CYCLES = 7600
TEN_YEARS = timedelta(days=3653)
# Zones with clock changes at 02:00, 02:30 (half an hour, Lord Howe), midnight (Santiago), on
# the other side of the date line (Auckland), a half-hour offset (St John's), and none.
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Auckland",
    "America/St_Johns",
    "Asia/Kolkata",
    "UTC",
]
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def reference(rule: str, start: datetime, all_day: bool, count: int) -> list[datetime]:
    """dateutil's first `count` local occurrences after `start`, each after the day of the one
    before for an all-day task, and each within ten years of the one before."""
    series = rrule.rrulestr(f"RRULE:{rule}", dtstart=_moved(start, CYCLES))
    found: list[datetime] = []
    previous = start
    for _ in range(count):
        after = datetime.combine(previous.date(), time.max) if all_day else previous
        following = series.after(_moved(after, CYCLES))
        if following is None or following.year - CYCLES > previous.year + 11:
            break
        following = _moved(following, -CYCLES)
        if following > previous + TEN_YEARS:
            break
        found.append(following)
        previous = following
    return found


def _moved(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def _numbers(values: list[int]) -> str:
    return ",".join(map(str, values))


def _signed(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high).flatmap(lambda n: st.sampled_from([n, -n]))


@st.composite
def rules(draw: st.DrawFn) -> str:
    """A rule RFC 5545 allows, of every part it defines for these frequencies (no COUNT or
    UNTIL: their meaning on a task is tested in test_recurrence)."""
    frequency = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={frequency}"]

    def sometimes(chance: int) -> bool:
        return draw(st.integers(1, chance)) == 1

    def listed(values: st.SearchStrategy[int], most: int = 3) -> str:
        return _numbers(draw(st.lists(values, min_size=1, max_size=most, unique=True)))

    if sometimes(3):
        parts.append(f"INTERVAL={draw(st.integers(1, 5))}")
    if sometimes(3):
        parts.append(f"BYMONTH={listed(st.integers(1, 12))}")
    weeks = frequency == "YEARLY" and sometimes(4)
    if weeks:
        parts.append(f"BYWEEKNO={listed(_signed(1, 53), 2)}")
    if frequency == "YEARLY" and sometimes(4):
        parts.append(f"BYYEARDAY={listed(_signed(1, 366))}")
    if frequency != "WEEKLY" and sometimes(3):
        parts.append(f"BYMONTHDAY={listed(_signed(1, 31))}")
    if sometimes(2):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=4, unique=True))
        if frequency in ("MONTHLY", "YEARLY") and not weeks and sometimes(2):
            in_a_month = frequency == "MONTHLY" or any(p.startswith("BYMONTH=") for p in parts)
            ordinals = _signed(1, 5) if in_a_month else _signed(1, 53)
            days = [f"{draw(st.one_of(_signed(1, 5), ordinals))}{day}" for day in days]
        parts.append(f"BYDAY={','.join(days)}")
    if sometimes(6):
        parts.append(f"BYHOUR={draw(st.integers(0, 23))}")
    if sometimes(8):
        parts.append(f"BYMINUTE={draw(st.integers(0, 59))}")
    if sometimes(10):
        parts.append(f"BYSECOND={draw(st.integers(0, 59))}")
    if any(part.startswith("BY") for part in parts) and sometimes(3):
        positions = st.sampled_from([1, -1]) if frequency == "DAILY" else _signed(1, 4)
        parts.append(f"BYSETPOS={listed(positions, 2)}")
    if sometimes(4):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    return ";".join(draw(st.permutations(parts)))


@st.composite
def starts(draw: st.DrawFn) -> tuple[str, datetime, bool]:
    """A zone, a local start near its clock changes (nights, around March, April, September,
    October, November) or anywhere, and whether the task is all-day."""
    zone = draw(st.sampled_from(ZONES))
    month = draw(st.sampled_from([1, 3, 4, 9, 10, 11, 12, draw(st.integers(1, 12))]))
    day = draw(st.integers(1, 31 if month != 2 else 28).filter(lambda d: _exists(month, d)))
    hour = draw(st.sampled_from([0, 1, 2, 3, 9, 23]))
    minute = draw(st.sampled_from([0, 30, 59]))
    wall = datetime(draw(st.integers(2024, 2032)), month, day, hour, minute)
    return zone, wall, draw(st.integers(1, 5)) == 1


def _exists(month: int, day: int) -> bool:
    return day <= (30 if month in (4, 6, 9, 11) else 31)


async def open_tasks(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/tasks", params={"completed": "false"})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rule=rules(), start=starts())
async def test_the_next_occurrences_are_dateutils_for_the_rule_from_the_first_due_time(
    new_user_client: Callable[..., httpx.AsyncClient],
    rule: str,
    start: tuple[str, datetime, bool],
) -> None:
    zone, wall, all_day = start
    if all_day:
        first: datetime = datetime.combine(wall.date(), time.min)
        due = {"due_date": wall.date().isoformat()}
    else:  # a time in a gap is read with the offset before it: the series starts at the instant
        instant = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        first = instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None, fold=0)
        due = {"due_at": instant.isoformat()}
    expected = reference(rule, first, all_day, 3)
    async with new_user_client() as client:  # a fresh user for every example
        created = await client.post(
            "/api/tasks", json={"title": "t", "timezone": zone, "recurrence": rule, **due}
        )
        if not expected:  # nothing within ten years: refused
            assert_validation_error(created, "recurrence")
            return
        assert created.status_code == 201, created.text
        task = created.json()
        assert re.fullmatch(RULE_PATTERN, task["recurrence"])  # what the document says it writes
        for occurrence in expected:
            completed = await client.post(f"/api/tasks/{task['id']}/complete")
            assert completed.status_code == 200, completed.text
            [task] = await open_tasks(client)
            if all_day:
                assert task["due_date"] == occurrence.date().isoformat(), (rule, zone, first)
            else:
                moment = occurrence.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)  # fold=0
                assert task["due_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ"), (rule, zone, first)
        if len(expected) < 3:  # the next is more than ten years away: the series ends
            completed = await client.post(f"/api/tasks/{task['id']}/complete")
            assert completed.status_code == 200, completed.text
            assert await open_tasks(client) == []


# --- What calendars write -------------------------------------------------------------------


def berlin(*wall: int) -> str:
    moment = datetime(*wall, tzinfo=ZoneInfo("Europe/Berlin"))  # type: ignore[misc]
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def dues(client: httpx.AsyncClient, task: dict[str, Any], count: int) -> list[str]:
    """The due times of the next `count` occurrences, completing each."""
    found = []
    for _ in range(count):
        completed = await client.post(f"/api/tasks/{task['id']}/complete")
        assert completed.status_code == 200, completed.text
        [task] = await open_tasks(client)
        found.append(task["due_at"] or task["due_date"])
    return found


@pytest.mark.parametrize(
    ("rule", "first", "expected"),
    [
        pytest.param(
            "FREQ=MONTHLY;BYMONTHDAY=15",
            (2026, 1, 15),
            [(2026, 2, 15), (2026, 3, 15), (2026, 4, 15)],
            id="monthly-on-the-15th",
        ),
        pytest.param(
            "FREQ=MONTHLY;BYDAY=-1FR",
            (2026, 1, 30),
            [(2026, 2, 27), (2026, 3, 27), (2026, 4, 24)],
            id="last-friday-of-the-month",
        ),
        pytest.param(
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3",
            (2026, 3, 3),
            [(2027, 3, 3), (2028, 3, 3), (2029, 3, 3)],
            id="yearly-on-3-march",
        ),
        pytest.param(
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            (2026, 1, 30),
            [(2026, 2, 27), (2026, 3, 31), (2026, 4, 30)],
            id="last-weekday-of-the-month",
        ),
        pytest.param(
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
            (2026, 11, 26),
            [(2027, 11, 25), (2028, 11, 23), (2029, 11, 22)],
            id="thanksgiving",
        ),
        pytest.param(
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            (2026, 12, 28),
            [(2027, 1, 4), (2028, 1, 3), (2029, 1, 1)],
            id="monday-of-week-1",
        ),
        pytest.param(
            "FREQ=YEARLY;BYYEARDAY=-1",
            (2026, 12, 31),
            [(2027, 12, 31), (2028, 12, 31), (2029, 12, 31)],
            id="last-day-of-the-year",
        ),
        pytest.param(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            (2026, 8, 4),
            [(2026, 8, 16), (2026, 8, 18), (2026, 8, 30)],
            id="fortnightly-weeks-from-sunday",
        ),
        pytest.param(
            # dateutil's first week runs from the start (a Wednesday): BYSETPOS picks from
            # its Thursday and Friday; three weeks on, from the whole week.
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH,FR;BYSETPOS=2,-1",
            (2024, 1, 17),
            [(2024, 1, 19), (2024, 2, 8), (2024, 2, 9)],
            id="positions-in-the-first-week",
        ),
        pytest.param(
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            (2028, 2, 29),
            [(2032, 2, 29), (2036, 2, 29), (2040, 2, 29)],
            id="29-february",
        ),
    ],
)
async def test_rules_as_calendars_write_them(
    alice: httpx.AsyncClient,
    rule: str,
    first: tuple[int, int, int],
    expected: list[tuple[int, int, int]],
) -> None:
    task = await create_task(
        alice, due_at=berlin(*first, 9), timezone="Europe/Berlin", recurrence=rule
    )
    assert await dues(alice, task, 3) == [berlin(*day, 9) for day in expected]
    # And dateutil agrees.
    reference_dates = reference(rule, datetime(*first, 9), False, 3)
    assert [day.timetuple()[:3] for day in reference_dates] == expected


async def test_an_all_day_task_on_the_last_weekday_of_the_month_recurs_by_date(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice,
        due_date="2026-01-30",
        timezone="Pacific/Auckland",
        recurrence="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    )
    assert await dues(alice, task, 2) == ["2026-02-27", "2026-03-31"]


async def test_byhour_sets_the_time_of_the_next_occurrences(alice: httpx.AsyncClient) -> None:
    task = await create_task(
        alice,
        due_at=berlin(2026, 6, 1, 8),
        timezone="Europe/Berlin",
        recurrence="FREQ=DAILY;BYHOUR=17;BYMINUTE=30",
    )
    assert await dues(alice, task, 2) == [berlin(2026, 6, 1, 17, 30), berlin(2026, 6, 2, 17, 30)]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31",
        "FREQ=YEARLY;BYYEARDAY=366;BYDAY=MO;BYMONTH=1",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=WEEKLY;BYMONTH=6;BYSETPOS=3",
        "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6,9,11",
        # Some, but more than ten years apart: 29 February on a Monday (2044, 2072).
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    ],
)
@pytest.mark.parametrize("due_at", ["2026-03-02T09:00:00Z", "2095-06-01T09:00:00Z"])
async def test_a_rule_with_no_occurrence_within_ten_years_is_refused_naming_recurrence(
    alice: httpx.AsyncClient, rule: str, due_at: str
) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "t", "due_at": due_at, "recurrence": rule}
    )
    details = assert_validation_error(response, "recurrence")
    assert "10 years" in details[0]["message"]
    assert reference(rule, datetime.fromisoformat(due_at).replace(tzinfo=None), False, 1) == []


async def test_a_series_ends_when_its_next_occurrence_is_more_than_ten_years_away(
    alice: httpx.AsyncClient,
) -> None:
    """29 February on a Monday: 2044, then 2072."""
    rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    task = await create_task(alice, due_date="2040-01-01", recurrence=rule)
    assert await dues(alice, task, 1) == ["2044-02-29"]
    [last] = await open_tasks(alice)
    completed = await alice.post(f"/api/tasks/{last['id']}/complete")
    assert completed.status_code == 200, completed.text
    assert await open_tasks(alice) == []
    assert date(2072, 2, 29).weekday() == 0
