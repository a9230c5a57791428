"""Tasks as Thunderbird writes them (tests.dav.thunderbird: X-MOZ-GENERATION, PERCENT-COMPLETE,
STATUS, COMPLETED, DTSTAMP), through CalDAV and the ics import: the completion time is the
client's, completion and PERCENT-COMPLETE agree whichever way the task was completed or
reopened, and an alarm at a time is written as RFC 5545 requires and read either way."""

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from tests.dav import thunderbird
from tests.dav.helpers import DavUser
from tests.yourdata.helpers import import_file

TITLE = "Write the release notes"
DONE = ("STATUS:COMPLETED", "COMPLETED:20261105T155900Z", "PERCENT-COMPLETE:100")


def written(uid: str, *lines: str, generation: int = 1) -> bytes:
    """A task's object as Thunderbird PUTs it."""
    return thunderbird.calendar(thunderbird.todo(uid, TITLE, *lines, generation=generation))


def to_come() -> str:
    return (datetime.now(UTC) + timedelta(days=30)).strftime("%Y%m%dT%H%M%SZ")


def todo_of(body: bytes) -> Any:
    return Calendar.from_ical(body).walk("VTODO")[0]


async def only_task(user: DavUser) -> dict[str, Any]:
    [task] = (await user.api.get("/api/tasks")).json()
    return dict(task)


async def test_the_completion_time_thunderbird_gives_is_the_tasks(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    await thunderbird.create(ada.dav, inbox, "done", written("done", *DONE))
    task = await only_task(ada)
    assert task["is_completed"] is True
    assert task["completed_at"] == "2026-11-05T15:59:00Z"
    # Completing an open task (Thunderbird's checkbox) keeps the time it gives too.
    href = await thunderbird.create(
        ada.dav, inbox, "later", written("later", "STATUS:NEEDS-ACTION")
    )
    etag = await thunderbird.etag_of(ada.dav, href)
    completed = written("later", "STATUS:COMPLETED", "COMPLETED:20261106T080000Z", generation=2)
    assert (await thunderbird.modify(ada.dav, href, etag, completed)).status_code == 204
    [later] = [t for t in (await ada.api.get("/api/tasks")).json() if t["id"] != task["id"]]
    assert later["completed_at"] == "2026-11-06T08:00:00Z"


async def test_a_completion_time_to_come_or_none_is_the_servers_clock(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    coming = written("coming", "STATUS:COMPLETED", f"COMPLETED:{to_come()}")
    await thunderbird.create(ada.dav, inbox, "coming", coming)
    await thunderbird.create(ada.dav, inbox, "none", written("none", "STATUS:COMPLETED"))
    for task in (await ada.api.get("/api/tasks")).json():
        completed_at = datetime.fromisoformat(task["completed_at"])
        assert completed_at <= datetime.now(UTC)
        assert completed_at > datetime(2026, 11, 20, 10, 16, tzinfo=UTC)  # not the object's


async def test_an_imported_files_completion_time_is_kept_unless_it_is_to_come(
    ada: DavUser,
) -> None:
    body = thunderbird.calendar(
        thunderbird.todo("one", TITLE, *DONE),
        thunderbird.todo("two", TITLE, "STATUS:COMPLETED", f"COMPLETED:{to_come()}"),
    )
    imported = await import_file(ada.api, "ics", body, content_type="text/calendar")
    assert imported.status_code == 200, imported.text
    times = sorted(t["completed_at"] for t in (await ada.api.get("/api/tasks")).json())
    assert times[0] == "2026-11-05T15:59:00Z"
    assert datetime.fromisoformat(times[1]) <= datetime.now(UTC)


async def test_a_task_thunderbird_completed_is_open_once_reopened_through_the_api(
    ada: DavUser,
) -> None:
    href = await thunderbird.create(ada.dav, f"{ada.home}inbox/", "done", written("done", *DONE))
    task = await only_task(ada)
    reopened = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": False})
    assert reopened.status_code == 200, reopened.text
    todo = todo_of((await ada.dav.get(href)).content)
    assert str(todo["STATUS"]) == "NEEDS-ACTION"
    assert "PERCENT-COMPLETE" not in todo  # Thunderbird takes 100 for done
    assert "COMPLETED" not in todo
    assert str(todo["X-MOZ-GENERATION"]) == "1"
    again = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
    assert again.status_code == 200, again.text
    todo = todo_of((await ada.dav.get(href)).content)
    assert str(todo["STATUS"]) == "COMPLETED"
    assert "COMPLETED" in todo


async def test_completing_a_task_thunderbird_had_begun_makes_it_100(ada: DavUser) -> None:
    begun = written("begun", "STATUS:IN-PROCESS", "PERCENT-COMPLETE:40")
    href = await thunderbird.create(ada.dav, f"{ada.home}inbox/", "begun", begun)
    task = await only_task(ada)
    done = await ada.api.patch(f"/api/tasks/{task['id']}", json={"is_completed": True})
    assert done.status_code == 200, done.text
    got = await ada.dav.get(href)
    todo = todo_of(got.content)
    assert (str(todo["STATUS"]), int(todo["PERCENT-COMPLETE"])) == ("COMPLETED", 100)
    completed_at = datetime.fromisoformat(done.json()["completed_at"])
    assert todo["COMPLETED"].dt == completed_at.replace(microsecond=0)
    # Thunderbird writes the object back as it read it, with another title: the completion
    # time it gives back (to the second) is the one the task has.
    back = got.content.replace(f"SUMMARY:{TITLE}".encode(), b"SUMMARY:Release notes")
    changed = await thunderbird.modify(ada.dav, href, got.headers["ETag"], back)
    assert changed.status_code == 204, changed.text
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
    for uid, trigger in zip("ab", triggers, strict=True):
        alarm = ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", trigger, "END:VALARM"]
        body = written(uid, "DUE:20300401T090000Z", *alarm)
        await thunderbird.create(ada.dav, f"{ada.home}inbox/", uid, body)
    tasks = (await ada.api.get("/api/tasks")).json()
    reminders = [t["reminders"] for t in tasks if t["id"] != made.json()["id"]]
    assert [[r["at"] for r in found] for found in reminders] == [["2030-03-31T17:00:00Z"]] * 2


async def test_a_task_completed_elsewhere_is_written_100_percent_done(ada: DavUser) -> None:
    """Completed through /api (one, and in bulk), a task's object and its entry in the ics
    export say 100 % done, as Thunderbird reads completion; reopened, they say nothing."""
    one = (await ada.api.post("/api/tasks", json={"title": "One"})).json()["id"]
    two = (await ada.api.post("/api/tasks", json={"title": "Two"})).json()["id"]
    done = await ada.api.patch(f"/api/tasks/{one}", json={"is_completed": True})
    assert done.status_code == 200, done.text
    bulk = await ada.api.post(
        "/api/tasks/bulk", json={"operations": [{"op": "complete", "id": two}]}
    )
    assert bulk.status_code == 200, bulk.text
    for task_id in (one, two):
        todo = todo_of((await ada.dav.get(f"{ada.home}inbox/{task_id}.ics")).content)
        assert (str(todo["STATUS"]), int(todo["PERCENT-COMPLETE"])) == ("COMPLETED", 100)
    exported = await ada.api.get("/api/export", params={"format": "ics"})
    assert exported.status_code == 200, exported.text
    todos = Calendar.from_ical(exported.content).walk("VTODO")
    assert [int(todo["PERCENT-COMPLETE"]) for todo in todos] == [100, 100]
    reopened = await ada.api.patch(f"/api/tasks/{one}", json={"is_completed": False})
    assert reopened.status_code == 200, reopened.text
    todo = todo_of((await ada.dav.get(f"{ada.home}inbox/{one}.ics")).content)
    assert "PERCENT-COMPLETE" not in todo
