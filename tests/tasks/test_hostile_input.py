"""Inputs that cannot be stored or compared are a 400 naming them, on both databases: date-times
outside years 1 to 9999 once in UTC, NUL in query parameters, and recurrence rules that give
no date (which must also cost no more than any other rule to check or to complete)."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from tests.tasks.helpers import assert_error, assert_validation_error, bulk, create_task
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.tasks import tasks

OVERFLOWING = [
    pytest.param("9999-12-31T23:59:59-23:59", id="past-9999"),
    pytest.param("9999-12-31T23:00:00-01:00", id="just-past-9999"),
    pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1"),
]


def assert_names_operation_field(response: httpx.Response, index: int, field: str) -> None:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    fields = [detail["field"] for detail in body["details"]]
    assert fields, body
    assert all(f.startswith(f"operations.{index}.") and f.endswith(field) for f in fields), body


async def titles(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/tasks")
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


# --- Date-times whose UTC value falls outside years 1 to 9999 -----------------------------------


@pytest.mark.parametrize("due_at", OVERFLOWING)
async def test_a_due_at_outside_the_years_in_utc_is_refused_on_create(
    alice: httpx.AsyncClient, due_at: str
) -> None:
    response = await alice.post("/api/tasks", json={"title": "Far away", "due_at": due_at})
    details = assert_validation_error(response, "due_at")
    assert "9999" in details[0]["message"]
    me = (await alice.get("/api/auth/me")).json()["id"]
    response = await alice.post(f"/api/{me}/tasks", json={"title": "Far away", "due_at": due_at})
    assert_validation_error(response, "due_at")
    assert await titles(alice) == []


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("due_at", OVERFLOWING)
async def test_a_due_at_outside_the_years_in_utc_is_refused_on_update(
    alice: httpx.AsyncClient, method: str, due_at: str
) -> None:
    task = await create_task(alice, due_at="2026-03-02T09:00:00Z")
    response = await alice.request(method, f"/api/tasks/{task['id']}", json={"due_at": due_at})
    assert_validation_error(response, "due_at")
    stored = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert stored["due_at"] == "2026-03-02T09:00:00Z"


@pytest.mark.parametrize("due_at", OVERFLOWING)
async def test_a_due_at_outside_the_years_in_utc_is_refused_in_bulk(
    alice: httpx.AsyncClient, due_at: str
) -> None:
    task = await create_task(alice, title="Kept")
    response = await bulk(
        alice,
        {"op": "create", "data": {"title": "First"}},
        {"op": "create", "data": {"title": "Far away", "due_at": due_at}},
    )
    assert_names_operation_field(response, 1, "due_at")
    response = await bulk(
        alice, {"op": "update", "id": task["id"], "data": {"title": "New", "due_at": due_at}}
    )
    assert_names_operation_field(response, 0, "due_at")
    assert await titles(alice) == ["Kept"]


@pytest.mark.parametrize("parameter", ["due_before", "due_after"])
@pytest.mark.parametrize("value", OVERFLOWING)
async def test_a_due_filter_outside_the_years_in_utc_is_refused(
    alice: httpx.AsyncClient, parameter: str, value: str
) -> None:
    response = await alice.get("/api/tasks", params={parameter: value})
    assert_validation_error(response, parameter)


async def test_the_first_and_last_instants_are_kept_listed_and_paged(
    alice: httpx.AsyncClient,
) -> None:
    # PostgreSQL keeps the very first and last instants as -infinity and infinity.
    given = {
        "0001-01-01T00:00:00Z": "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00-01:00": "0001-01-01T01:00:00Z",
        "9999-12-31T23:59:59+23:59": "9999-12-31T00:00:59Z",
        "9999-12-31T23:59:59.999999Z": "9999-12-31T23:59:59.999999Z",
    }
    for due_at, stored in given.items():
        task = await create_task(alice, due_at=due_at)
        assert task["due_at"] == stored
        assert (await alice.get(f"/api/tasks/{task['id']}")).json()["due_at"] == stored
    expected = sorted(given.values())
    for sort in ("due_at", "-due_at"):
        seen: list[str] = []
        params: dict[str, Any] = {"sort": sort, "limit": 1, "due_after": "0001-01-01T00:00:00Z"}
        while True:
            page = await alice.get("/api/tasks", params=params)
            assert page.status_code == 200, page.text
            seen += [t["due_at"] for t in page.json()]
            if "X-Next-Cursor" not in page.headers:
                break
            params["cursor"] = page.headers["X-Next-Cursor"]
        assert seen == (expected if sort == "due_at" else expected[::-1])
    before = await alice.get("/api/tasks", params={"due_before": "0001-01-01T00:00:00.000001Z"})
    assert [t["due_at"] for t in before.json()] == ["0001-01-01T00:00:00Z"]
    after = await alice.get("/api/tasks", params={"due_after": "9999-12-31T23:59:59.999999Z"})
    assert [t["due_at"] for t in after.json()] == ["9999-12-31T23:59:59.999999Z"]


# --- Query parameters: NUL, and text that is not Unicode ----------------------------------------

NUL_PARAMETERS = [
    pytest.param("/api/tasks", "q", "milk\x00", "q", id="q"),
    pytest.param("/api/tasks", "tag", "errands\x00", "tag.0", id="tag"),
    pytest.param("/api/tasks", "cursor", "abc\x00def", "cursor", id="cursor"),
    pytest.param("/api/tasks", "sort", "title\x00", "sort", id="sort"),
    pytest.param("/api/tasks", "priority", "high\x00", "priority.0", id="priority"),
    pytest.param("/api/tasks", "completed", "true\x00", "completed", id="completed"),
    pytest.param("/api/tasks", "overdue", "\x00", "overdue", id="overdue"),
    pytest.param("/api/tasks", "limit", "5\x00", "limit", id="limit"),
    pytest.param("/api/tasks", "due_before", "2026-01-01T00:00:00Z\x00", "due_before", id="due"),
    pytest.param("/api/tasks/changes", "since", "abc\x00", "since", id="since"),
    pytest.param("/api/tasks/changes", "limit", "\x001", "limit", id="changes-limit"),
]


@pytest.mark.parametrize(("path", "parameter", "value", "field"), NUL_PARAMETERS)
async def test_nul_in_a_query_parameter_is_refused_naming_it(
    alice: httpx.AsyncClient, path: str, parameter: str, value: str, field: str
) -> None:
    await create_task(alice, title="Buy milk", tags=["errands"])
    response = await alice.get(path, params={parameter: value})
    assert_validation_error(response, field)


@pytest.mark.parametrize(("parameter", "field"), [("q", "q"), ("tag", "tag.0")])
async def test_nul_in_a_search_is_refused_on_the_user_in_path_route(
    alice: httpx.AsyncClient, parameter: str, field: str
) -> None:
    me = (await alice.get("/api/auth/me")).json()["id"]
    response = await alice.get(f"/api/{me}/tasks", params={parameter: "\x00"})
    assert_validation_error(response, field)


@pytest.mark.parametrize("parameter", ["q", "tag"])
async def test_a_lone_surrogate_in_a_search_never_reaches_the_database(
    alice: httpx.AsyncClient, parameter: str
) -> None:
    await create_task(alice, title="Buy milk", tags=["errands"])
    # UTF-8 for U+D800, which is not text: it is read as U+FFFD and simply matches nothing.
    response = await alice.get(f"/api/tasks?{parameter}=%ED%A0%80")
    assert response.status_code == 200, response.text
    assert response.json() == []


# --- Recurrence rules that give no date ---------------------------------------------------------

NEVER = [
    # Every 7th day from a Monday is a Monday: a Tuesday never comes (searching to 9999 took
    # seconds).
    pytest.param("0001-01-01T00:00:00Z", "FREQ=DAILY;INTERVAL=7;BYDAY=TU", id="year-1-daily-7"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=DAILY;INTERVAL=14;BYDAY=WE,SU", id="daily-14"),
    pytest.param("0001-01-01T00:00:00Z", "FREQ=DAILY;INTERVAL=700;BYDAY=TU;COUNT=5", id="count"),
    # Dates that come, but more than ten years on.
    pytest.param("2026-03-02T09:00:00Z", "FREQ=YEARLY;INTERVAL=11", id="yearly-11"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=MONTHLY;INTERVAL=1000", id="monthly-1000"),
    pytest.param("2024-02-29T09:00:00Z", "FREQ=YEARLY;INTERVAL=100", id="leap-day-100"),
    # Past year 9999.
    pytest.param("9999-12-31T09:00:00Z", "FREQ=DAILY", id="last-day"),
]


@pytest.mark.parametrize(("due_at", "rule"), NEVER)
async def test_a_rule_without_a_date_within_ten_years_is_refused_on_create(
    alice: httpx.AsyncClient, due_at: str, rule: str
) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "Never", "due_at": due_at, "recurrence": rule}
    )
    details = assert_validation_error(response, "recurrence")
    assert "10 years" in details[0]["message"]
    assert await titles(alice) == []


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_a_rule_without_a_date_is_refused_on_update_and_changes_nothing(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice, due_at="2026-03-03T09:00:00Z")  # a Tuesday
    url = f"/api/tasks/{task['id']}"
    response = await alice.request(
        method,
        url,
        json={"due_at": "0001-01-01T00:00:00Z", "recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=TU"},
    )
    assert_validation_error(response, "recurrence")

    # The rule is fine for the Tuesday; moving the due date to a Monday breaks it.
    weekly = await alice.request(method, url, json={"recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=TU"})
    assert weekly.status_code == 200, weekly.text
    response = await alice.request(method, url, json={"due_at": "2026-03-02T09:00:00Z"})
    assert_validation_error(response, "recurrence")
    stored = (await alice.get(url)).json()
    assert stored["due_at"] == "2026-03-03T09:00:00Z"
    assert stored["recurrence"] == "FREQ=DAILY;INTERVAL=7;BYDAY=TU"


async def test_a_rule_without_a_date_is_refused_in_bulk(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="Kept", due_at="2026-03-02T09:00:00Z")
    never = {"due_at": "0001-01-01T00:00:00Z", "recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=TU"}
    response = await bulk(
        alice,
        {"op": "create", "data": {"title": "First"}},
        {"op": "create", "data": {"title": "Never", **never}},
    )
    assert_names_operation_field(response, 1, "recurrence")
    response = await bulk(
        alice,
        {"op": "update", "id": task["id"], "data": {"title": "Changed"}},
        {"op": "update", "id": task["id"], "data": {"recurrence": "FREQ=YEARLY;INTERVAL=20"}},
    )
    assert_names_operation_field(response, 1, "recurrence")
    assert await titles(alice) == ["Kept"]
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["recurrence"] is None


@pytest.mark.parametrize(
    ("due_at", "rule", "following"),
    [
        ("0001-01-01T00:00:00Z", "FREQ=DAILY;INTERVAL=7;BYDAY=MO", "0001-01-08T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "FREQ=DAILY;INTERVAL=3;BYDAY=TU", "0001-01-16T00:00:00Z"),
        ("2026-03-02T09:00:00Z", "FREQ=YEARLY;INTERVAL=10", "2036-03-02T09:00:00Z"),
        ("9999-12-30T09:00:00Z", "FREQ=DAILY", "9999-12-31T09:00:00Z"),
    ],
)
async def test_a_rule_with_a_date_within_ten_years_is_taken_and_followed(
    alice: httpx.AsyncClient, due_at: str, rule: str, following: str
) -> None:
    task = await create_task(alice, title="Recurs", due_at=due_at, recurrence=rule)
    completed = await alice.post(f"/api/tasks/{task['id']}/complete")
    assert completed.status_code == 200, completed.text
    page = (await alice.get("/api/tasks", params={"completed": "false"})).json()
    assert [t["due_at"] for t in page] == [following]


ENDED = [
    pytest.param("2026-03-02T09:00:00Z", "FREQ=WEEKLY;COUNT=1", id="count-one"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=DAILY;UNTIL=20260101", id="until-passed"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=DAILY;UNTIL=20260302", id="until-same-day"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=WEEKLY;UNTIL=20260308T235959Z", id="until-week"),
    pytest.param("2026-03-02T09:00:00Z", "FREQ=DAILY;UNTIL=20260303T085959Z", id="until-second"),
]


@pytest.mark.parametrize(("due_at", "rule"), ENDED)
async def test_a_rule_that_ends_before_its_next_occurrence_is_refused_on_create(
    alice: httpx.AsyncClient, due_at: str, rule: str
) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "Once", "due_at": due_at, "recurrence": rule}
    )
    details = assert_validation_error(response, "recurrence")
    assert "COUNT or UNTIL" in details[0]["message"]
    response = await bulk(
        alice, {"op": "create", "data": {"title": "Once", "due_at": due_at, "recurrence": rule}}
    )
    assert_names_operation_field(response, 0, "recurrence")
    assert await titles(alice) == []


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
async def test_a_rule_that_ends_before_its_next_occurrence_is_refused_on_update(
    alice: httpx.AsyncClient, method: str
) -> None:
    task = await create_task(alice, title="Kept", due_at="2026-03-02T09:00:00Z")
    url = f"/api/tasks/{task['id']}"
    for rule in ("FREQ=WEEKLY;COUNT=1", "FREQ=DAILY;UNTIL=20260302"):
        response = await alice.request(method, url, json={"recurrence": rule})
        assert_validation_error(response, "recurrence")
        completing = {"recurrence": rule, "is_completed": True}
        assert_validation_error(await alice.request(method, url, json=completing), "recurrence")
        update = {"op": "update", "id": task["id"], "data": {"recurrence": rule}}
        response = await bulk(alice, update)
        assert_names_operation_field(response, 0, "recurrence")
    stored = (await alice.get(url)).json()
    assert (stored["recurrence"], stored["is_completed"]) == (None, False)


async def test_the_last_task_of_a_series_keeps_its_rule_and_takes_it_back(
    alice: httpx.AsyncClient,
) -> None:
    """The service ends a series with a task whose rule leaves nothing after it: writing that
    rule back, or moving that task's due date, is no new rule and is taken."""
    first = await create_task(alice, due_at="2026-03-02T09:00:00Z", recurrence="FREQ=DAILY;COUNT=2")
    assert (await alice.post(f"/api/tasks/{first['id']}/complete")).status_code == 200
    [last] = (await alice.get("/api/tasks", params={"completed": "false"})).json()
    assert last["recurrence"] == "FREQ=DAILY;COUNT=1"
    url = f"/api/tasks/{last['id']}"
    written_back = {"recurrence": last["recurrence"], "due_at": last["due_at"]}
    response = await alice.put(url, json=written_back)
    assert response.status_code == 200, response.text
    response = await alice.patch(url, json={"due_at": "2026-03-10T09:00:00Z"})
    assert response.status_code == 200, response.text
    assert response.json()["recurrence"] == "FREQ=DAILY;COUNT=1"


async def test_completing_a_stored_rule_without_a_date_is_prompt_and_ends_the_series(
    alice: httpx.AsyncClient, app: FastAPI
) -> None:
    # A row written before rules were checked: on a Monday, every 7th day, on Tuesdays.
    task = await create_task(
        alice, due_at="2026-03-03T09:00:00Z", recurrence="FREQ=DAILY;INTERVAL=7;BYDAY=TU"
    )
    async with held(app, Database).connection() as conn:
        await conn.execute(
            update(tasks)
            .where(tasks.c.id == uuid.UUID(task["id"]))
            .values(due_at=datetime(1, 1, 1, tzinfo=UTC))
        )
    completed = await alice.post(f"/api/tasks/{task['id']}/complete")
    assert completed.status_code == 200, completed.text
    assert completed.json()["is_completed"] is True
    assert (await alice.get("/api/tasks", params={"completed": "false"})).json() == []


@pytest.mark.parametrize("parameter", ["due_before", "due_after"])
@pytest.mark.parametrize("value", ["0.5", "1764547200", "tomorrow", "2026-12-01"])
async def test_a_due_filter_that_is_not_an_rfc_3339_date_time_is_refused(
    alice: httpx.AsyncClient, parameter: str, value: str
) -> None:
    """A number is not read as a Unix time, nor a date as a time (the same rule as due_at)."""
    response = await alice.get("/api/tasks", params={parameter: value})
    assert_validation_error(response, parameter)


# --- Version headers that are no version ----------------------------------------------------

HOSTILE_VERSIONS = [
    pytest.param('"²"', id="superscript-digit"),
    pytest.param('"٣"', id="arabic-indic-digit"),
    pytest.param('"' + "9" * 4300 + '"', id="4300-digits"),
    pytest.param('"2147483648"', id="past-int32"),
    pytest.param('"9223372036854775808"', id="past-int64"),
    pytest.param('"-1", "01x", "1 "', id="list-of-near-misses"),
]


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
async def test_an_if_match_that_names_no_version_is_412_on_every_write(
    alice: httpx.AsyncClient, version: str
) -> None:
    task = await create_task(alice)
    me = (await alice.get("/api/auth/me")).json()["id"]
    writes = [
        ("PATCH", f"/api/tasks/{task['id']}", {"title": "x"}),
        ("PUT", f"/api/{me}/tasks/{task['id']}", {"title": "x"}),
        ("POST", f"/api/tasks/{task['id']}/complete", None),
        ("DELETE", f"/api/tasks/{task['id']}", None),
    ]
    headers = {"If-Match": version.encode()}  # as sent: UTF-8 bytes
    for method, path, body in writes:
        response = await alice.request(method, path, json=body, headers=headers)
        assert_error(response, 412, "PRECONDITION_FAILED")
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["title"] == task["title"]


@pytest.mark.parametrize("version", HOSTILE_VERSIONS)
async def test_an_if_none_match_that_names_no_version_gets_the_task(
    alice: httpx.AsyncClient, version: str
) -> None:
    task = await create_task(alice)
    headers = {"If-None-Match": version.encode()}
    response = await alice.get(f"/api/tasks/{task['id']}", headers=headers)
    assert response.status_code == 200, response.text


async def test_a_million_tags_is_one_short_error(alice: httpx.AsyncClient) -> None:
    """Refused on their count before any tag is looked at (the body stays under the limit)."""
    response = await alice.post("/api/tasks", json={"title": "t", "tags": [1] * 400_000})
    assert_validation_error(response, "tags")  # one detail, naming the field
    assert await titles(alice) == []


@pytest.mark.parametrize("due_at", ["0001-01-01T00:00:00Z", "9999-12-20T00:00:00Z"])
async def test_a_rule_on_the_first_or_last_instants_is_checked_without_a_500(
    alice: httpx.AsyncClient, due_at: str
) -> None:
    """PostgreSQL keeps these instants as -infinity and infinity, read back without a zone."""
    task = await create_task(alice, due_at=due_at)
    rule = {"recurrence": "FREQ=WEEKLY;BYDAY=MO,WE"}
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"due_at": due_at, **rule})
    assert response.status_code == 200, response.text
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"title": "again", **rule})
    assert response.status_code == 200, response.text
