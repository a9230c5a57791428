"""Recurring tasks: an RRULE subset (RFC 5545) validated on input, needing a due date; completing
a recurring task keeps it and moves it to its next occurrence, once per completion however
the completions come."""

import asyncio
from typing import Any

import httpx
import pytest

from tests.tasks.helpers import assert_validation_error, create_task, user_id_of
from tests.tasks.listing_helpers import ids

MONDAY = "2026-03-02T09:00:00Z"


async def all_tasks(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/tasks", params={"limit": 100, "sort": "created_at"})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()
    return tasks


async def complete(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.post(f"/api/tasks/{task_id}/complete")
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


# --- Validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("rrule:freq=daily;interval=1", "FREQ=DAILY"),
        ("FREQ=MONTHLY;INTERVAL=2;COUNT=5", "FREQ=MONTHLY;INTERVAL=2;COUNT=5"),
        ("COUNT=5;FREQ=YEARLY", "FREQ=YEARLY;COUNT=5"),
        ("FREQ=YEARLY;UNTIL=20301231", "FREQ=YEARLY;UNTIL=20301231T235959Z"),
        ("FREQ=DAILY;UNTIL=20301231T120000Z", "FREQ=DAILY;UNTIL=20301231T120000Z"),
        (" FREQ=DAILY ; INTERVAL=3 ", "FREQ=DAILY;INTERVAL=3"),
        ("FREQ=WEEKLY;BYDAY=FR,MO,FR", "FREQ=WEEKLY;BYDAY=FR,MO"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=MONTHLY;BYMONTHDAY=15"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        ("freq=yearly;bymonthday=+03;bymonth=03", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3"),
        (
            "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        (
            "WKST=SU;BYDAY=+2MO,-1SU;BYMONTH=12,1;FREQ=YEARLY;INTERVAL=2",
            "FREQ=YEARLY;INTERVAL=2;BYMONTH=12,1;BYDAY=2MO,-1SU;WKST=SU",
        ),
        ("FREQ=YEARLY;BYDAY=MO;BYWEEKNO=-1,+1", "FREQ=YEARLY;BYWEEKNO=-1,1;BYDAY=MO"),
        ("FREQ=YEARLY;BYYEARDAY=1,-1,1", "FREQ=YEARLY;BYYEARDAY=1,-1"),
        ("FREQ=DAILY;BYSECOND=0;BYMINUTE=5;BYHOUR=7", "FREQ=DAILY;BYHOUR=7;BYMINUTE=5;BYSECOND=0"),
        ("FREQ=DAILY;BYSETPOS=1;BYDAY=MO", "FREQ=DAILY;BYDAY=MO;BYSETPOS=1"),
    ],
)
async def test_a_valid_rule_is_taken_and_stored_normalised(
    alice: httpx.AsyncClient, given: str, stored: str
) -> None:
    created = await create_task(alice, due_at=MONDAY, recurrence=given)

    assert created["recurrence"] == stored
    assert (await alice.get(f"/api/tasks/{created['id']}")).json()["recurrence"] == stored


INVALID_RULES = [
    pytest.param("INTERVAL=2", ["FREQ"], id="no-freq"),
    pytest.param("FREQ=HOURLY", ["FREQ"], id="hourly"),
    pytest.param("FREQ=SECONDLY", ["FREQ"], id="secondly"),
    pytest.param("FREQ=DAILY;FREQ=WEEKLY", ["FREQ", "twice"], id="freq-twice"),
    pytest.param("FREQ", ["FREQ"], id="no-value"),
    pytest.param("", ["FREQ"], id="empty"),
    pytest.param("FREQ=DAILY;INTERVAL=0", ["INTERVAL"], id="interval-zero"),
    pytest.param("FREQ=DAILY;INTERVAL=two", ["INTERVAL"], id="interval-word"),
    pytest.param("FREQ=DAILY;INTERVAL=-1", ["INTERVAL"], id="interval-negative"),
    pytest.param("FREQ=DAILY;COUNT=0", ["COUNT"], id="count-zero"),
    pytest.param("FREQ=WEEKLY;BYDAY=XX", ["BYDAY"], id="byday-unknown"),
    pytest.param("FREQ=WEEKLY;BYDAY=1MO", ["BYDAY"], id="byday-ordinal"),
    pytest.param("FREQ=WEEKLY;BYDAY=MO,", ["BYDAY"], id="byday-trailing-comma"),
    pytest.param("FREQ=DAILY;UNTIL=soon", ["UNTIL"], id="until-word"),
    pytest.param("FREQ=DAILY;UNTIL=2030-12-31", ["UNTIL"], id="until-iso"),
    pytest.param("FREQ=DAILY;COUNT=2;UNTIL=20300101", ["COUNT", "UNTIL"], id="count-and-until"),
    pytest.param("FREQ=HOURLY;INTERVAL=2", ["HOURLY", "once a day"], id="hourly-says-so"),
    pytest.param("FREQ=MINUTELY", ["MINUTELY", "once a day"], id="minutely"),
    pytest.param("FREQ=DAILY;BYEASTER=1", ["BYEASTER is not an RRULE part"], id="byeaster"),
    pytest.param("FREQ=DAILY;X=1;Y=2", ["X, Y are not RRULE parts"], id="unknown-parts"),
    pytest.param("FREQ=DAILY;BYMONTH=13", ["BYMONTH", "1 to 12"], id="bymonth-13"),
    pytest.param("FREQ=DAILY;BYMONTH=-1", ["BYMONTH"], id="bymonth-negative"),
    pytest.param("FREQ=MONTHLY;BYMONTHDAY=0", ["BYMONTHDAY"], id="bymonthday-zero"),
    pytest.param("FREQ=MONTHLY;BYMONTHDAY=32", ["BYMONTHDAY"], id="bymonthday-32"),
    pytest.param("FREQ=YEARLY;BYYEARDAY=367", ["BYYEARDAY"], id="byyearday-367"),
    pytest.param("FREQ=YEARLY;BYWEEKNO=54", ["BYWEEKNO"], id="byweekno-54"),
    pytest.param("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", ["BYSETPOS"], id="bysetpos-zero"),
    pytest.param("FREQ=MONTHLY;BYDAY=54MO", ["BYDAY"], id="byday-ordinal-54"),
    pytest.param("FREQ=MONTHLY;BYDAY=0MO", ["BYDAY"], id="byday-ordinal-zero"),
    pytest.param("FREQ=DAILY;WKST=XX", ["WKST"], id="wkst-unknown"),
    # What RFC 5545 (3.3.10) says a rule of the frequency must not hold.
    pytest.param("FREQ=DAILY;BYDAY=-1FR", ["BYDAY", "MONTHLY or YEARLY"], id="daily-ordinal"),
    pytest.param("FREQ=WEEKLY;BYMONTHDAY=1", ["BYMONTHDAY", "WEEKLY"], id="weekly-monthday"),
    pytest.param("FREQ=MONTHLY;BYYEARDAY=1", ["BYYEARDAY", "MONTHLY"], id="monthly-yearday"),
    pytest.param("FREQ=MONTHLY;BYWEEKNO=1", ["BYWEEKNO", "MONTHLY"], id="monthly-weekno"),
    pytest.param("FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO", ["BYDAY", "BYWEEKNO"], id="weekno-ordinal"),
    pytest.param("FREQ=MONTHLY;BYDAY=6MO", ["BYDAY", "-5 to 5"], id="sixth-monday"),
    pytest.param("FREQ=YEARLY;BYMONTH=12;BYDAY=8MO", ["BYDAY", "-5 to 5"], id="eighth-in-month"),
    pytest.param("FREQ=MONTHLY;BYSETPOS=1", ["BYSETPOS", "another"], id="bysetpos-alone"),
    pytest.param("FREQ=DAILY;BYDAY=MO;BYSETPOS=2", ["BYSETPOS", "1 or -1"], id="daily-setpos"),
    # One occurrence a day at most: one time of day.
    pytest.param("FREQ=DAILY;BYHOUR=9,17", ["BYHOUR", "one value"], id="byhour-twice"),
    pytest.param("FREQ=DAILY;BYMINUTE=0,30", ["BYMINUTE", "one value"], id="byminute-twice"),
    pytest.param("FREQ=DAILY;BYSECOND=60", ["BYSECOND", "0 to 59"], id="bysecond-60"),
    # Parts that match no day: nothing within ten years (nor ever).
    pytest.param("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", ["10 years"], id="31-february"),
    pytest.param("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", ["10 years"], id="daily-31-april"),
    pytest.param("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", ["10 years"], id="sixth-of-mondays"),
    pytest.param("FREQ=WEEKLY;BYMONTH=1;BYSETPOS=2", ["10 years"], id="second-of-one"),
    pytest.param("FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1", ["10 years"], id="day-366-in-january"),
    pytest.param("FREQ=DAILY;" + "INTERVAL=1;" * 50, ["500"], id="too-long"),
]


@pytest.mark.parametrize(("rule", "named"), INVALID_RULES)
async def test_an_invalid_rule_on_create_is_400_naming_the_problem(
    alice: httpx.AsyncClient, rule: str, named: list[str]
) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "t", "due_at": MONDAY, "recurrence": rule}
    )

    details = assert_validation_error(response, "recurrence")
    for word in named:
        assert word in details[0]["message"], details
    assert await all_tasks(alice) == []


@pytest.mark.parametrize(("rule", "named"), INVALID_RULES)
async def test_an_invalid_rule_on_update_is_400_and_changes_nothing(
    alice: httpx.AsyncClient, rule: str, named: list[str]
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.patch(f"/api/tasks/{task['id']}", json={"recurrence": rule})

    details = assert_validation_error(response, "recurrence")
    for word in named:
        assert word in details[0]["message"], details
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


async def test_a_rule_needs_a_due_date_on_create(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "t", "recurrence": "FREQ=DAILY"})

    details = assert_validation_error(response, "recurrence")
    assert "due_at" in details[0]["message"]
    assert await all_tasks(alice) == []


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_a_rule_needs_a_due_date_on_update(alice: httpx.AsyncClient, method: str) -> None:
    task = await create_task(alice)

    response = await alice.request(
        method, f"/api/tasks/{task['id']}", json={"recurrence": "FREQ=DAILY"}
    )

    details = assert_validation_error(response, "recurrence")
    assert "due_at" in details[0]["message"]
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


async def test_clearing_the_due_date_of_a_recurring_task_is_400_and_changes_nothing(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.patch(
        f"/api/tasks/{task['id']}", json={"due_at": None, "title": "Also changed"}
    )

    assert_validation_error(response, "recurrence")
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


async def test_clearing_the_rule_and_the_due_date_together_is_fine(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.patch(
        f"/api/tasks/{task['id']}", json={"due_at": None, "recurrence": None}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["due_at"], response.json()["recurrence"]) == (None, None)


async def test_a_task_whose_rule_was_cleared_completes_without_a_next_occurrence(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    await alice.patch(f"/api/tasks/{task['id']}", json={"recurrence": None})

    await complete(alice, task["id"])

    assert ids(await all_tasks(alice)) == [task["id"]]


# --- The next occurrence --------------------------------------------------------------------------


async def complete_by(client: httpx.AsyncClient, way: str, task_id: str) -> None:
    user = await user_id_of(client)
    if way == "complete":
        response = await client.post(f"/api/tasks/{task_id}/complete")
    elif way in ("patch", "put"):
        response = await client.request(
            way.upper(), f"/api/tasks/{task_id}", json={"is_completed": True}
        )
    elif way == "bulk":
        response = await client.post(
            "/api/tasks/bulk", json={"operations": [{"op": "complete", "id": task_id}]}
        )
    else:
        response = await client.patch(f"/api/{user}/tasks/{task_id}/complete")
    assert response.status_code == 200, response.text


WAYS = ["complete", "patch", "put", "bulk", "user-path-toggle"]


@pytest.mark.parametrize("way", WAYS)
async def test_completing_a_recurring_task_moves_it_to_its_next_occurrence(
    alice: httpx.AsyncClient, way: str
) -> None:
    task = await create_task(
        alice,
        title="Water the plants",
        description="The ones on the balcony",
        tags=["home", "plants"],
        priority="medium",
        due_at=MONDAY,
        recurrence="FREQ=DAILY;INTERVAL=3;COUNT=4",
    )

    await complete_by(alice, way, task["id"])

    [moved] = await all_tasks(alice)  # the same task: no other one
    assert moved["id"] == task["id"]
    for same in ("user_id", "title", "description", "tags", "priority", "created_at"):
        assert moved[same] == task[same], same
    assert moved["recurrence"] == "FREQ=DAILY;INTERVAL=3;COUNT=3"
    assert moved["due_at"] == "2026-03-05T09:00:00Z"
    assert moved["is_completed"] is False
    assert moved["completed_at"] is None
    [done] = (await alice.get(f"/api/tasks/{task['id']}/completions")).json()
    assert done["occurrence"] == MONDAY


@pytest.mark.parametrize(
    ("rule", "due_at", "next_due_at"),
    [
        pytest.param("FREQ=DAILY", MONDAY, "2026-03-03T09:00:00Z", id="daily"),
        pytest.param("FREQ=DAILY;INTERVAL=3", MONDAY, "2026-03-05T09:00:00Z", id="every-3-days"),
        pytest.param("FREQ=WEEKLY", MONDAY, "2026-03-09T09:00:00Z", id="weekly"),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO,WE", MONDAY, "2026-03-04T09:00:00Z", id="weekly-mon-to-wed"
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO,WE",
            "2026-03-04T09:00:00Z",
            "2026-03-09T09:00:00Z",
            id="weekly-wed-to-mon",
        ),
        pytest.param(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            "2026-03-04T09:00:00Z",
            "2026-03-16T09:00:00Z",
            id="fortnightly-wed-to-mon",
        ),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=FR", "2026-03-05T18:00:00Z", "2026-03-06T18:00:00Z", id="thu-to-fri"
        ),
        pytest.param("FREQ=MONTHLY", "2026-01-15T08:30:00Z", "2026-02-15T08:30:00Z", id="monthly"),
        pytest.param(
            "FREQ=MONTHLY;INTERVAL=6",
            "2026-01-15T08:30:00Z",
            "2026-07-15T08:30:00Z",
            id="half-yearly",
        ),
        # RFC 5545: an occurrence on a date that does not exist (February 31) is skipped.
        pytest.param(
            "FREQ=MONTHLY", "2026-01-31T12:00:00Z", "2026-03-31T12:00:00Z", id="monthly-31st"
        ),
        pytest.param("FREQ=YEARLY", "2026-02-10T07:00:00Z", "2027-02-10T07:00:00Z", id="yearly"),
        pytest.param(
            "FREQ=YEARLY", "2028-02-29T07:00:00Z", "2032-02-29T07:00:00Z", id="yearly-leap-day"
        ),
        pytest.param(
            "FREQ=DAILY", "2026-03-02T23:30:00-05:00", "2026-03-04T04:30:00Z", id="offset-in-utc"
        ),
        pytest.param(
            "FREQ=DAILY;UNTIL=20260303", MONDAY, "2026-03-03T09:00:00Z", id="daily-until-next-day"
        ),
    ],
)
async def test_the_next_occurrence_is_due_at_the_rules_next_date(
    alice: httpx.AsyncClient, rule: str, due_at: str, next_due_at: str
) -> None:
    task = await create_task(alice, due_at=due_at, recurrence=rule)

    following = await complete(alice, task["id"])

    assert (following["id"], following["due_at"]) == (task["id"], next_due_at)
    assert following["recurrence"] == task["recurrence"]


async def test_until_ends_the_series(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY;UNTIL=20260303")

    assert (await complete(alice, task["id"]))["is_completed"] is False
    last = await complete(alice, task["id"])

    assert (last["is_completed"], last["due_at"]) == (True, "2026-03-03T09:00:00Z")
    assert ids(await all_tasks(alice)) == [task["id"]]


async def test_count_two_ends_the_series_after_the_next(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=WEEKLY;COUNT=2")

    following = await complete(alice, task["id"])
    assert following["recurrence"] == "FREQ=WEEKLY;COUNT=1"
    last = await complete(alice, task["id"])

    assert last["is_completed"] is True
    assert ids(await all_tasks(alice)) == [task["id"]]


async def test_count_counts_the_occurrences_down_to_the_last(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY;COUNT=3")

    seen = []
    for _ in range(5):
        current = (await alice.get(f"/api/tasks/{task['id']}")).json()
        if current["is_completed"]:
            break
        seen.append((current["due_at"], current["recurrence"]))
        await complete(alice, task["id"])

    assert seen == [
        (MONDAY, "FREQ=DAILY;COUNT=3"),
        ("2026-03-03T09:00:00Z", "FREQ=DAILY;COUNT=2"),
        ("2026-03-04T09:00:00Z", "FREQ=DAILY;COUNT=1"),
    ]
    done = (await alice.get(f"/api/tasks/{task['id']}/completions")).json()
    assert [c["occurrence"] for c in done] == [due for due, _ in reversed(seen)]
    assert ids(await all_tasks(alice)) == [task["id"]]


async def test_a_recurring_task_completed_late_gets_the_date_after_its_due_date(
    alice: httpx.AsyncClient,
) -> None:
    """The next date follows the due date, not the day it was completed."""
    task = await create_task(alice, due_at="2020-01-06T09:00:00Z", recurrence="FREQ=WEEKLY")

    following = await complete(alice, task["id"])

    assert following["due_at"] == "2020-01-13T09:00:00Z"


# --- Each completion once -------------------------------------------------------------------------


async def occurrences_done(client: httpx.AsyncClient, task: dict[str, Any]) -> list[str]:
    response = await client.get(f"/api/tasks/{task['id']}/completions")
    assert response.status_code == 200, response.text
    return [c["occurrence"] for c in response.json()]


@pytest.mark.parametrize("way", ["complete", "patch", "put", "bulk"])
async def test_each_completion_completes_the_next_occurrence(
    alice: httpx.AsyncClient, way: str
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    for _ in range(3):
        await complete_by(alice, way, task["id"])

    assert await occurrences_done(alice, task) == [
        "2026-03-04T09:00:00Z",
        "2026-03-03T09:00:00Z",
        MONDAY,
    ]
    assert ids(await all_tasks(alice)) == [task["id"]]


async def test_a_retried_completion_with_if_match_completes_once(
    alice: httpx.AsyncClient,
) -> None:
    created = await alice.post(
        "/api/tasks", json={"title": "t", "due_at": MONDAY, "recurrence": "FREQ=DAILY"}
    )
    url = f"/api/tasks/{created.json()['id']}/complete"
    headers = {"If-Match": created.headers["etag"]}

    first = await alice.post(url, headers=headers)
    retried = await alice.post(url, headers=headers)

    assert (first.status_code, retried.status_code) == (200, 412)
    assert await occurrences_done(alice, created.json()) == [MONDAY]


async def test_completing_a_recurring_task_twice_in_one_bulk_completes_two_occurrences(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.post(
        "/api/tasks/bulk",
        json={"operations": [{"op": "complete", "id": task["id"]}] * 2},
    )

    assert response.status_code == 200, response.text
    assert await occurrences_done(alice, task) == ["2026-03-03T09:00:00Z", MONDAY]


async def test_a_stale_conditional_completion_completes_nothing(
    alice: httpx.AsyncClient,
) -> None:
    created = await alice.post(
        "/api/tasks", json={"title": "t", "due_at": MONDAY, "recurrence": "FREQ=DAILY"}
    )
    task = created.json()
    await alice.patch(f"/api/tasks/{task['id']}", json={"title": "Moved on"})

    response = await alice.post(
        f"/api/tasks/{task['id']}/complete", headers={"If-Match": created.headers["etag"]}
    )

    assert response.status_code == 412
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["due_at"] == MONDAY
    assert await occurrences_done(alice, task) == []


async def test_a_failed_bulk_completion_completes_nothing(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    response = await alice.post(
        "/api/tasks/bulk",
        json={
            "operations": [
                {"op": "complete", "id": task["id"]},
                {"op": "delete", "id": "00000000-0000-4000-8000-000000000000"},
            ]
        },
    )

    assert response.status_code == 404
    assert await all_tasks(alice) == [task]
    assert await occurrences_done(alice, task) == []


async def test_concurrent_completions_by_every_route_each_complete_one_occurrence(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")

    await asyncio.gather(*(complete_by(alice, way, task["id"]) for way in WAYS[:4] * 2))

    done = await occurrences_done(alice, task)
    assert len(done) == len(set(done)) == 8  # none completed twice, none lost
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["due_at"] == "2026-03-10T09:00:00Z"


async def test_the_user_path_toggle_completes_an_occurrence_each_time(
    alice: httpx.AsyncClient,
) -> None:
    user = await user_id_of(alice)
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    url = f"/api/{user}/tasks/{task['id']}/complete"

    first = await alice.patch(url)
    second = await alice.patch(url)

    assert (first.json()["is_completed"], second.json()["is_completed"]) == (False, False)
    assert second.json()["due_at"] == "2026-03-04T09:00:00Z"


async def test_a_recurring_task_created_completed_stays_as_it_is(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY", is_completed=True)

    await complete(alice, task["id"])

    assert await all_tasks(alice) == [task]
    assert await occurrences_done(alice, task) == []


async def test_reopening_an_open_recurring_task_changes_nothing(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, due_at=MONDAY, recurrence="FREQ=DAILY")
    moved = await complete(alice, task["id"])

    reopened = await alice.post(f"/api/tasks/{task['id']}/reopen")

    assert reopened.json() == moved
