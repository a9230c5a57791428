"""DTSTART is the task's start (`start_at`, `start_date`), read and written like DUE; a
recurring VTODO with DTSTART and no DUE (Thunderbird's repeating task with only a start date)
is saved, and recurs by its start. With the requests Thunderbird sends, on both databases."""

from typing import Any

from icalendar import Calendar

from tests.dav import thunderbird
from tests.dav.helpers import DavUser, vtodo

UID = "3f9a1c2e-8b7d-4e6f-a5b4-c3d2e1f0a9b8"
# Thunderbird's repeating task with a start date and no due date ("All day" start, weekly).
STARTS_WEEKLY = ["RRULE:FREQ=WEEKLY", "DTSTART;VALUE=DATE:20261201"]
DONE = ["STATUS:COMPLETED", "COMPLETED:20261201T081000Z", "PERCENT-COMPLETE:100"]


def _calendar(*todos: list[str]) -> bytes:
    """The VCALENDAR Thunderbird PUTs for a task with dates only: no VTIMEZONE."""
    lines = ["BEGIN:VCALENDAR", f"PRODID:{thunderbird.PRODID}", "VERSION:2.0"]
    for todo in todos:
        lines += todo
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


async def _saved(user: DavUser) -> tuple[str, str, dict[str, Any]]:
    """The repeating task, made as Thunderbird makes it: its href, ETag and task."""
    body = _calendar(thunderbird.todo(UID, "Water the plants", *STARTS_WEEKLY))
    href = await thunderbird.create(user.dav, f"{user.home}inbox/", UID, body)
    got = await user.dav.get(href)
    assert got.content == body  # as sent, until it changes
    [task] = (await user.api.get("/api/tasks")).json()
    return href, got.headers["ETag"], task


async def _next_occurrence(user: DavUser, done_id: str) -> dict[str, Any]:
    """The task, moved to its next occurrence (one task: the same id, open)."""
    [following] = (await user.api.get("/api/tasks")).json()
    assert (following["id"], following["is_completed"]) == (done_id, False)
    return following


async def test_thunderbirds_repeating_task_with_only_a_start_date_is_saved(ada: DavUser) -> None:
    _, _, task = await _saved(ada)
    assert (task["start_date"], task["start_at"]) == ("2026-12-01", None)
    assert (task["due_date"], task["due_at"]) == (None, None)
    assert task["recurrence"] == "FREQ=WEEKLY"


async def test_completing_it_gives_the_next_occurrences_start(ada: DavUser) -> None:
    href, etag, task = await _saved(ada)
    master = thunderbird.todo(UID, "Water the plants", *STARTS_WEEKLY, *DONE, generation=2)
    completed = await thunderbird.modify(ada.dav, href, etag, _calendar(master))
    assert completed.status_code == 204, completed.text
    assert "etag" not in completed.headers  # changed from what was sent: read it back
    following = await _next_occurrence(ada, task["id"])
    assert (following["start_date"], following["due_date"]) == ("2026-12-08", None)
    assert following["recurrence"] == "FREQ=WEEKLY"
    again = (await ada.dav.get(href)).content  # the same object, at its next start
    assert b"STATUS:COMPLETED" not in again
    assert b"\r\nDTSTART;VALUE=DATE:20261208\r\n" in again
    assert b"RRULE:FREQ=WEEKLY" in again
    assert b"\r\nDUE" not in again


async def test_an_override_completing_the_current_occurrence_by_its_start(ada: DavUser) -> None:
    """Thunderbird completes one occurrence of the series: an override whose RECURRENCE-ID is
    the occurrence's start."""
    href, etag, task = await _saved(ada)
    master = thunderbird.todo(UID, "Water the plants", *STARTS_WEEKLY, generation=2)
    occurrence = thunderbird.todo(
        UID,
        "Water the plants",
        "RECURRENCE-ID;VALUE=DATE:20261201",
        "DTSTART;VALUE=DATE:20261201",
        *DONE,
        generation=2,
    )
    completed = await thunderbird.modify(ada.dav, href, etag, _calendar(master, occurrence))
    assert completed.status_code == 204, completed.text
    following = await _next_occurrence(ada, task["id"])
    assert following["start_date"] == "2026-12-08"


async def test_dtstart_is_read_and_written_as_due_is(ada: DavUser) -> None:
    """A DTSTART with a TZID is the wall time there, a UTC one that instant, a floating one
    the user's clock; written back with the task's zone, once (no longer kept beside the
    start), and moved with the task's start through /api."""
    cases = {
        "zoned": ("DTSTART;TZID=Europe/Berlin:20261220T090000", "2026-12-20T08:00:00Z"),
        "utc": ("DTSTART:20261220T090000Z", "2026-12-20T09:00:00Z"),
        "floating": ("DTSTART:20261220T090000", "2026-12-20T09:00:00Z"),  # the user's: UTC
    }
    for name, (line, _start_at) in cases.items():
        body = vtodo(name, name, line, "DUE;TZID=Europe/Berlin:20261224T090000")
        made = await ada.dav.put(f"{ada.home}inbox/{name}.ics", content=body)
        assert made.status_code == 201, made.text
    tasks = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
    for name, (_line, start_at) in cases.items():
        assert (tasks[name]["start_at"], tasks[name]["timezone"]) == (start_at, "Europe/Berlin")
    task = tasks["zoned"]
    moved = await ada.api.patch(f"/api/tasks/{task['id']}", json={"start_date": "2026-12-21"})
    assert moved.status_code == 200, moved.text
    [todo] = Calendar.from_ical((await ada.dav.get(f"{ada.home}inbox/zoned.ics")).content).walk(
        "VTODO"
    )
    assert todo["DTSTART"].to_ical() == b"20261221"  # one DTSTART, the task's
    moved = await ada.api.patch(
        f"/api/tasks/{task['id']}", json={"start_at": "2026-12-20T08:00:00Z"}
    )
    assert moved.status_code == 200, moved.text
    text = (await ada.dav.get(f"{ada.home}inbox/zoned.ics")).text
    todo_text = text[text.index("BEGIN:VTODO") :]
    assert todo_text.count("DTSTART") == 1
    assert "DTSTART;TZID=Europe/Berlin:20261220T090000\r\n" in todo_text


async def test_a_start_after_the_due_time_is_refused_saying_so(ada: DavUser) -> None:
    body = vtodo("late", "Late", "DTSTART;VALUE=DATE:20261225", "DUE;VALUE=DATE:20261224")
    refused = await ada.dav.put(f"{ada.home}inbox/late.ics", content=body)
    assert refused.status_code == 403
    assert "start_date" in refused.text
    assert (await ada.api.get("/api/tasks")).json() == []
