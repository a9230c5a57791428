"""Tasks as Thunderbird writes them (X-MOZ-GENERATION, PERCENT-COMPLETE, STATUS, COMPLETED,
DTSTAMP), through CalDAV and the ics import: the completion time is the client's, completion
and PERCENT-COMPLETE agree whichever way the task was completed or reopened, and an alarm at
a time is written as RFC 5545 requires and read either way."""

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from tests.dav.helpers import DavUser
from tests.yourdata.helpers import import_file


def thunderbird(uid: str, *lines: str) -> bytes:
    """A VTODO as Thunderbird PUTs it."""
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN",
            "VERSION:2.0",
            "BEGIN:VTODO",
            "CREATED:20261101T101500Z",
            "LAST-MODIFIED:20261105T160000Z",
            "DTSTAMP:20261105T160000Z",
            f"UID:{uid}",
            "SUMMARY:Write the release notes",
            *lines,
            "X-MOZ-GENERATION:4",
            "END:VTODO",
            "END:VCALENDAR",
            "",
        ]
    ).encode()


DONE = ("STATUS:COMPLETED", "COMPLETED:20261105T155900Z", "PERCENT-COMPLETE:100")


def todo_of(body: bytes) -> Any:
    return Calendar.from_ical(body).walk("VTODO")[0]


async def only_task(user: DavUser) -> dict[str, Any]:
    [task] = (await user.api.get("/api/tasks")).json()
    return dict(task)


async def test_the_completion_time_thunderbird_gives_is_the_tasks(ada: DavUser) -> None:
    path = f"{ada.home}inbox/done.ics"
    assert (await ada.dav.put(path, content=thunderbird("done", *DONE))).status_code == 201
    task = await only_task(ada)
    assert task["is_completed"] is True
    assert task["completed_at"] == "2026-11-05T15:59:00Z"
    # Completing an open task by a PUT (Thunderbird's checkbox) keeps the time it gives too.
    other = f"{ada.home}inbox/later.ics"
    await ada.dav.put(other, content=thunderbird("later", "STATUS:NEEDS-ACTION"))
    completed = thunderbird("later", "STATUS:COMPLETED", "COMPLETED:20261106T080000Z")
    assert (await ada.dav.put(other, content=completed)).status_code == 204
    [later] = [t for t in (await ada.api.get("/api/tasks")).json() if t["id"] != task["id"]]
    assert later["completed_at"] == "2026-11-06T08:00:00Z"


async def test_a_completion_time_to_come_or_none_is_the_servers_clock(ada: DavUser) -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%dT%H%M%SZ")
    inbox = f"{ada.home}inbox/"
    await ada.dav.put(
        f"{inbox}a.ics", content=thunderbird("a", "STATUS:COMPLETED", f"COMPLETED:{future}")
    )
    await ada.dav.put(f"{inbox}b.ics", content=thunderbird("b", "STATUS:COMPLETED"))
    for task in (await ada.api.get("/api/tasks")).json():
        completed_at = datetime.fromisoformat(task["completed_at"])
        assert completed_at <= datetime.now(UTC)
        assert completed_at > datetime(2026, 11, 5, 16, tzinfo=UTC)  # not the object's times


async def test_an_imported_files_completion_time_is_kept_unless_it_is_to_come(
    ada: DavUser,
) -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%dT%H%M%SZ")
    body = thunderbird("one", *DONE).replace(
        b"END:VCALENDAR",
        thunderbird("two", "STATUS:COMPLETED", f"COMPLETED:{future}").split(b"VERSION:2.0\r\n", 1)[
            1
        ],
    )
    imported = await import_file(ada.api, "ics", body, content_type="text/calendar")
    assert imported.status_code == 200, imported.text
    times = sorted(t["completed_at"] for t in (await ada.api.get("/api/tasks")).json())
    assert times[0] == "2026-11-05T15:59:00Z"
    assert datetime.fromisoformat(times[1]) <= datetime.now(UTC)


async def test_a_task_thunderbird_completed_is_open_once_reopened_through_the_api(
    ada: DavUser,
) -> None:
    path = f"{ada.home}inbox/done.ics"
    await ada.dav.put(path, content=thunderbird("done", *DONE))
    task = await only_task(ada)
    reopened = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": False})
    assert reopened.status_code == 200, reopened.text
    todo = todo_of((await ada.dav.get(path)).content)
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    assert "PERCENT-COMPLETE" not in todo  # Thunderbird takes 100 for done
    assert "COMPLETED" not in todo
    assert str(todo["X-MOZ-GENERATION"]) == "4"
    again = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
    assert again.status_code == 200, again.text
    todo = todo_of((await ada.dav.get(path)).content)
    assert str(todo["STATUS"]) == "COMPLETED"
    assert "COMPLETED" in todo


async def test_completing_a_task_thunderbird_had_begun_makes_it_100(ada: DavUser) -> None:
    path = f"{ada.home}inbox/begun.ics"
    await ada.dav.put(
        path, content=thunderbird("begun", "STATUS:IN-PROCESS", "PERCENT-COMPLETE:40")
    )
    task = await only_task(ada)
    done = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
    assert done.status_code == 200, done.text
    body = (await ada.dav.get(path)).content
    todo = todo_of(body)
    assert (str(todo["STATUS"]), int(todo["PERCENT-COMPLETE"])) == ("COMPLETED", 100)
    assert todo["COMPLETED"].dt == datetime.fromisoformat(done.json()["completed_at"]).replace(
        microsecond=0
    )
    # Thunderbird writes the object back as it read it, with another title: the completion
    # time it gives back (to the second) is the one the task has.
    back = body.replace(b"SUMMARY:Write the release notes", b"SUMMARY:Release notes")
    assert (await ada.dav.put(path, content=back)).status_code == 204
    assert (await only_task(ada))["completed_at"] == done.json()["completed_at"]


async def test_an_alarm_at_a_time_is_a_date_time_trigger(ada: DavUser) -> None:
    made = await ada.api.post(
        "/api/tasks",
        json={
            "title": "Call back",
            "due_at": "2030-04-01T09:00:00Z",
            "reminders": [{"at": "2030-03-31T18:00:00Z"}],
        },
    )
    assert made.status_code == 201, made.text
    got = await ada.dav.get(f"{ada.home}inbox/{made.json()['id']}.ics")
    assert got.status_code == 200, got.text
    assert b"\r\nTRIGGER;VALUE=DATE-TIME:20300331T180000Z\r\n" in got.content
    # Read with the VALUE parameter and without it, as older clients write it.
    triggers = ["TRIGGER;VALUE=DATE-TIME:20300331T170000Z", "TRIGGER:20300331T170000Z"]
    for name, trigger in zip("ab", triggers, strict=True):
        alarm = ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", trigger, "END:VALARM"]
        body = thunderbird(name, "DUE:20300401T090000Z", *alarm)
        put = await ada.dav.put(f"{ada.home}inbox/{name}.ics", content=body)
        assert put.status_code == 201, put.text
    tasks = (await ada.api.get("/api/tasks")).json()
    reminders = [t["reminders"] for t in tasks if t["id"] != made.json()["id"]]
    assert [[r["at"] for r in found] for found in reminders] == [["2030-03-31T17:00:00Z"]] * 2
