"""Time on the user's clock: a task's `timezone` and all-day `due_date`, recurrence on the wall
clock of the task's zone, and listing by due time with both kinds of task.

Expected instants are worked out with `zoneinfo` here, never typed in as offsets."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.accounts.test_timezone import set_zone
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import assert_validation_error, create_task


def instant(zone: str, *wall: int, fold: int = 0) -> str:
    """The UTC instant of a wall-clock time in a zone, as the API writes it."""
    local = datetime(*wall, tzinfo=ZoneInfo(zone), fold=fold)  # type: ignore[misc]
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(zone: str, day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), ZoneInfo(zone))


async def get(client: httpx.AsyncClient, task: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task['id']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def change(client: httpx.AsyncClient, task: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = await client.patch(f"/api/tasks/{task['id']}", json=fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/tasks", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


async def titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [t["title"] for t in await listed(client, **params)]


async def next_occurrence(client: httpx.AsyncClient, task: dict[str, Any]) -> dict[str, Any]:
    """Complete the task and give back the occurrence that completing it created."""
    response = await client.post(f"/api/tasks/{task['id']}/complete")
    assert response.status_code == 200, response.text
    following = [t for t in await listed(client, completed="false") if t["title"] == task["title"]]
    assert len(following) == 1, following
    return following[0]


async def series(client: httpx.AsyncClient, task: dict[str, Any], count: int) -> list[Any]:
    """The due time (or date) of the task and of the next `count` occurrences."""
    dues, zone = [task["due_at"] or task["due_date"]], task["timezone"]
    for _ in range(count):
        task = await next_occurrence(client, task)
        assert task["timezone"] == zone
        dues.append(task["due_at"] or task["due_date"])
    return dues


# --- The fields ----------------------------------------------------------------------------------


async def test_an_all_day_task_shows_its_date_and_no_due_at(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_date="2026-12-24", timezone="Europe/Berlin")
    assert (task["due_date"], task["due_at"], task["timezone"]) == (
        "2026-12-24",
        None,
        "Europe/Berlin",
    )
    assert await get(alice, task) == task


async def test_a_timed_task_shows_no_date(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at="2026-12-24T18:00:00+01:00", due_date=None)
    assert (task["due_at"], task["due_date"], task["timezone"]) == (
        "2026-12-24T17:00:00Z",
        None,
        "UTC",
    )


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_both_a_due_at_and_a_due_date_are_refused_naming_due_date(
    alice: httpx.AsyncClient, method: str
) -> None:
    both = {"due_at": "2026-12-24T09:00:00Z", "due_date": "2026-12-24"}
    if method == "post":
        response = await alice.post("/api/tasks", json={"title": "Both", **both})
        assert_validation_error(response, "due_date")
        assert await listed(alice) == []
        return
    task = await create_task(alice, due_date="2026-12-01")
    response = await alice.request(method, f"/api/tasks/{task['id']}", json=both)
    assert_validation_error(response, "due_date")
    assert await get(alice, task) == task


@pytest.mark.parametrize(
    "due_date",
    [
        pytest.param("2026-02-30", id="no-such-day"),
        pytest.param("2027-02-29", id="not-a-leap-year"),
        pytest.param("24.12.2026", id="dotted"),
        pytest.param("2026-12-24T00:00:00Z", id="date-time"),
        pytest.param("2026-12-24T00:00:00", id="naive-date-time"),
        pytest.param("20261224", id="basic-format"),
        pytest.param(1798070400, id="number"),
        pytest.param("", id="empty"),
    ],
)
async def test_a_bad_due_date_is_refused_naming_it(alice: httpx.AsyncClient, due_date: Any) -> None:
    response = await alice.post("/api/tasks", json={"title": "Bad", "due_date": due_date})
    assert_validation_error(response, "due_date")
    task = await create_task(alice, due_date="2026-12-01")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"due_date": due_date})
    assert_validation_error(response, "due_date")
    assert [t["id"] for t in await listed(alice)] == [task["id"]]
    assert await get(alice, task) == task


@pytest.mark.parametrize("zone", ["Mars/Olympus", "utc+1", "", 3, "../UTC", None])
async def test_a_bad_task_zone_is_refused_naming_it(alice: httpx.AsyncClient, zone: Any) -> None:
    response = await alice.post("/api/tasks", json={"title": "Bad", "timezone": zone})
    assert_validation_error(response, "timezone")
    task = await create_task(alice, timezone="Asia/Kolkata")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"timezone": zone})
    assert_validation_error(response, "timezone")
    assert await get(alice, task) == task


async def test_a_due_at_makes_an_all_day_task_timed_and_a_due_date_the_other_way(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_date="2026-12-24")
    timed = await change(alice, task, due_at="2026-12-24T15:00:00Z")
    assert (timed["due_at"], timed["due_date"]) == ("2026-12-24T15:00:00Z", None)
    all_day = await change(alice, timed, due_date="2026-12-25")
    assert (all_day["due_at"], all_day["due_date"]) == (None, "2026-12-25")
    response = await alice.put(
        f"/api/tasks/{task['id']}", json={"due_at": "2026-12-26T08:00:00Z", "due_date": None}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["due_at"], response.json()["due_date"]) == (
        "2026-12-26T08:00:00Z",
        None,
    )


async def test_null_clears_either_and_a_null_due_at_leaves_a_date(alice: httpx.AsyncClient) -> None:
    all_day = await create_task(alice, due_date="2026-12-24")
    kept = await change(alice, all_day, due_at=None)
    assert (kept["due_at"], kept["due_date"]) == (None, "2026-12-24")
    assert [t["id"] for t in await listed(alice, due_on="2026-12-24")] == [all_day["id"]]
    cleared = await change(alice, all_day, due_date=None)
    assert (cleared["due_at"], cleared["due_date"]) == (None, None)
    assert await listed(alice, due_before="2100-01-01T00:00:00Z") == []
    timed = await create_task(alice, due_at="2026-12-24T09:00:00Z")
    assert (await change(alice, timed, due_date=None))["due_at"] == "2026-12-24T09:00:00Z"
    assert (await change(alice, timed, due_at=None))["due_at"] is None


async def test_a_new_zone_keeps_the_instant_of_a_timed_task_and_the_date_of_an_all_day_one(
    alice: httpx.AsyncClient,
) -> None:
    timed = await create_task(alice, title="timed", due_at="2026-12-24T09:00:00Z")
    all_day = await create_task(alice, title="day", due_date="2026-12-24", timezone="UTC")
    for task in (timed, all_day):
        moved = await change(alice, task, timezone="Pacific/Auckland")
        assert moved["timezone"] == "Pacific/Auckland"
        assert (moved["due_at"], moved["due_date"]) == (task["due_at"], task["due_date"])
    # The all-day task now starts when the 24th starts in Auckland: before the UTC day.
    auckland_start = day_start("Pacific/Auckland", "2026-12-24").astimezone(UTC)
    assert await titles(alice, due_before=auckland_start.isoformat()) == []
    after = auckland_start + timedelta(seconds=1)
    assert await titles(alice, due_before=after.isoformat()) == ["day"]


# --- Recurrence on the wall clock ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        pytest.param("Europe/Berlin", (2026, 10, 23), id="berlin-autumn"),
        pytest.param("Europe/Berlin", (2026, 3, 27), id="berlin-spring"),
        pytest.param("America/New_York", (2026, 10, 30), id="new-york-autumn"),
        pytest.param("America/New_York", (2026, 3, 6), id="new-york-spring"),
        pytest.param("Asia/Kolkata", (2026, 12, 30), id="kolkata"),
    ],
)
async def test_a_daily_task_stays_at_nine_local_across_a_clock_change(
    alice: httpx.AsyncClient, zone: str, first: tuple[int, int, int]
) -> None:
    task = await create_task(
        alice, due_at=instant(zone, *first, 9), timezone=zone, recurrence="FREQ=DAILY"
    )
    start = date(*first)
    expected = [instant(zone, *(start + timedelta(days=n)).timetuple()[:3], 9) for n in range(5)]
    assert await series(alice, task, 4) == expected
    offsets = {ZoneInfo(zone).utcoffset(datetime.fromisoformat(e)) for e in expected}
    assert len(offsets) == (1 if zone == "Asia/Kolkata" else 2)  # the UTC time moved


async def test_a_weekly_monday_task_in_auckland_falls_on_auckland_mondays(
    alice: httpx.AsyncClient,
) -> None:
    """09:00 on a Monday in Auckland is a Sunday in UTC."""
    zone = "Pacific/Auckland"
    first = instant(zone, 2026, 9, 21, 9)  # a Monday; New Zealand's clocks go forward on the 27th
    assert datetime.fromisoformat(first).weekday() == 6
    task = await create_task(alice, due_at=first, timezone=zone, recurrence="FREQ=WEEKLY;BYDAY=MO")
    dues = await series(alice, task, 3)
    assert dues == [instant(zone, 2026, 9, day, 9) for day in (21, 28)] + [
        instant(zone, 2026, 10, day, 9) for day in (5, 12)
    ]
    for due in dues:
        assert datetime.fromisoformat(due).astimezone(ZoneInfo(zone)).weekday() == 0


async def test_byday_names_the_weekday_in_los_angeles(alice: httpx.AsyncClient) -> None:
    """20:00 on a Friday in Los Angeles is a Saturday in UTC."""
    zone = "America/Los_Angeles"
    task = await create_task(
        alice,
        due_at=instant(zone, 2026, 12, 4, 20),
        timezone=zone,
        recurrence="FREQ=WEEKLY;BYDAY=FR,MO",
    )
    assert await series(alice, task, 2) == [
        instant(zone, 2026, 12, 4, 20),
        instant(zone, 2026, 12, 7, 20),
        instant(zone, 2026, 12, 11, 20),
    ]


async def test_a_time_in_the_gap_takes_the_offset_before_it(alice: httpx.AsyncClient) -> None:
    """02:30 on the night Berlin's clocks jump from 02:00 to 03:00 is 03:30 (RFC 5545), on
    that day only: the series is at 02:30 again the next day."""
    zone = "Europe/Berlin"
    task = await create_task(
        alice, due_at=instant(zone, 2026, 3, 28, 2, 30), timezone=zone, recurrence="FREQ=DAILY"
    )
    following = await next_occurrence(alice, task)
    assert following["due_at"] == instant(zone, 2026, 3, 28 + 1, 2, 30)
    local = datetime.fromisoformat(following["due_at"]).astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) == (3, 30)
    assert await series(alice, following, 2) == [
        following["due_at"],
        instant(zone, 2026, 3, 30, 2, 30),
        instant(zone, 2026, 3, 31, 2, 30),
    ]
    for due in (await series(alice, following, 0))[1:]:
        assert datetime.fromisoformat(due).astimezone(ZoneInfo(zone)).hour == 2


@pytest.mark.parametrize(
    ("zone", "rule", "first", "expected"),
    [
        pytest.param(
            "Europe/Berlin",
            "FREQ=MONTHLY;BYDAY=-1SU",
            (2026, 2, 22, 2, 30),
            [(2026, 3, 29, 2, 30), (2026, 4, 26, 2, 30), (2026, 5, 31, 2, 30)],
            id="berlin-last-sunday",
        ),
        pytest.param(
            "America/New_York",
            "FREQ=WEEKLY;BYDAY=SU",
            (2026, 3, 1, 2, 15),
            [(2026, 3, 8, 2, 15), (2026, 3, 15, 2, 15), (2026, 3, 22, 2, 15)],
            id="new-york-sundays",
        ),
        pytest.param(
            "Australia/Lord_Howe",  # its clocks go forward half an hour, 02:00 to 02:30
            "FREQ=DAILY;INTERVAL=2",
            (2026, 10, 2, 2, 10),
            [(2026, 10, 4, 2, 10), (2026, 10, 6, 2, 10), (2026, 10, 8, 2, 10)],
            id="lord-howe-half-hour",
        ),
        pytest.param(
            "America/Santiago",  # its clocks go forward at midnight
            "FREQ=MONTHLY;BYDAY=1SU",
            (2025, 8, 3, 0, 30),
            [(2025, 9, 7, 0, 30), (2025, 10, 5, 0, 30), (2025, 11, 2, 0, 30)],
            id="santiago-midnight",
        ),
    ],
)
async def test_every_occurrence_after_a_gap_is_at_the_series_time_again(
    alice: httpx.AsyncClient,
    zone: str,
    rule: str,
    first: tuple[int, ...],
    expected: list[tuple[int, ...]],
) -> None:
    """Each occurrence is the series' own wall-clock time, moved only on a day it does not
    exist (one of the expected times here falls in a gap of the zone)."""
    task = await create_task(alice, due_at=instant(zone, *first), timezone=zone, recurrence=rule)
    dues = await series(alice, task, len(expected))
    assert dues == [instant(zone, *first)] + [instant(zone, *wall) for wall in expected]
    walls = [datetime.fromisoformat(due).astimezone(ZoneInfo(zone)) for due in dues]
    moved = [wall for wall in walls if wall.time() != walls[0].time()]
    assert len(moved) == 1  # the one in the gap, read with the offset before it


async def test_a_write_that_keeps_the_due_time_keeps_the_series_and_a_new_one_restarts_it(
    alice: httpx.AsyncClient,
) -> None:
    zone = "Europe/Berlin"
    task = await create_task(
        alice, due_at=instant(zone, 2026, 3, 28, 2, 30), timezone=zone, recurrence="FREQ=DAILY"
    )
    moved = await next_occurrence(alice, task)  # 03:30 on the day of the gap
    same = {"due_at": moved["due_at"], "timezone": zone, "recurrence": "FREQ=DAILY"}
    kept = await change(alice, moved, title="Renamed", **same)
    assert (await next_occurrence(alice, kept))["due_at"] == instant(zone, 2026, 3, 30, 2, 30)

    other = await create_task(
        alice,
        title="Other",
        due_at=instant(zone, 2026, 3, 28, 2, 30),
        timezone=zone,
        recurrence="FREQ=DAILY",
    )
    shifted = await next_occurrence(alice, other)
    restarted = await change(alice, shifted, due_at=instant(zone, 2026, 3, 29, 8, 0))
    assert (await next_occurrence(alice, restarted))["due_at"] == instant(zone, 2026, 3, 30, 8)


@pytest.mark.parametrize("way", ["patch", "bulk"])
async def test_the_series_time_holds_whichever_way_the_task_is_completed(
    alice: httpx.AsyncClient, way: str
) -> None:
    zone = "Europe/Berlin"
    first = await create_task(
        alice, due_at=instant(zone, 2026, 3, 28, 2, 30), timezone=zone, recurrence="FREQ=DAILY"
    )
    task = await next_occurrence(alice, first)  # 03:30 on the day of the gap
    if way == "patch":
        response = await alice.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
    else:
        operations = [{"op": "complete", "id": task["id"]}]
        response = await alice.post("/api/tasks/bulk", json={"operations": operations})
    assert response.status_code == 200, response.text
    [following] = await listed(alice, completed="false")
    assert following["due_at"] == instant(zone, 2026, 3, 30, 2, 30)


async def test_a_repeated_time_is_its_first_occurrence(alice: httpx.AsyncClient) -> None:
    """02:30 on the night Berlin's clocks go back from 03:00 to 02:00 happens twice."""
    zone = "Europe/Berlin"
    task = await create_task(
        alice, due_at=instant(zone, 2026, 10, 24, 2, 30), timezone=zone, recurrence="FREQ=DAILY"
    )
    following = await next_occurrence(alice, task)
    first, second = (instant(zone, 2026, 10, 25, 2, 30, fold=fold) for fold in (0, 1))
    assert first != second
    assert following["due_at"] == first


async def test_a_new_zone_moves_the_later_occurrences_to_its_wall_clock(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice, due_at="2026-12-01T09:00:00Z", timezone="UTC", recurrence="FREQ=DAILY"
    )
    moved = await change(alice, task, timezone="Asia/Kolkata")  # 14:30 there
    following = await next_occurrence(alice, moved)
    assert following["due_at"] == instant("Asia/Kolkata", 2026, 12, 2, 14, 30)


@pytest.mark.parametrize(
    ("rule", "first", "expected"),
    [
        pytest.param("FREQ=DAILY", "2026-01-30", ["2026-01-31", "2026-02-01"], id="month-end"),
        pytest.param("FREQ=DAILY", "2028-02-28", ["2028-02-29", "2028-03-01"], id="leap-day"),
        pytest.param("FREQ=DAILY", "2026-12-31", ["2027-01-01", "2027-01-02"], id="year-end"),
        pytest.param(
            "FREQ=MONTHLY", "2026-01-31", ["2026-03-31", "2026-05-31"], id="monthly-on-the-31st"
        ),
        pytest.param("FREQ=YEARLY", "2028-02-29", ["2032-02-29", "2036-02-29"], id="yearly-29-feb"),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-24", ["2026-12-25", "2026-12-28"], id="weekly"
        ),
    ],
)
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
async def test_an_all_day_task_recurs_by_date(
    alice: httpx.AsyncClient, rule: str, first: str, expected: list[str], zone: str
) -> None:
    task = await create_task(alice, due_date=first, timezone=zone, recurrence=rule)
    occurrences = []
    for _ in expected:
        task = await next_occurrence(alice, task)
        assert (task["due_at"], task["timezone"]) == (None, zone)
        occurrences.append(task["due_date"])
    assert occurrences == expected


async def test_until_as_a_date_ends_an_all_day_series_on_that_date(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice,
        due_date="2026-12-23",
        timezone="Pacific/Auckland",
        recurrence="FREQ=DAILY;UNTIL=20261225",
    )
    assert await series(alice, task, 2) == ["2026-12-23", "2026-12-24", "2026-12-25"]
    # The series' last task: completing it makes no other.
    [last] = await listed(alice, completed="false")
    assert last["due_date"] == "2026-12-25"
    response = await alice.post(f"/api/tasks/{last['id']}/complete")
    assert response.status_code == 200, response.text
    assert await listed(alice, completed="false") == []


async def test_until_bounds_the_instants_of_a_timed_task(alice: httpx.AsyncClient) -> None:
    """09:00 in Berlin on 2 December is 08:00 UTC: an UNTIL at 08:00Z takes it, 07:59:59Z not."""
    zone = "Europe/Berlin"
    until = datetime.fromisoformat(instant(zone, 2026, 12, 2, 9)).strftime("%Y%m%dT%H%M%SZ")
    task = await create_task(
        alice,
        title="taken",
        due_at=instant(zone, 2026, 12, 1, 9),
        timezone=zone,
        recurrence=f"FREQ=DAILY;UNTIL={until}",
    )
    following = await next_occurrence(alice, task)
    assert following["due_at"] == instant(zone, 2026, 12, 2, 9)
    earlier = datetime.fromisoformat(instant(zone, 2026, 12, 2, 9)) - timedelta(seconds=1)
    response = await alice.post(
        "/api/tasks",
        json={
            "title": "refused",
            "due_at": instant(zone, 2026, 12, 1, 9),
            "timezone": zone,
            "recurrence": f"FREQ=DAILY;UNTIL={earlier.strftime('%Y%m%dT%H%M%SZ')}",
        },
    )
    assert_validation_error(response, "recurrence")


async def test_a_recurring_task_needs_a_due_at_or_a_due_date(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "t", "recurrence": "FREQ=DAILY"})
    assert_validation_error(response, "recurrence")
    task = await create_task(alice, due_date="2026-12-24", recurrence="FREQ=DAILY")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"due_date": None})
    assert_validation_error(response, "recurrence")
    assert await get(alice, task) == task


async def test_the_ten_year_rule_counts_from_a_due_date(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/api/tasks",
        json={"title": "t", "due_date": "2026-12-24", "recurrence": "FREQ=YEARLY;INTERVAL=11"},
    )
    assert_validation_error(response, "recurrence")
    task = await create_task(alice, due_date="2026-12-24", recurrence="FREQ=YEARLY;INTERVAL=10")
    assert task["recurrence"] == "FREQ=YEARLY;INTERVAL=10"


# --- Listing by due time -------------------------------------------------------------------------


async def test_due_on_lists_timed_tasks_by_the_callers_zone_and_all_day_tasks_by_date(
    alice: httpx.AsyncClient,
) -> None:
    await set_zone(alice, "Europe/Berlin")
    # 23:30 UTC on the 24th is the 25th in Berlin.
    await create_task(alice, title="late", due_at="2026-12-24T23:30:00Z")
    await create_task(
        alice, title="berlin morning", due_at=instant("Europe/Berlin", 2026, 12, 24, 0)
    )
    await create_task(
        alice, title="auckland day", due_date="2026-12-24", timezone="Pacific/Auckland"
    )
    await create_task(alice, title="la day", due_date="2026-12-24", timezone="America/Los_Angeles")
    await create_task(alice, title="next day", due_date="2026-12-25", timezone="Pacific/Auckland")
    await create_task(alice, title="undated")
    assert sorted(await titles(alice, due_on="2026-12-24")) == [
        "auckland day",
        "berlin morning",
        "la day",
    ]
    assert sorted(await titles(alice, due_on="2026-12-25")) == ["late", "next day"]
    # The caller moves: timed tasks follow the caller's new clock, all-day ones their dates
    # (Berlin's midnight is the 23rd in UTC).
    await set_zone(alice, "UTC")
    assert sorted(await titles(alice, due_on="2026-12-24")) == ["auckland day", "la day", "late"]
    assert await titles(alice, due_on="2026-12-23") == ["berlin morning"]
    await set_zone(alice, "Asia/Kolkata")
    assert sorted(await titles(alice, due_on="2026-12-25")) == ["late", "next day"]


async def test_due_on_combines_with_the_other_filters(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="a", due_date="2026-12-24", tags=["home"], priority="high")
    await create_task(alice, title="b", due_date="2026-12-24", tags=["work"], priority="high")
    await create_task(alice, title="c", due_at="2026-12-24T12:00:00Z", tags=["home"])
    done = await create_task(alice, title="d", due_at="2026-12-24T13:00:00Z", tags=["home"])
    await change(alice, done, is_completed=True)
    assert sorted(await titles(alice, due_on="2026-12-24", tag="home")) == ["a", "c", "d"]
    assert await titles(alice, due_on="2026-12-24", tag="home", completed="true") == ["d"]
    assert await titles(alice, due_on="2026-12-24", priority="high", tag="work") == ["b"]
    assert await titles(alice, due_on="2026-12-24", q="c", sort="due_at") == ["c"]
    response = await alice.get("/api/tasks", params={"due_on": "2026-12-24", "limit": 1})
    assert response.headers["x-total-count"] == "4"


@pytest.mark.parametrize(
    ("day", "zone"),
    [
        ("2026-12-24", "Pacific/Kiritimati"),  # UTC+14
        ("2026-12-24", "Etc/GMT+12"),  # UTC-12
        ("1850-06-01", "America/Sitka"),  # local mean time, +14:58 (Russian America)
        ("1840-06-01", "Asia/Manila"),  # local mean time, -15:56 (before the 1844 date change)
    ],
)
async def test_due_on_finds_all_day_tasks_of_the_farthest_zones(
    alice: httpx.AsyncClient, day: str, zone: str
) -> None:
    task = await create_task(alice, due_date=day, timezone=zone)
    for caller in ("Pacific/Kiritimati", "Etc/GMT+12"):
        await set_zone(alice, caller)
        assert [t["id"] for t in await listed(alice, due_on=day)] == [task["id"]]


@pytest.mark.parametrize(
    "due_on", ["2026-02-30", "24.12.2026", "2026-12-24T00:00:00Z", "20261224", "", "today"]
)
async def test_a_bad_due_on_is_refused_naming_it(alice: httpx.AsyncClient, due_on: str) -> None:
    response = await alice.get("/api/tasks", params={"due_on": due_on})
    assert_validation_error(response, "due_on")


async def test_due_on_at_the_ends_of_the_calendar_is_an_empty_list(
    alice: httpx.AsyncClient,
) -> None:
    await set_zone(alice, "Pacific/Kiritimati")
    for day in ("0001-01-01", "9999-12-31"):
        assert await listed(alice, due_on=day) == []


async def mixed_tasks(client: httpx.AsyncClient) -> dict[str, datetime]:
    """Timed and all-day tasks in several zones, two of them due at the same instant; each
    title with the instant it sorts at."""
    made = {
        "timed 10Z": ("2026-12-24T10:00:00Z", None, "UTC"),
        "auckland 24th": (None, "2026-12-24", "Pacific/Auckland"),
        "la 24th": (None, "2026-12-24", "America/Los_Angeles"),
        "kolkata 24th": (None, "2026-12-24", "Asia/Kolkata"),
        "utc 24th": (None, "2026-12-24", "UTC"),
        "timed at utc midnight": ("2026-12-24T00:00:00Z", None, "Europe/Berlin"),
        "berlin 25th": (None, "2026-12-25", "Europe/Berlin"),
        "timed 23Z": ("2026-12-24T23:00:00Z", None, "UTC"),
    }
    sort_at = {}
    for title, (due_at, due_date, zone) in made.items():
        await create_task(client, title=title, due_at=due_at, due_date=due_date, timezone=zone)
        at = datetime.fromisoformat(due_at) if due_at else day_start(zone, due_date)  # type: ignore[arg-type]
        sort_at[title] = at.astimezone(UTC)
    await create_task(client, title="undated")
    return sort_at


async def test_sort_by_due_at_places_an_all_day_task_at_the_start_of_its_date_in_its_zone(
    alice: httpx.AsyncClient,
) -> None:
    sort_at = await mixed_tasks(alice)
    tasks = await listed(alice)
    ids = {t["title"]: uuid.UUID(t["id"]) for t in tasks}
    expected = sorted(sort_at, key=lambda title: (sort_at[title], ids[title]))
    assert await titles(alice, sort="due_at") == [*expected, "undated"]
    descending = sorted(sort_at, key=lambda title: (sort_at[title], ids[title]), reverse=True)
    assert await titles(alice, sort="-due_at") == [*descending, "undated"]
    # "utc 24th" and "timed at utc midnight" are due at the same instant: ties go by id.
    assert sort_at["utc 24th"] == sort_at["timed at utc midnight"]
    for order in ("due_at", "-due_at"):
        paged, cursor = [], None
        while True:
            params: dict[str, Any] = {"sort": order, "limit": 2}
            if cursor:
                params["cursor"] = cursor
            response = await alice.get("/api/tasks", params=params)
            assert response.status_code == 200, response.text
            paged += [t["title"] for t in response.json()]
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                break
        assert paged == [*(expected if order == "due_at" else descending), "undated"]


async def test_due_before_and_after_place_an_all_day_task_at_the_start_of_its_date(
    alice: httpx.AsyncClient,
) -> None:
    sort_at = await mixed_tasks(alice)
    cut = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    before = sorted(await titles(alice, due_before=cut.isoformat()))
    after = sorted(await titles(alice, due_after=cut.isoformat()))
    assert before == sorted(t for t, at in sort_at.items() if at < cut)
    assert after == sorted(t for t, at in sort_at.items() if at >= cut)
    assert "auckland 24th" in before
    assert "la 24th" in after


# --- Everywhere a task appears -------------------------------------------------------------------


async def test_the_change_feed_carries_the_fields(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_date="2026-12-24", timezone="Asia/Kolkata")
    [changed] = (await read_feed(alice, wait_for=[task["id"]]))["changes"]
    assert (changed["due_date"], changed["due_at"], changed["timezone"]) == (
        "2026-12-24",
        None,
        "Asia/Kolkata",
    )
    assert changed == task


async def test_bulk_creates_and_updates_with_the_fields_and_refuses_both(
    alice: httpx.AsyncClient,
) -> None:
    timed = await create_task(alice, due_at="2026-12-24T09:00:00Z")
    response = await alice.post(
        "/api/tasks/bulk",
        json={
            "operations": [
                {
                    "op": "create",
                    "data": {"title": "Eve", "due_date": "2026-12-24", "timezone": "Europe/Berlin"},
                },
                {"op": "update", "id": timed["id"], "data": {"timezone": "America/New_York"}},
            ]
        },
    )
    assert response.status_code == 200, response.text
    created, updated = (r["task"] for r in response.json()["results"])
    assert (created["due_date"], created["due_at"], created["timezone"]) == (
        "2026-12-24",
        None,
        "Europe/Berlin",
    )
    assert (updated["due_at"], updated["timezone"]) == ("2026-12-24T09:00:00Z", "America/New_York")
    both = {"due_at": "2026-12-24T09:00:00Z", "due_date": "2026-12-24"}
    response = await alice.post(
        "/api/tasks/bulk",
        json={
            "operations": [
                {"op": "create", "data": {"title": "Fine"}},
                {"op": "update", "id": timed["id"], "data": both},
            ]
        },
    )
    assert_validation_error(response, "operations.1.due_date")
    assert "Fine" not in await titles(alice)


def test_the_document_shows_the_fields_with_examples(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for model in ("TaskCreate", "TaskUpdate"):
        properties = components[model]["properties"]
        due_date = next(o for o in properties["due_date"]["anyOf"] if o.get("type") == "string")
        assert due_date["format"] == "date"
        assert due_date["examples"] == ["2026-12-24"]
        assert properties["timezone"]["type"] == "string"  # null is no zone
        assert properties["timezone"]["examples"] == ["Europe/Berlin"]
    read = components["TaskRead"]
    assert {"due_date", "timezone"} <= set(read["required"])
    parameters = schema["paths"]["/api/tasks"]["get"]["parameters"]
    [due_on] = [p for p in parameters if p["name"] == "due_on"]
    assert "2026-12-24" in str(due_on)


@pytest.mark.parametrize(
    "fields",
    [
        {"due_date": "9999-12-31", "timezone": "Pacific/Kiritimati", "recurrence": "FREQ=DAILY"},
        {"due_date": "0001-01-01", "timezone": "Pacific/Kiritimati", "recurrence": "FREQ=YEARLY"},
        {"due_date": "9999-12-31", "timezone": "America/Adak"},
        {"due_date": "0001-01-01", "timezone": "Asia/Tokyo"},
        {
            "due_at": "9999-12-31T23:00:00Z",
            "timezone": "Pacific/Kiritimati",
            "recurrence": "FREQ=DAILY",
        },
        {"due_at": "0001-01-01T00:00:00Z", "timezone": "America/Adak", "recurrence": "FREQ=DAILY"},
    ],
)
async def test_the_ends_of_the_calendar_in_far_zones_are_taken_or_refused_never_a_500(
    alice: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    response = await alice.post("/api/tasks", json={"title": "Edge", **fields})
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert_validation_error(response, "recurrence")
        return
    task = response.json()
    assert task["due_date"] == fields.get("due_date")
    for params in ({"sort": "due_at"}, {"sort": "-due_at"}, {"due_on": "9999-12-31"}):
        listing = await alice.get("/api/tasks", params=params)
        assert listing.status_code == 200, listing.text
    moved = await alice.patch(f"/api/tasks/{task['id']}", json={"timezone": "Pacific/Pago_Pago"})
    assert moved.status_code in (200, 400), moved.text
