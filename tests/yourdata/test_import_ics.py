"""Imports of iCalendar files (`?source=ics`), from files like those Apple Reminders,
Thunderbird and tasks.org write (tests/fixtures/*.ics): each VTODO a task by the CalDAV
mapping, what the mapping does not cover kept for CalDAV, and a broken file refused whole,
naming its line."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from tests.support import assert_error
from tests.tasks.feed_helpers import read_feed
from tests.yourdata.helpers import FIXTURES, counts, import_file, lists_of, tasks_of


async def _ics(client: httpx.AsyncClient, body: bytes | str, **kwargs: Any) -> httpx.Response:
    return await import_file(client, "ics", body, content_type="text/calendar", **kwargs)


async def _dav_object(client: httpx.AsyncClient, task: dict[str, Any]) -> Any:
    """The task's VTODO as CalDAV serves it."""
    me = (await client.get("/api/auth/me")).json()
    path = f"/dav/calendars/{me['id']}/{task['list_id']}/{task['id']}.ics"
    response = await client.get(path)
    assert response.status_code == 200, response.text
    (todo,) = Calendar.from_ical(response.content).walk("VTODO")
    return todo


def _ordered(tasks: list[dict[str, Any]]) -> list[str]:
    """Titles of the top-level tasks in their order, each followed by its subtasks'."""
    top = [t for t in tasks if t["parent_id"] is None]
    return [
        title
        for parent in top
        for title in [
            parent["title"],
            *(f"- {t['title']}" for t in tasks if t["parent_id"] == parent["id"]),
        ]
    ]


async def test_apple_reminders_list_with_its_name_colour_and_order(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        answer = await _ics(client, (FIXTURES / "apple-reminders.ics").read_bytes())
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 1, "tasks": 4, "skipped": []}
        (made,) = await lists_of(client)
        assert (made["name"], made["color"]) == ("Groceries", "#ff2968")
        tasks = await tasks_of(client, made["id"])
        # X-APPLE-SORT-ORDER's order, not the file's.
        assert _ordered(tasks) == ["Birthday cake", "- Candles", "Coffee beans", "Oat milk"]
        by_title = {t["title"]: t for t in tasks}
        cake = by_title["Birthday cake"]
        assert cake["description"] == "Chocolate, no nuts\nAsk at the counter"
        assert cake["priority"] == "high"
        assert (cake["due_at"], cake["timezone"]) == ("2031-04-10T16:00:00Z", "Europe/London")
        assert [{k: v for k, v in r.items() if k != "id"} for r in cake["reminders"]] == [
            {"at": "2031-04-10T08:00:00Z"}
        ]
        coffee = by_title["Coffee beans"]
        assert coffee["is_completed"] is True
        assert coffee["completed_at"] == "2026-04-03T07:30:00Z"  # a time to come would be now
        assert (coffee["due_date"], coffee["priority"]) == ("2031-04-05", "low")
        assert by_title["Oat milk"]["priority"] == "none"

        # What the mapping does not cover is Apple's again through CalDAV, with its UID.
        todo = await _dav_object(client, cake)
        assert str(todo["UID"]) == "0D7E9B35-7E5A-4F8C-A0B3-1A2B3C4D5E6F"
        assert str(todo["X-APPLE-CREATOR-IDENTITY"]) == "com.apple.reminders"
        assert str(todo["X-APPLE-SORT-ORDER"]) == "730000100"
        (alarm,) = todo.walk("VALARM")
        assert str(alarm["X-WR-ALARMUID"]) == "8B1E3A6B-1C7E-4C5B-9E5A-2F6E8D9C0A11"
        candles = await _dav_object(client, by_title["Candles"])
        assert str(candles["RELATED-TO"]) == "0D7E9B35-7E5A-4F8C-A0B3-1A2B3C4D5E6F"


async def test_a_thunderbird_export_without_a_name_is_one_imported_calendar(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        answer = await _ics(client, (FIXTURES / "thunderbird.ics").read_bytes())
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["lists"], result["tasks"]) == (1, 2)
        assert result["skipped"] == [{"line": 22, "reason": "a VEVENT is not a task"}]
        (made,) = await lists_of(client)
        assert (made["name"], made["color"]) == ("Imported calendar", None)
        tasks = await tasks_of(client, made["id"])
        assert _ordered(tasks) == ["Write the release notes", "Renew the passport"]  # the file's
        notes, passport = tasks
        assert notes["description"] == (
            "What changed since 2.3, with links to the issues.\nKeep it short."
        )
        assert (notes["due_at"], notes["timezone"]) == ("2031-03-14T16:00:00Z", "Europe/Berlin")
        assert (notes["start_at"], notes["start_date"]) == ("2031-03-10T08:00:00Z", None)
        assert (notes["priority"], notes["tags"]) == ("high", ["work", "writing"])
        assert notes["is_completed"] is False  # IN-PROCESS is open
        assert [r["before_due"] for r in notes["reminders"]] == ["PT15M"]
        assert passport["priority"] == "medium"

        todo = await _dav_object(client, notes)
        assert str(todo["UID"]) == "a7c1e2f3-4b5d-4e6f-9a0b-1c2d3e4f5a6b"
        assert str(todo["STATUS"]) == "IN-PROCESS"
        assert int(todo["PERCENT-COMPLETE"]) == 40
        assert str(todo["X-MOZ-GENERATION"]) == "3"
        assert todo["DTSTART"].dt.isoformat() == "2031-03-10T09:00:00+01:00"
        assert str(todo["DTSTART"].params["TZID"]) == "Europe/Berlin"
        assert str(todo["DUE"].params["TZID"]) == "Europe/Berlin"
        kept = await _dav_object(client, passport)
        assert str(kept["LOCATION"]) == "Bürgeramt Mitte"
        assert str(kept["URL"]) == "https://service.berlin.de/"


async def test_tasks_org_subtasks_recurrences_and_reminders(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        answer = await _ics(client, (FIXTURES / "tasks-org.ics").read_bytes())
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 1, "tasks": 4, "skipped": []}
        (made,) = await lists_of(client)
        assert made["name"] == "Chores"
        tasks = await tasks_of(client, made["id"])
        assert _ordered(tasks) == [
            "Water the plants",
            "Clean the kitchen",
            "- Empty the dishwasher",
            "- Wipe the counters",
        ]
        plants, kitchen = (t for t in tasks if t["parent_id"] is None)
        assert (kitchen["due_at"], kitchen["timezone"]) == (
            "2031-04-05T14:00:00Z",
            "America/New_York",
        )
        assert kitchen["recurrence"] == "FREQ=WEEKLY;BYDAY=SA"
        assert (kitchen["tags"], kitchen["priority"]) == (["home"], "medium")
        assert [r["before_due"] for r in kitchen["reminders"]] == ["PT1H"]
        assert (plants["due_date"], plants["recurrence"]) == ("2031-04-03", "FREQ=DAILY;INTERVAL=3")
        # An all-day task's reminders count back from 09:00: RELATED=END PT8H is an hour before.
        assert [r["before_due"] for r in plants["reminders"]] == ["PT1H"]


async def test_calendars_without_tasks_make_no_list_and_floating_dues_are_the_users(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\nX-WR-CALNAME:Events only\n"
        "BEGIN:VJOURNAL\nUID:j1\nSUMMARY:Notes\nEND:VJOURNAL\nEND:VCALENDAR\n"
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\n"
        "BEGIN:VTODO\nUID:t1\nSUMMARY:Floating\nDUE:20310601T090000\nEND:VTODO\n"
        "BEGIN:VTODO\nUID:t1\nRECURRENCE-ID:20310608T090000\nSUMMARY:Moved\nEND:VTODO\n"
        "END:VCALENDAR\n"
    )
    async with person() as client:
        zone = await client.patch("/api/auth/me", json={"timezone": "Asia/Tokyo"})
        assert zone.status_code == 200, zone.text
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {
            "lists": 1,
            "tasks": 1,
            "skipped": [
                {"line": 5, "reason": "a VJOURNAL is not a task"},
                {
                    "line": 18,
                    "reason": "a change to one occurrence (RECURRENCE-ID) is not imported",
                },
            ],
        }
        (made,) = await lists_of(client)
        assert made["name"] == "Imported calendar"
        (task,) = await tasks_of(client, made["id"])
        assert (task["due_at"], task["timezone"]) == ("2031-06-01T00:00:00Z", "Asia/Tokyo")


async def test_a_rule_a_task_cannot_recur_by_here_is_left_out_and_listed(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """A rule with neither DUE nor DTSTART, or finer than the service recurs: each task comes
    in without its rule, which `skipped` names. Thunderbird's task that repeats by its start
    (DTSTART, no DUE) keeps its rule."""
    body = _calendar(
        *_todo("SUMMARY:Water plants", "DTSTART:20310101T090000Z", "RRULE:FREQ=DAILY", uid="a"),
        *_todo("SUMMARY:Someday", "RRULE:FREQ=DAILY", uid="d"),
        *_todo("SUMMARY:Stretch", "DUE:20310101T100000Z", "RRULE:FREQ=HOURLY", uid="b"),
        *_todo("SUMMARY:Bins", "DUE;VALUE=DATE:20310106", "RRULE:FREQ=WEEKLY", uid="c"),
        "END:VCALENDAR",
    )
    async with person() as client:
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["lists"], result["tasks"]) == (1, 4)
        undated, hourly = result["skipped"]
        assert undated["line"] == 13
        assert undated["reason"] == (
            "its RRULE is left out: a recurring task needs a DUE or a DTSTART"
        )
        assert hourly["line"] == 19
        assert hourly["reason"].startswith("its RRULE is left out: FREQ")
        (made,) = await lists_of(client)
        by_title = {task["title"]: task for task in await tasks_of(client, made["id"])}
        water = by_title["Water plants"]
        assert (water["recurrence"], water["start_at"]) == ("FREQ=DAILY", "2031-01-01T09:00:00Z")
        assert by_title["Someday"]["recurrence"] is None
        assert by_title["Stretch"]["recurrence"] is None
        assert by_title["Stretch"]["due_at"] == "2031-01-01T10:00:00Z"
        assert by_title["Bins"]["recurrence"] == "FREQ=WEEKLY"


async def test_zones_named_the_windows_way_are_their_iana_zones(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\n"
        "DTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
        "DTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VTODO\r\nUID:o1\r\nSUMMARY:Submit the claim\r\n"
        "DUE;TZID=W. Europe Standard Time:20310714T170000\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    async with person() as client:
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        (made,) = await lists_of(client)
        (task,) = await tasks_of(client, made["id"])
        assert (task["due_at"], task["timezone"]) == ("2031-07-14T15:00:00Z", "Europe/Berlin")


def _calendar(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN", *lines]) + "\r\n"


def _todo(*lines: str, uid: str = "u1") -> list[str]:
    return ["BEGIN:VTODO", f"UID:{uid}", *lines, "END:VTODO"]


BROKEN = [
    pytest.param(
        _calendar(*_todo("SUMMARY:Fine"), *_todo("SUMMARY:\u200b", uid="u2"), "END:VCALENDAR"),
        [{"line": 10, "field": "SUMMARY"}],
        id="invisible-summary",
    ),
    pytest.param(
        _calendar(*_todo("SUMMARY:Far", "DUE;TZID=Mars/Olympus:20310101T100000"), "END:VCALENDAR"),
        [{"line": 7, "field": "DUE"}],
        id="unknown-tzid",
    ),
    pytest.param(
        _calendar(*_todo("DESCRIPTION:no title"), "END:VCALENDAR"),
        [{"line": 4, "field": "SUMMARY"}],
        id="no-summary",
    ),
    pytest.param(
        _calendar(*_todo("SUMMARY:A"), *_todo("SUMMARY:B"), "END:VCALENDAR"),
        [{"line": 9, "field": "UID"}],
        id="same-uid-twice",
    ),
    pytest.param(
        _calendar("X-WR-CALNAME:" + "n" * 101, *_todo("SUMMARY:Fine"), "END:VCALENDAR"),
        [{"line": 4, "field": "X-WR-CALNAME"}],
        id="long-calendar-name",
    ),
    pytest.param(
        _calendar(*_todo("SUMMARY:One", "SUMMARY:Two"), "END:VCALENDAR"),
        [{"line": 6, "field": "SUMMARY"}],
        id="summary-twice",
    ),
]


@pytest.mark.parametrize(("body", "where"), BROKEN)
async def test_a_wrong_value_refuses_the_file_naming_its_line(
    person: Callable[..., httpx.AsyncClient], body: str, where: list[dict[str, Any]]
) -> None:
    async with person() as client:
        details = assert_error(await _ics(client, body), 400, "VALIDATION_ERROR")["details"]
        assert [{k: v for k, v in d.items() if k != "message"} for d in details] == where
        assert all(detail["message"] for detail in details)
        assert await lists_of(client) == []
        assert (await client.get("/api/tasks")).json() == []


NOT_ICALENDAR = [
    pytest.param("Buy milk\nCall mum\n", 1, id="plain-text"),
    pytest.param('{"format": "todo-api"}', 1, id="json"),
    pytest.param(_calendar(*_todo("SUMMARY:Fine"), "just words", "END:VCALENDAR"), 8, id="words"),
    pytest.param(_calendar(*_todo("SUMMARY:Fine")), 7, id="never-ended"),
    pytest.param(_calendar("BEGIN:VTODO", "SUMMARY:x", "END:VEVENT", "END:VCALENDAR"), 6, id="end"),
    pytest.param(_calendar(*_todo("SUMMARY:a"), "END:VCALENDAR", "SUMMARY:b"), 9, id="outside"),
    pytest.param(
        _calendar(*_todo("SUMMARY:Fine"), "", " folded after a blank line", "END:VCALENDAR"),
        9,
        id="fold-after-blank",
    ),
    pytest.param(
        _calendar(*_todo("SUMMARY:Fine", "X-BELL:a\x07b"), "END:VCALENDAR"), 7, id="control"
    ),
]


@pytest.mark.parametrize(("body", "line"), NOT_ICALENDAR)
async def test_a_file_that_is_not_icalendar_names_where_it_broke(
    person: Callable[..., httpx.AsyncClient], body: str, line: int
) -> None:
    async with person() as client:
        error = assert_error(await _ics(client, body), 400, "INVALID_REQUEST")
        assert f"line {line}" in error["error"]
        assert [(d["line"], d["field"]) for d in error["details"]] == [(line, "file")]
        assert await lists_of(client) == []
        assert (await client.get("/api/tasks")).json() == []
        not_utf8 = await _ics(client, b"BEGIN:VCALENDAR\r\nX-A:\xff\xfe\r\nEND:VCALENDAR\r\n")
        assert_error(not_utf8, 400, "INVALID_REQUEST")


async def test_the_same_file_with_the_same_key_imports_once_and_events_follow(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        hook = await client.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:1/hook", "events": ["task.created"]}
        )
        assert hook.status_code == 201, hook.text
        start = await client.get("/api/tasks/changes")
        body = (FIXTURES / "tasks-org.ics").read_bytes()
        key = {"Idempotency-Key": "tasks-org-2031-04-01"}
        first = await _ics(client, body, headers=key)
        assert first.status_code == 200, first.text
        again = await _ics(client, body, headers=key)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        (made,) = await lists_of(client)

        page = await read_feed(client, start.json()["next"], wait_for=[made["id"]])
        assert len(page["changes"]) == 4
        deliveries = await client.get(f"/api/webhooks/{hook.json()['id']}/deliveries")
        assert [row["type"] for row in deliveries.json()] == ["task.created"] * 4
        assert len(await tasks_of(client, made["id"])) == 4


async def test_what_synology_and_thunderbird_wrote_is_read_with_its_creation_time(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """Synology's `PERCENT_COMPLETE:100` (a name with an underscore) is left out and listed,
    never refusing the file; `CREATED` (floating as Synology writes it, UTC as Thunderbird
    does) becomes the task's created_at."""
    async with person() as client:
        synology = (FIXTURES / "synology-complete_with_date.ics").read_bytes()
        answer = await _ics(client, synology)
        assert answer.status_code == 200, answer.text
        assert answer.json()["tasks"] == 1
        [skipped] = answer.json()["skipped"]
        assert skipped["line"] == 18
        assert "PERCENT_COMPLETE" in skipped["reason"]
        answer = await _ics(client, (FIXTURES / "synology-complete_no_due_date.ics").read_bytes())
        assert answer.status_code == 200, answer.text
        answer = await _ics(client, (FIXTURES / "thunderbird-basic-completed.ics").read_bytes())
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == []
        made = {t["title"]: t for t in (await client.get("/api/tasks")).json()}
        assert made["Date"]["created_at"] == "2019-01-11T08:55:01Z"
        assert made["Date"]["due_date"] == "2019-01-12"
        assert made["Date"]["is_completed"] is True
        assert made["No date"]["created_at"] == "2019-01-11T08:54:45Z"
        assert made["Test"]["created_at"] == "2018-04-17T21:24:22Z"
        assert made["Test"]["completed_at"] == "2018-04-17T21:24:29Z"


LIBERAL = [
    pytest.param("PRIORITY:", "PRIORITY", id="horde-empty-priority"),
    pytest.param("PRIORITY:high", "PRIORITY", id="priority-not-a-number"),
    pytest.param("DUE:", "DUE", id="empty-due"),
    pytest.param("DUE:2031-13-45", "DUE", id="malformed-due"),
    pytest.param("CREATED:last week", "CREATED", id="malformed-created"),
    pytest.param("X_MY_FLAG:1", "X_MY_FLAG", id="underscore-in-a-name"),
]


@pytest.mark.parametrize(("line", "name"), LIBERAL)
async def test_a_property_that_cannot_be_read_is_left_out_and_listed(
    person: Callable[..., httpx.AsyncClient], line: str, name: str
) -> None:
    body = _calendar(*_todo("SUMMARY:Kept", "STATUS:NEEDS-ACTION", line), "END:VCALENDAR")
    async with person() as client:
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        [skipped] = answer.json()["skipped"]
        assert skipped["line"] == 8
        assert name in skipped["reason"]
        [task] = (await client.get("/api/tasks")).json()
        assert task["title"] == "Kept"
        assert task["priority"] == "none"
        assert task["due_at"] is None
        assert task["due_date"] is None


async def test_an_alarm_that_cannot_be_read_is_left_out_and_the_rest_kept(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = _calendar(
        *_todo(
            "SUMMARY:Remind",
            "DUE:20310101T100000Z",
            "COMPLETED:yesterday",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;VALUE=DATE-TIME:2031-01-01",
            "END:VALARM",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;RELATED=END:-PT15M",
            "END:VALARM",
        ),
        "END:VCALENDAR",
    )
    async with person() as client:
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        assert [(s["line"], s["reason"].split()[0]) for s in answer.json()["skipped"]] == [
            (8, "COMPLETED"),
            (9, "its"),
        ]
        [task] = (await client.get("/api/tasks")).json()
        assert task["due_at"] == "2031-01-01T10:00:00Z"
        assert [r["before_due"] for r in task["reminders"]] == ["PT15M"]


async def test_a_summary_too_long_is_cut_and_kept_whole_in_the_description(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    title = "word " * 50  # 250 characters
    body = _calendar(*_todo(f"SUMMARY:{title}", "DESCRIPTION:notes"), "END:VCALENDAR")
    async with person() as client:
        answer = await _ics(client, body)
        assert answer.status_code == 200, answer.text
        [skipped] = answer.json()["skipped"]
        assert skipped["line"] == 6
        assert "SUMMARY" in skipped["reason"]
        [task] = (await client.get("/api/tasks")).json()
        assert task["title"] == ("word " * 40).strip()
        assert task["description"] == f"{title.strip()}\n\nnotes"


@pytest.mark.parametrize(
    ("fixture", "title", "completed_at", "due", "following_due"),
    [
        (
            "thunderbird-completed-occurrence.ics",
            "Water the plants",
            "2026-11-20T07:45:00Z",
            "2026-11-19T08:00:00Z",
            "2026-11-26T08:00:00Z",
        ),
        (
            "em-client-completed-occurrence.ics",
            "Pay the rent",
            "2026-11-25T18:15:00Z",
            "2026-11-01T08:00:00Z",
            "2026-12-01T08:00:00Z",
        ),
    ],
)
async def test_a_completed_occurrence_is_imported_completed_and_the_task_moves_on(
    person: Callable[..., httpx.AsyncClient],
    fixture: str,
    title: str,
    completed_at: str,
    due: str,
    following_due: str,
) -> None:
    """Thunderbird and eM Client export an occurrence checked off as the series and an
    override of it (RECURRENCE-ID, STATUS:COMPLETED): the occurrence is completed at the
    override's COMPLETED, as a CalDAV PUT of the same completes it, and the next one follows;
    the override is no change left out."""
    async with person() as client:
        answer = await _ics(client, (FIXTURES / fixture).read_bytes())
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == []
        (made,) = await lists_of(client)
        [task] = await tasks_of(client, made["id"])  # one task, at its next occurrence
        assert task["title"] == title
        assert (task["is_completed"], task["due_at"]) == (False, following_due)
        assert task["recurrence"] is not None
        [done] = (await client.get(f"/api/tasks/{task['id']}/completions")).json()
        assert (done["occurrence"], done["completed_at"]) == (due, completed_at)
        todo = await _dav_object(client, task)
        assert "STATUS" not in todo or str(todo["STATUS"]) == "NEEDS-ACTION"
        assert "RRULE" in todo
