"""A task's start (`start_at` or `start_date`, CalDAV's DTSTART): never both, never after the
task is due; a series that follows its start when it has no due time, and keeps the gap
between start and due; listing by start. On both databases, through /api.

Expected instants are worked out with `zoneinfo` here, never typed in as offsets."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import assert_validation_error, bulk, create_task
from tests.tasks.listing_helpers import walk_pages
from tests.tasks.test_timezones import (
    change,
    day_start,
    get,
    instant,
    listed,
    next_occurrence,
    titles,
)

# --- The fields ----------------------------------------------------------------------------------


async def test_a_task_starts_at_a_time_or_on_a_day(alice: httpx.AsyncClient) -> None:
    timed = await create_task(alice, start_at="2026-12-20T09:00:00+01:00")
    assert (timed["start_at"], timed["start_date"]) == ("2026-12-20T08:00:00Z", None)
    day = await create_task(alice, start_date="2026-12-20", timezone="Europe/Berlin")
    assert (day["start_at"], day["start_date"]) == (None, "2026-12-20")
    plain = await create_task(alice)
    assert (plain["start_at"], plain["start_date"]) == (None, None)
    for task in (timed, day, plain):
        assert await get(alice, task) == task


async def test_a_start_at_makes_the_start_timed_a_start_date_all_day_and_null_clears(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, start_date="2026-12-20", timezone="Europe/Berlin")
    task = await change(alice, task, start_at="2026-12-21T10:00:00Z")
    assert (task["start_at"], task["start_date"]) == ("2026-12-21T10:00:00Z", None)
    task = await change(alice, task, start_date="2026-12-22")
    assert (task["start_at"], task["start_date"]) == (None, "2026-12-22")
    task = await change(alice, task, start_at=None)  # an all-day start stays
    assert task["start_date"] == "2026-12-22"
    task = await change(alice, task, start_date=None)
    assert (task["start_at"], task["start_date"]) == (None, None)


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_both_a_start_at_and_a_start_date_are_refused_naming_start_date(
    alice: httpx.AsyncClient, method: str
) -> None:
    both = {"start_at": "2026-12-20T09:00:00Z", "start_date": "2026-12-20"}
    if method == "post":
        response = await alice.post("/api/tasks", json={"title": "Both", **both})
        assert_validation_error(response, "start_date")
        assert await listed(alice) == []
        return
    task = await create_task(alice, start_date="2026-12-01")
    response = await alice.request(method, f"/api/tasks/{task['id']}", json=both)
    assert_validation_error(response, "start_date")
    assert await get(alice, task) == task


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"start_at": "2026-12-24T10:00:00Z", "due_at": "2026-12-24T09:00:00Z"}, "start_at"),
        ({"start_date": "2026-12-25", "due_date": "2026-12-24"}, "start_date"),
        # The days on the clock of the task's zone: the 25th in Berlin starts at 23:00Z.
        (
            {"start_date": "2026-12-25", "due_at": "2026-12-24T23:30:00Z", "timezone": "UTC"},
            "start_date",
        ),
        (
            {
                "start_at": "2026-12-24T23:30:00Z",
                "due_date": "2026-12-24",
                "timezone": "Asia/Tokyo",
            },
            "start_at",
        ),
    ],
)
async def test_a_start_after_the_due_time_is_refused_naming_the_start(
    alice: httpx.AsyncClient, fields: dict[str, Any], named: str
) -> None:
    response = await alice.post("/api/tasks", json={"title": "Late", **fields})
    assert_validation_error(response, named)
    assert await listed(alice) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"start_at": "2026-12-24T09:00:00Z", "due_at": "2026-12-24T09:00:00Z"},
        {"start_date": "2026-12-24", "due_date": "2026-12-24"},
        # A start on the due day, at any time of it, in the task's zone.
        {"start_at": "2026-12-24T20:00:00Z", "due_date": "2026-12-24", "timezone": "Europe/Berlin"},
        {"start_date": "2026-12-25", "due_at": "2026-12-24T23:30:00Z", "timezone": "Europe/Berlin"},
    ],
)
async def test_a_start_on_or_before_the_due_time_is_taken(
    alice: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    await create_task(alice, **fields)


async def test_a_due_time_moved_before_the_start_is_refused_naming_the_start(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, start_date="2026-12-20", due_date="2026-12-24")
    for method in ("patch", "put"):
        response = await alice.request(
            method, f"/api/tasks/{task['id']}", json={"due_date": "2026-12-19"}
        )
        assert_validation_error(response, "start_date")
    response = await bulk(
        alice, {"op": "update", "id": task["id"], "data": {"start_date": "2027-01-01"}}
    )
    assert_validation_error(response, "operations.0.start_date")
    assert await get(alice, task) == task


async def test_a_new_zone_keeps_the_start_date_and_the_start_instant(
    alice: httpx.AsyncClient,
) -> None:
    day = await create_task(alice, title="day", start_date="2026-12-24", timezone="UTC")
    timed = await create_task(alice, title="timed", start_at="2026-12-24T12:00:00Z")
    day = await change(alice, day, timezone="Pacific/Auckland")
    timed = await change(alice, timed, timezone="Pacific/Auckland")
    assert (day["start_date"], timed["start_at"]) == ("2026-12-24", "2026-12-24T12:00:00Z")
    # The all-day start now sorts at the start of the 24th in Auckland, before noon UTC on the
    # 23rd.
    assert day_start("Pacific/Auckland", "2026-12-24") < datetime(2026, 12, 23, 12, tzinfo=UTC)
    assert await titles(alice, sort="start") == ["day", "timed"]


async def test_bulk_creates_with_a_start_and_refuses_both(alice: httpx.AsyncClient) -> None:
    response = await bulk(
        alice,
        {"op": "create", "data": {"title": "Start", "start_date": "2026-12-20"}},
    )
    assert response.status_code == 200, response.text
    [created] = (r["task"] for r in response.json()["results"])
    assert created["start_date"] == "2026-12-20"
    response = await bulk(
        alice,
        {"op": "create", "data": {"title": "Fine"}},
        {
            "op": "create",
            "data": {
                "title": "Both",
                "start_at": "2026-12-20T00:00:00Z",
                "start_date": "2026-12-20",
            },
        },
    )
    assert_validation_error(response, "operations.1.start_date")
    assert "Fine" not in await titles(alice)


async def test_the_change_feed_carries_the_start(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, start_date="2026-12-20", timezone="Asia/Kolkata")
    [changed] = (await read_feed(alice, wait_for=[task["id"]]))["changes"]
    assert (changed["start_date"], changed["start_at"]) == ("2026-12-20", None)
    assert changed == task


# --- Recurrence ----------------------------------------------------------------------------------


async def test_a_recurring_task_needs_a_due_time_a_due_date_or_a_start(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post("/api/tasks", json={"title": "t", "recurrence": "FREQ=DAILY"})
    assert_validation_error(response, "recurrence")
    task = await create_task(alice, start_date="2026-12-20", recurrence="FREQ=DAILY")
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"start_date": None})
    assert_validation_error(response, "recurrence")
    assert await get(alice, task) == task


async def test_a_series_without_a_due_time_follows_its_start_date(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice, title="Water", start_date="2026-12-20", recurrence="FREQ=WEEKLY", timezone="UTC"
    )
    following = await next_occurrence(alice, task)
    assert (following["start_date"], following["start_at"]) == ("2026-12-27", None)
    assert (following["due_date"], following["due_at"]) == (None, None)
    assert following["recurrence"] == "FREQ=WEEKLY"


async def test_a_series_without_a_due_time_follows_its_start_time_on_the_wall_clock(
    alice: httpx.AsyncClient,
) -> None:
    zone = "Europe/Berlin"
    task = await create_task(
        alice,
        title="Stretch",
        start_at=instant(zone, 2026, 3, 28, 9),
        timezone=zone,
        recurrence="FREQ=DAILY",
    )
    following = await next_occurrence(alice, task)
    # The clocks moved on the 29th: still 09:00 in Berlin.
    assert following["start_at"] == instant(zone, 2026, 3, 29, 9)
    assert following["due_at"] is None


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
async def test_each_next_occurrence_keeps_the_gap_between_start_and_due(
    alice: httpx.AsyncClient, zone: str
) -> None:
    task = await create_task(
        alice,
        title="Shift",
        start_at=instant(zone, 2026, 3, 6, 9),
        due_at=instant(zone, 2026, 3, 6, 17),
        timezone=zone,
        recurrence="FREQ=WEEKLY",
    )
    for week in range(1, 5):  # across the clock change of each zone (March 8 or 29)
        task = await next_occurrence(alice, task)
        day = date(2026, 3, 6) + timedelta(weeks=week)
        assert task["start_at"] == instant(zone, day.year, day.month, day.day, 9)
        assert task["due_at"] == instant(zone, day.year, day.month, day.day, 17)


async def test_an_all_day_start_stays_as_many_days_before_the_due_date(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice,
        title="Report",
        start_date="2026-01-25",
        due_date="2026-01-31",
        recurrence="FREQ=MONTHLY;BYMONTHDAY=-1",
    )
    following = await next_occurrence(alice, task)
    assert (following["start_date"], following["due_date"]) == ("2026-02-22", "2026-02-28")


async def test_a_start_given_to_a_task_with_a_due_time_keeps_its_series(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(
        alice, title="Pay", due_date="2026-12-24", recurrence="FREQ=MONTHLY", timezone="UTC"
    )
    task = await change(alice, task, start_date="2026-12-20")
    following = await next_occurrence(alice, task)
    assert (following["start_date"], following["due_date"]) == ("2027-01-20", "2027-01-24")


async def test_the_ten_year_rule_counts_from_the_start(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/api/tasks",
        json={"title": "t", "start_date": "2026-12-24", "recurrence": "FREQ=YEARLY;INTERVAL=11"},
    )
    assert_validation_error(response, "recurrence")
    response = await alice.post(
        "/api/tasks",
        json={"title": "t", "start_date": "2026-12-24", "recurrence": "FREQ=DAILY;UNTIL=20261224"},
    )
    assert_validation_error(response, "recurrence")
    task = await create_task(alice, start_date="2026-12-24", recurrence="FREQ=YEARLY;INTERVAL=10")
    assert task["recurrence"] == "FREQ=YEARLY;INTERVAL=10"


# --- Listing by start ----------------------------------------------------------------------------


async def _started(client: httpx.AsyncClient) -> dict[str, datetime]:
    """Timed and all-day starts in several zones, two at the same instant; each title with
    the instant it sorts at. One task has no start."""
    made = {
        "timed 10Z": ("2026-12-24T10:00:00Z", None, "UTC"),
        "auckland 24th": (None, "2026-12-24", "Pacific/Auckland"),
        "la 24th": (None, "2026-12-24", "America/Los_Angeles"),
        "utc 24th": (None, "2026-12-24", "UTC"),
        "timed at utc midnight": ("2026-12-24T00:00:00Z", None, "Europe/Berlin"),
        "berlin 25th": (None, "2026-12-25", "Europe/Berlin"),
    }
    sort_at = {}
    for title, (start_at, start_date, zone) in made.items():
        await create_task(
            client, title=title, start_at=start_at, start_date=start_date, timezone=zone
        )
        at = datetime.fromisoformat(start_at) if start_at else day_start(zone, start_date)  # type: ignore[arg-type]
        sort_at[title] = at.astimezone(UTC)
    await create_task(client, title="no start", due_at="2026-12-01T00:00:00Z")
    return sort_at


async def test_sort_by_start_places_an_all_day_start_at_the_start_of_its_date(
    alice: httpx.AsyncClient,
) -> None:
    sort_at = await _started(alice)
    ids = {t["title"]: t["id"] for t in await listed(alice)}
    ascending = sorted(sort_at, key=lambda title: (sort_at[title], ids[title]))
    descending = sorted(sort_at, key=lambda title: (sort_at[title], ids[title]), reverse=True)
    assert sort_at["utc 24th"] == sort_at["timed at utc midnight"]  # ties go by id
    for sort, expected in (("start", ascending), ("-start", descending)):
        assert await titles(alice, sort=sort) == [*expected, "no start"]
        for limit in (1, 2, 4):  # keyset pages: every task once, in order
            walked = await walk_pages(alice, [("sort", sort), ("limit", limit)])
            assert [t["title"] for t in walked] == [*expected, "no start"], (sort, limit)


async def test_start_before_and_after_place_an_all_day_start_at_the_start_of_its_date(
    alice: httpx.AsyncClient,
) -> None:
    sort_at = await _started(alice)
    cut = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    before = sorted(await titles(alice, start_before=cut.isoformat()))
    after = sorted(await titles(alice, start_after=cut.isoformat()))
    assert before == sorted(t for t, at in sort_at.items() if at < cut)
    assert after == sorted(t for t, at in sort_at.items() if at >= cut)
    assert "auckland 24th" in before
    assert "la 24th" in after
    # With the other filters, and sorted by start, paged.
    walked = await walk_pages(
        alice, [("start_after", cut.isoformat()), ("sort", "-start"), ("limit", 1)]
    )
    assert sorted(t["title"] for t in walked) == after
    response = await alice.get("/api/tasks", params={"start_before": "yesterday"})
    assert_validation_error(response, "start_before")


def test_the_document_shows_the_start(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for model in ("TaskCreate", "TaskUpdate"):
        properties = components[model]["properties"]
        start_date = next(o for o in properties["start_date"]["anyOf"] if o.get("type") == "string")
        assert start_date["format"] == "date"
        start_at = next(o for o in properties["start_at"]["anyOf"] if o.get("type") == "string")
        assert start_at["format"] == "date-time"
    assert {"start_at", "start_date"} <= set(components["TaskRead"]["required"])
    parameters = schema["paths"]["/api/tasks"]["get"]["parameters"]
    names = {p["name"] for p in parameters}
    assert {"start_before", "start_after"} <= names
    [sort] = [p for p in parameters if p["name"] == "sort"]
    assert {"start", "-start"} <= set(sort["schema"]["enum"])


@pytest.mark.parametrize(
    "fields",
    [
        {"start_date": "9999-12-31", "timezone": "Pacific/Kiritimati", "recurrence": "FREQ=DAILY"},
        {"start_date": "0001-01-01", "timezone": "Pacific/Kiritimati", "recurrence": "FREQ=YEARLY"},
        {"start_date": "0001-01-01", "timezone": "Asia/Tokyo", "due_date": "0001-01-02"},
        {
            "start_at": "9999-12-31T23:00:00Z",
            "timezone": "Pacific/Kiritimati",
            "recurrence": "FREQ=DAILY",
        },
        {
            "start_at": "0001-01-01T00:00:00Z",
            "due_at": "0001-01-01T01:00:00Z",
            "timezone": "America/Adak",
            "recurrence": "FREQ=DAILY",
        },
        {
            "start_date": "9999-12-30",
            "due_date": "9999-12-31",
            "timezone": "Pacific/Kiritimati",
            "recurrence": "FREQ=DAILY",
        },
    ],
)
async def test_starts_at_the_ends_of_the_calendar_are_taken_or_refused_never_a_500(
    alice: httpx.AsyncClient, fields: dict[str, str]
) -> None:
    response = await alice.post("/api/tasks", json={"title": "Edge", **fields})
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        assert_validation_error(response, "recurrence")
        return
    task = response.json()
    assert task["start_date"] == fields.get("start_date")
    for params in ({"sort": "start"}, {"sort": "-start"}, {"start_after": "9999-12-31T00:00:00Z"}):
        listing = await alice.get("/api/tasks", params=params)
        assert listing.status_code == 200, listing.text
    moved = await alice.patch(f"/api/tasks/{task['id']}", json={"timezone": "Pacific/Pago_Pago"})
    assert moved.status_code in (200, 400), moved.text
    completed = await alice.post(f"/api/tasks/{task['id']}/complete")
    assert completed.status_code == 200, completed.text
