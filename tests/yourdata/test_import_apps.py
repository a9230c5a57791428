"""Imports from the apps people leave, from files like theirs (tests/fixtures): Todoist's CSV
and Google Takeout's Tasks.json."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.yourdata.helpers import FIXTURES, counts, import_file, lists_of, tasks_of


def _today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


async def test_a_todoist_csv_becomes_one_list(person: Callable[..., httpx.AsyncClient]) -> None:
    async with person() as client:
        body = (FIXTURES / "todoist.csv").read_bytes()
        answer = await import_file(client, "todoist", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["lists"] == 1
        assert result["tasks"] == 9
        assert result["sections"] == 2
        assert result["comments"] == 1
        assert [(s["line"], s["reason"].split()[0]) for s in result["skipped"]] == [
            (11, "DURATION"),
        ]
        (made,) = await lists_of(client)
        assert made["name"] == "Todoist import"
        tasks = await tasks_of(client, made["id"])
        top = [t for t in tasks if t["parent_id"] is None]
        assert [t["title"] for t in top] == [
            "Plan the trip",
            "Water the plants",
            "Take out the bins",
            "Post the parcel",
            "Renew the library card",
            "Paint the fence",
        ]
        by_title = {t["title"]: t for t in tasks}
        plan = by_title["Plan the trip"]
        assert plan["priority"] == "high"
        assert plan["description"] == "Flights first"
        assert plan["due_date"] == "2031-05-01"
        assert plan["timezone"] == "Europe/Lisbon"
        subtasks = [t for t in tasks if t["parent_id"] == plan["id"]]
        # INDENT 2, and 3 (under its top-level ancestor), in the file's order.
        assert [t["title"] for t in subtasks] == ["Book flights", "Compare fares"]
        flights = by_title["Book flights"]
        assert flights["priority"] == "medium"
        assert flights["due_at"] == "2031-04-20T17:30:00Z"  # 18:30 in Lisbon's summer time
        assert by_title["Compare fares"]["priority"] == "none"

        water = by_title["Water the plants"]
        assert water["priority"] == "low"
        assert water["recurrence"] == "FREQ=DAILY"
        assert water["due_date"] == _today("Europe/Lisbon").isoformat()
        bins = by_title["Take out the bins"]
        assert bins["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,TH"
        assert date.fromisoformat(bins["due_date"]).weekday() in (0, 3)
        assert bins["tags"] == []
        parcel = by_title["Post the parcel"]
        assert parcel["description"] == "Before noon, at the counter"
        assert parcel["priority"] == "none"
        assert parcel["due_at"] == "2031-06-03T15:30:00Z"
        assert parcel["timezone"] == "America/New_York"
        card = by_title["Renew the library card"]  # every other friday: the next one first
        assert card["recurrence"] == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"
        # Its DEADLINE beside a DATE: in plain words, as the API has no deadline.
        assert card["description"] == "Deadline: 2031-07-01"
        # The note after "Compare fares" (line 6) is a comment on it.
        notes = await client.get(f"/api/tasks/{by_title['Compare fares']['id']}/comments")
        assert [c["body"] for c in notes.json()] == ["Window seat, please"]
        today = _today("Europe/Lisbon")
        assert card["due_date"] == (today + timedelta(days=(4 - today.weekday()) % 7)).isoformat()
        fence = by_title["Paint the fence"]
        assert fence["recurrence"] == "FREQ=WEEKLY;INTERVAL=2"
        assert fence["tags"] == []
        assert fence["timezone"] == "UTC"  # the file names none: the user's

        # Its sections, in the file's order, each with the tasks after it; a subtask in its
        # parent's.
        sections = (await client.get(f"/api/lists/{made['id']}/sections")).json()
        assert [s["name"] for s in sections] == ["Errands", "Home Projects"]
        errands, projects = (s["id"] for s in sections)
        in_section = {t["title"]: t["section_id"] for t in tasks}
        assert in_section == {
            "Plan the trip": None,
            "Book flights": None,
            "Compare fares": None,
            "Water the plants": None,
            "Take out the bins": errands,
            "Post the parcel": errands,
            "Renew the library card": errands,
            "Paint the fence": projects,
            "Buy the paint": projects,
        }
        assert by_title["Buy the paint"]["parent_id"] == fence["id"]


async def test_a_todoist_import_takes_the_list_name_given(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        made = await client.post("/api/lists", json={"name": "Holidays"})
        assert made.status_code == 201, made.text
        body = (FIXTURES / "todoist.csv").read_bytes()
        for again in ("false", "true"):  # the second run asks for a second copy
            answer = await import_file(
                client, "todoist", body, content_type="text/csv", list="Holidays", again=again
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["tasks"] == 9
        # A name the user has already gets a number.
        assert [item["name"] for item in await lists_of(client)] == [
            "Holidays",
            "Holidays (2)",
            "Holidays (3)",
        ]


async def test_google_takeout_tasks_become_lists(person: Callable[..., httpx.AsyncClient]) -> None:
    async with person() as client:
        body = (FIXTURES / "google-tasks.json").read_bytes()
        answer = await import_file(client, "google-tasks", body)
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {
            "lists": 2,
            "tasks": 6,
            "skipped": [{"index": "items[0].items[5]", "reason": "deleted in Google Tasks"}],
        }
        mine, shopping = await lists_of(client)
        assert (mine["name"], shopping["name"]) == ("My Tasks", "Shopping")
        assert (mine["open_count"], shopping["open_count"]) == (3, 1)
        tasks = await tasks_of(client, mine["id"])
        top = [t for t in tasks if t["parent_id"] is None]
        # By Google's position, not the file's order; the hidden (cleared) one included.
        assert [t["title"] for t in top] == [
            "Prepare the party",
            "Call the plumber",
            "Pay the rent",
        ]
        party, plumber, rent = top
        assert plumber["description"] == "The kitchen tap drips"
        assert plumber["due_date"] == "2031-02-12"
        assert plumber["is_completed"] is False
        assert rent["is_completed"] is True
        assert rent["completed_at"] == "2026-02-01T08:00:00Z"  # a time to come would be now
        subtasks = [t for t in tasks if t["parent_id"] == party["id"]]
        assert [t["title"] for t in subtasks] == ["Order the cake", "Send the invitations"]
        assert subtasks[0]["due_date"] == "2031-02-14"
        assert subtasks[1]["is_completed"] is True
        assert [t["title"] for t in await tasks_of(client, shopping["id"])] == ["Oat milk"]


async def test_todoist_sections_a_list_cannot_take_are_listed_and_their_tasks_in_none(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    header = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE"
    rows = [
        header,
        "section,Errands,,,,,,,,",
        "task,Buy milk,,4,1,Sam (1),,,en,",
        "section,ERRANDS,,,,,,,,",  # the same name, ignoring case
        "task,Buy bread,,4,1,Sam (1),,,en,",
        "section,,,,,,,,,",  # no name
        "task,Buy eggs,,4,1,Sam (1),,,en,",
    ]
    async with person() as client:
        body = ("\r\n".join(rows) + "\r\n").encode()
        answer = await import_file(client, "todoist", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == [
            {"line": 4, "reason": "section ERRANDS left out"},
            {"line": 6, "reason": "a section without a name"},
        ]
        (made,) = await lists_of(client)
        [errands] = (await client.get(f"/api/lists/{made['id']}/sections")).json()
        tasks = await tasks_of(client, made["id"])
        assert [(t["title"], t["section_id"]) for t in tasks] == [
            ("Buy milk", errands["id"]),
            ("Buy bread", None),
            ("Buy eggs", None),
        ]


async def test_todoists_data_brings_its_sub_projects_inside_their_parents(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FIXTURES / "todoist-projects.json").read_bytes()
        answer = await import_file(client, "todoist", body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["lists"] == 4
        assert answer.json()["tasks"] == 5
        lists = await lists_of(client)
        names = {item["id"]: item["name"] for item in lists}
        assert {item["name"]: names.get(item["parent_id"]) for item in lists} == {
            "Work": None,
            "Client": "Work",
            "Launch": "Client",
            "Home": None,
        }
        client_id = next(item["id"] for item in lists if item["name"] == "Client")
        tasks = {task["title"]: task for task in await tasks_of(client, client_id)}
        assert tasks["Send the proposal"]["priority"] == "high"
        assert tasks["Send the proposal"]["tags"] == ["email"]
        assert tasks["Send the proposal"]["due_date"] == "2031-03-02"
        assert tasks["Check the prices"]["parent_id"] == tasks["Send the proposal"]["id"]
        found = await client.get("/api/tasks", params={"filter": "##Work", "sort": "title"})
        assert [task["title"] for task in found.json()] == [
            "Book the room",
            "Check the prices",
            "Send the proposal",
        ]
        inbox = await client.get("/api/tasks", params={"list_id": "inbox"})
        assert [task["title"] for task in inbox.json()] == ["Call the bank"]


async def test_another_apps_json_given_as_todoists_is_refused_and_nothing_made(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = b'{"lists": [{"name": "Work"}], "tasks": [{"title": "Milk"}]}'
        answer = await import_file(client, "todoist", body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "INVALID_REQUEST"
        assert "Todoist" in answer.text
        assert await lists_of(client) == []
