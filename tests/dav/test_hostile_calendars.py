"""Calendar objects that `icalendar`, the zone database or the recurrence engine cannot take,
sent by a CalDAV `PUT` and in an ics import, on both databases: each is refused with the
protocol's error (403 with a `DAV:error`; 400 at import, or imported as far as it can be read),
never a 500. Found by fuzzing both routes."""

import pytest

from tests.dav.helpers import DavUser, condition
from tests.support import assert_error
from tests.yourdata.helpers import import_file


def _object(*lines: str, before: tuple[str, ...] = ()) -> bytes:
    body = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//tests//EN",
        *before,
        "BEGIN:VTODO",
        "UID:hostile",
        "SUMMARY:t",
        *lines,
        "END:VTODO",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(body).encode()


HOSTILE = [
    pytest.param(_object("DUE;TZID=Europe:20260101T090000"), id="tzid-a-zone-folder"),
    pytest.param(_object(f"DUE;TZID={'A' * 300}:20260101T090000"), id="tzid-too-long"),
    pytest.param(_object("DUE;TZID=Europe/Berlin:00010101T000000"), id="due-before-year-1-utc"),
    pytest.param(_object("DUE;TZID=America/New_York:99991231T235959"), id="due-after-9999-utc"),
    pytest.param(
        _object("DUE:20260101T090000Z", "RRULE:FREQ=DAILY;UNTIL=00010101"), id="until-year-1"
    ),
    pytest.param(
        _object("DUE;TZID=America/New_York:99991231T100000", "RRULE:FREQ=WEEKLY;BYDAY=SA"),
        id="rule-past-9999",
    ),
    pytest.param(
        _object(before=("BEGIN:VTIMEZONE", "TZID:a", "TZID:b", "END:VTIMEZONE")),
        id="vtimezone-two-tzids",
    ),
    pytest.param(_object("X-A;VALUE=A,B:x"), id="value-a-list"),
    pytest.param(_object(before=("BEGIN:X", "TZID:a", "END:VTIMEZONE")), id="end-mismatched"),
    pytest.param(_object("X-A:BAD").replace(b"BAD", b"\xff"), id="not-utf-8"),
]


@pytest.mark.parametrize("body", HOSTILE)
async def test_a_put_of_an_object_nothing_can_read_is_refused(ada: DavUser, body: bytes) -> None:
    href = f"{ada.home}inbox/hostile.ics"
    response = await ada.dav.put(href, content=body)
    assert response.status_code == 403, response.text
    assert condition(response)  # a DAV:error body naming the precondition
    assert (await ada.dav.get(href)).status_code == 404
    tasks = await ada.api.get("/api/tasks")
    assert tasks.json() == []


@pytest.mark.parametrize("body", HOSTILE)
async def test_an_ics_import_of_it_is_refused_or_taken_whole(ada: DavUser, body: bytes) -> None:
    """The import refuses the file (400, nothing imported), or takes what it can read: a file's
    VTIMEZONE it cannot read is left aside, and an imported task may carry the rule that ended
    its series."""
    response = await import_file(ada.api, "ics", body, content_type="text/calendar")
    tasks = (await ada.api.get("/api/tasks")).json()
    if response.status_code == 200:
        assert [task["title"] for task in tasks] == ["t"]
    else:
        assert_error(response, 400, response.json()["code"])  # the contract's error body
        assert tasks == []


# --- The same edges through /api (fuzzed too) --------------------------------------------------


@pytest.mark.parametrize(
    "task",
    [
        # An UNTIL in year 1 was written `UNTIL=10101T...` (strftime's year), which the next
        # read of the rule refused: a 500.
        {"due_at": "2026-01-01T09:00:00Z", "recurrence": "FREQ=DAILY;UNTIL=00010101"},
        # The next Saturday is in year 10000 on New York's clock.
        {
            "due_at": "9999-12-31T15:00:00Z",
            "timezone": "America/New_York",
            "recurrence": "FREQ=WEEKLY;BYDAY=SA",
        },
    ],
    ids=["until-year-1", "next-date-past-9999"],
)
async def test_a_rule_with_no_date_to_come_is_refused_through_the_api_too(
    ada: DavUser, task: dict[str, str]
) -> None:
    made = await ada.api.post("/api/tasks", json={"title": "Edge rule", **task})
    assert_error(made, 400, "VALIDATION_ERROR")
    assert "recurrence" in made.text


async def test_a_weekly_rule_whose_first_week_began_before_year_1_is_taken(ada: DavUser) -> None:
    """0001-01-01 is a Monday: a week starting on Sunday began in year 0."""
    made = await ada.api.post(
        "/api/tasks",
        json={"title": "First", "due_date": "0001-01-01", "recurrence": "FREQ=WEEKLY;WKST=SU"},
    )
    assert made.status_code == 201, made.text
    done = await ada.api.post(f"/api/tasks/{made.json()['id']}/complete")
    assert done.status_code == 200, done.text
    following = [t for t in (await ada.api.get("/api/tasks")).json() if not t["is_completed"]]
    assert [t["due_date"] for t in following] == ["0001-01-08"]


async def test_a_todoist_date_at_24_00_on_the_last_day_is_refused(ada: DavUser) -> None:
    body = "TYPE,CONTENT,DATE\ntask,t,9999-12-31 24:00\n"
    response = await import_file(ada.api, "todoist", body, content_type="text/csv")
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("due_at", "zone"),
    [
        ("9999-12-31T23:59:59Z", "Etc/GMT-1"),  # its clock is in year 10000
        ("0001-01-01T00:00:00Z", "America/New_York"),  # in year 0
        ("0001-01-01T00:00:00Z", "UTC"),  # PostgreSQL's -infinity
    ],
)
async def test_a_due_time_beyond_its_zones_years_is_written_in_utc(
    ada: DavUser, due_at: str, zone: str
) -> None:
    """The ics export and CalDAV write DUE on the task's clock, and in UTC where that clock
    has no year to write."""
    task = {"title": "Edge", "due_at": due_at, "timezone": zone}
    made = await ada.api.post("/api/tasks", json=task)
    assert made.status_code == 201, made.text
    exported = await ada.api.get("/api/export", params={"format": "ics"})
    assert exported.status_code == 200
    got = await ada.dav.get(f"{ada.home}inbox/{made.json()['id']}.ics")
    assert got.status_code == 200
    wall = due_at.replace("-", "").replace(":", "")
    for text in (exported.text, got.text):
        assert text.endswith("END:VCALENDAR\r\n")
        assert f"DUE:{wall}" in text or f"DUE;TZID={zone}:" in text
