"""The hot routes write tasks as bytes straight from their rows (`task_body`, and a list page's
`shown_tasks` from its statement's columns in one pass), not through TaskRead. These tests hold
those bytes to what a route with `response_model=TaskRead` (or `list[TaskRead]`) would have
written for the same stored task: FastAPI's JSONResponse of TaskRead's JSON dump, byte for byte
(field order, timestamps, escapes, nulls). A field added to TaskRead is covered at once.

The first test draws stored rows (every column, Unicode, nulls, tags, reminders in their stored
form, all-day and timed due dates and starts); the second creates drawn tasks through the API
on each database and compares the list (a direct route, the one-pass writer) and each task's
GET with the reference made from the rows as the database holds them.
"""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.responses import JSONResponse

from tests.tasks.helpers import user_id_of
from todo_api.db import Database, Query
from todo_api.kit import reminders
from todo_api.kit.deps import held
from todo_api.kit.http import json_bytes
from todo_api.tables.tasks import tasks
from todo_api.tasks.schemas import TASK_FIELDS, TaskRead, shown_tasks, task_body

# Text PostgreSQL can store (no NUL, no lone surrogate), from every plane.
TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
UTC_INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda moment: moment.replace(tzinfo=UTC))
IDS = st.uuids()
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"])
DURATIONS = st.sampled_from(["PT1M", "PT15M", "PT1H", "P1D", "P1DT12H", "P30D"])
GIVEN_REMINDERS = st.lists(
    st.one_of(
        st.fixed_dictionaries({"at": UTC_INSTANTS}),
        st.fixed_dictionaries({"before_due": DURATIONS}),
    ),
    max_size=4,
)


def reference(row: dict[str, Any]) -> dict[str, Any]:
    """The task as TaskRead reads it from the stored row: an all-day due date or start shows
    no instant (TaskRead's own descriptions), the rest is the row's."""
    shown = dict(row)
    if row["due_date"] is not None:
        shown["due_at"] = None
    if row["start_date"] is not None:
        shown["start_at"] = None
    return TaskRead.model_validate(shown).model_dump(mode="json")


def response_model_bytes(content: Any) -> bytes:
    """What FastAPI writes for a response model's JSON dump (its default JSONResponse)."""
    return bytes(JSONResponse(content).body)


@st.composite
def stored_rows(draw: st.DrawFn) -> dict[str, Any]:
    """A row of `tasks` as the database layer gives it, with a list page's extra columns."""
    due_date = draw(st.none() | st.dates(min_value=date(1, 1, 2)))
    start_date = draw(st.none() | st.dates(min_value=date(1, 1, 2)))
    completed = draw(st.booleans())
    user_id = draw(IDS)
    return {
        "id": draw(IDS),
        "user_id": user_id,
        "list_id": draw(st.none() | IDS),
        "parent_id": draw(st.none() | IDS),
        "section_id": draw(st.none() | IDS),
        "position": draw(st.integers(-(2**63), 2**63 - 1)),
        "title": draw(st.text(TEXT, min_size=1, max_size=200)),
        "title_key": "",
        "description": draw(st.none() | st.text(TEXT, max_size=300)),
        "description_key": None,
        "is_completed": completed,
        "priority": draw(st.integers(0, 3)),
        # An all-day date keeps the instant its day starts in the column beside it.
        "due_at": draw(st.none() | UTC_INSTANTS) if due_date is None else draw(UTC_INSTANTS),
        "due_date": due_date,
        "start_at": draw(st.none() | UTC_INSTANTS) if start_date is None else draw(UTC_INSTANTS),
        "start_date": start_date,
        "timezone": draw(ZONES),
        "tags": draw(st.lists(st.text(TEXT, min_size=1, max_size=50), max_size=20, unique=True)),
        "recurrence": draw(st.none() | st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO"])),
        "reminders": reminders.with_ids(draw(GIVEN_REMINDERS)),
        "completed_at": draw(UTC_INSTANTS) if completed else None,
        "series_start": draw(st.none() | UTC_INSTANTS),
        "created_by": draw(st.none() | st.just(user_id) | IDS),
        "completed_by": draw(IDS) if completed else None,
        "assignee_id": draw(st.none() | IDS),
        "next_occurrence_id": None,
        "comment_count": draw(st.integers(0, 2**31 - 1)),
        "changed_by": draw(st.none() | IDS),
        "version": draw(st.integers(1, 2**31 - 1)),
        "change_txid": 1,
        "change_seq": 1,
        "arrived_txid": 1,
        "arrived_seq": 1,
        "created_at": draw(UTC_INSTANTS),
        "updated_at": draw(UTC_INSTANTS),
        "sort_value": draw(UTC_INSTANTS),
        "total_count": draw(st.integers(0, 1001)),
    }


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(stored_rows(), max_size=5))
def test_unit_task_bodies_are_what_the_response_model_writes(rows: list[dict[str, Any]]) -> None:
    expected = [reference(row) for row in rows]
    for row, one in zip(rows, expected, strict=True):
        assert json_bytes(task_body(row)) == response_model_bytes(one)
    # A page written from its columns' values, as Result.picked gives them.
    picked = [[row[name] for name in TASK_FIELDS] for row in rows]
    assert json_bytes(shown_tasks(picked)) == response_model_bytes(expected)


# --- through the API, on each database ----------------------------------------------------


# What the API takes in a title or tag (no control character, something visible; the service
# normalises it, and the reference reads what it stored); a description takes line breaks too.
VISIBLE = st.characters(categories=["L", "M", "N", "P", "S"])
LINE = st.builds(
    lambda first, rest: first + rest,
    st.characters(categories=["L", "N", "So"]),
    st.text(st.one_of(VISIBLE, st.just(" ")), max_size=60),
)


@st.composite
def new_tasks(draw: st.DrawFn) -> dict[str, Any]:
    """A create request using every field a task can be made with."""
    body: dict[str, Any] = {
        "title": draw(LINE),
        "description": draw(st.none() | st.text(st.one_of(VISIBLE, st.sampled_from(" \n\t")))),
        "priority": draw(st.sampled_from(["none", "low", "medium", "high"])),
        "is_completed": draw(st.booleans()),
        "tags": draw(st.lists(LINE.map(lambda text: text[:20]), max_size=5)),
        "timezone": draw(ZONES),
    }
    day = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 3000)))
    moment = day + timedelta(microseconds=draw(st.integers(0, 86_400_000_000 - 1)))
    due = draw(st.sampled_from(["none", "at", "date"]))
    if due == "at":
        body["due_at"] = moment.isoformat()
    elif due == "date":
        body["due_date"] = day.date().isoformat()
    start = draw(st.sampled_from(["none", "at", "date"]))
    start_day = day - timedelta(days=draw(st.integers(1, 30)))
    if start == "at":
        body["start_at"] = start_day.isoformat()
    elif start == "date":
        body["start_date"] = start_day.date().isoformat()
    if due != "none" and draw(st.booleans()):
        body["recurrence"] = draw(st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY;INTERVAL=2"]))
    at = [
        {"at": (moment - timedelta(hours=h)).isoformat()}
        for h in draw(st.sets(st.integers(1, 48), max_size=2))
    ]
    before = (
        [{"before_due": d} for d in draw(st.sets(DURATIONS, max_size=2))] if due != "none" else []
    )
    body["reminders"] = at + before
    return body


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bodies=st.lists(new_tasks(), min_size=1, max_size=6))
async def test_the_hot_routes_write_what_the_response_model_would(
    app: FastAPI,
    new_user_client: Callable[..., httpx.AsyncClient],
    bodies: list[dict[str, Any]],
) -> None:
    async with new_user_client() as client:
        created = []
        for body in bodies:
            response = await client.post("/api/tasks", json=body)
            assert response.status_code == 201, response.text
            created.append(response)
        user_id = await user_id_of(client)
        newest_first = Query(
            select(tasks)
            .where(tasks.c.user_id == user_id)
            .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
        )
        async with held(app, Database).connection() as conn:
            stored = (await conn.execute(newest_first)).rows
        expected = {str(row["id"]): reference(row) for row in stored}

        for response in created:  # create's answer is the task as stored
            one = expected[response.json()["id"]]
            assert response.content == response_model_bytes(one)
        page = await client.get("/api/tasks")  # direct, written in one pass
        assert page.status_code == 200
        assert page.content == response_model_bytes([reference(row) for row in stored])
        for task_id, one in expected.items():
            got = await client.get(f"/api/tasks/{task_id}")
            assert got.content == response_model_bytes(one)
        # PATCH and complete answer the changed task as it is stored, likewise.
        task_id = str(stored[-1]["id"])

        async def stored_now() -> dict[str, Any]:
            async with held(app, Database).connection() as conn:
                rows = (await conn.execute(newest_first)).rows
            return {str(row["id"]): row for row in rows}

        patched = await client.patch(f"/api/tasks/{task_id}", json={"title": "Größe ✓"})
        assert patched.status_code == 200
        assert patched.content == response_model_bytes(reference((await stored_now())[task_id]))
        completed = await client.post(f"/api/tasks/{task_id}/complete")
        assert completed.status_code == 200
        assert completed.content == response_model_bytes(reference((await stored_now())[task_id]))
        assert uuid.UUID(patched.json()["id"]) == stored[-1]["id"]
