"""The web app's import (Settings → Your data): the format told from the file or chosen, the
Todoist list named after the file, what was made shown, a second run of the same file making
nothing, and a broken file refused with nothing written."""

import re
from pathlib import Path

import httpx
import pytest

from tests.web.test_pages import Account, account, app, signed_in  # noqa: F401 (fixtures)

FIXTURES = Path(__file__).parent.parent / "fixtures"
IMPORTS = FIXTURES / "imports"


async def _import(
    person: Account, name: str, body: bytes, kind: str, **fields: str
) -> httpx.Response:
    page = await person.browser.get("/app/settings/data")
    assert page.status_code == 200, page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return await person.browser.post(
        "/app/settings/data/import",
        data={"csrf_token": token[1], **fields},
        files={"file": (name, body, kind)},
    )


async def _lists(person: Account) -> list[str]:
    listed = await person.api.get("/api/lists", headers=person.headers)
    return [item["name"] for item in listed.json()]


async def test_the_page_offers_every_format_and_detection_first(
    signed_in: Account,  # noqa: F811
) -> None:
    page = await signed_in.browser.get("/app/settings/data")
    options = re.findall(r'<option value="([^"]+)">', page.text)
    assert options[:8] == [
        "auto",
        "todo-api",
        "ics",
        "todoist",
        "google-tasks",
        "trello",
        "ticktick",
        "microsoft-todo",
    ]
    assert {"sections", "lists"} <= set(options)  # a Trello board's lists become…


async def test_a_todoist_file_names_its_list_and_keeps_notes_and_deadlines(
    signed_in: Account,  # noqa: F811
) -> None:
    body = (FIXTURES / "todoist.csv").read_bytes()
    answer = await _import(signed_in, "Trip to Lisbon.csv", body, "text/csv", source="auto")
    assert answer.status_code == 200, answer.text
    assert "Read as: Todoist (CSV or JSON)." in answer.text
    assert await _lists(signed_in) == ["Trip to Lisbon"]
    by_title = {task["title"]: task for task in await signed_in.tasks(limit="100")}
    assert by_title["Renew the library card"]["description"] == "Deadline: 2031-07-01"
    notes = await signed_in.api.get(
        f"/api/tasks/{by_title['Compare fares']['id']}/comments", headers=signed_in.headers
    )
    assert [note["body"] for note in notes.json()] == ["Window seat, please"]


async def test_a_trello_board_as_lists_and_its_second_run_makes_nothing(
    signed_in: Account,  # noqa: F811
) -> None:
    body = (IMPORTS / "trello-deck-board.json").read_bytes()
    first = await _import(signed_in, "board.json", body, "application/json", trello="lists")
    assert first.status_code == 200, first.text
    assert "Read as: Trello (a board&#39;s JSON export)." in first.text
    assert await _lists(signed_in) == ["TODO"]
    again = await _import(signed_in, "copy.json", body, "application/json", trello="lists")
    assert again.status_code == 200, again.text
    assert "imported already" in again.text
    assert await _lists(signed_in) == ["TODO"]
    assert len(await signed_in.tasks()) == 1


# One file of each source the form reads (tests/fixtures/README.md says where each came from).
EACH_SOURCE = {
    "todoist-csv": (FIXTURES / "todoist.csv", "text/csv"),
    "todoist-json": (FIXTURES / "todoist-projects.json", "application/json"),
    "google-tasks": (FIXTURES / "google-tasks.json", "application/json"),
    "ics": (FIXTURES / "apple-reminders.ics", "text/calendar"),
    "trello": (IMPORTS / "trello-deck-board.json", "application/json"),
    "ticktick": (IMPORTS / "ticktick-vikunja-export.csv", "text/csv"),
    "microsoft-todo": (IMPORTS / "microsoft-todo-graph.json", "application/json"),
}


@pytest.mark.parametrize("name", sorted(EACH_SOURCE))
async def test_each_source_s_second_run_makes_nothing(
    signed_in: Account,  # noqa: F811
    name: str,
) -> None:
    path, kind = EACH_SOURCE[name]
    body = path.read_bytes()
    first = await _import(signed_in, path.name, body, kind, source="auto")
    assert first.status_code == 200, first.text
    said = re.search(r"Read as: [^<]*", first.text)
    assert said is not None
    assert "Imported: 0 lists, 0 tasks." not in first.text
    lists, tasks = await _lists(signed_in), await signed_in.tasks(limit="100")
    assert tasks
    again = await _import(signed_in, path.name, body, kind, source="auto")
    assert again.status_code == 200, again.text
    assert said[0] in again.text  # read as the first run read it
    assert "Imported: 0 lists, 0 tasks." in again.text
    assert "this file was imported already" in again.text
    assert await _lists(signed_in) == lists
    assert await signed_in.tasks(limit="100") == tasks


async def test_the_file_imported_again_when_asked(
    signed_in: Account,  # noqa: F811
) -> None:
    page = await signed_in.browser.get("/app/settings/data")
    assert '<input type="checkbox" name="again" value="1">' in page.text
    body = (FIXTURES / "todoist.csv").read_bytes()
    for again in ("", "", "1"):
        answer = await _import(signed_in, "Trip.csv", body, "text/csv", source="auto", again=again)
        assert answer.status_code == 200, answer.text
    assert "Imported: 1 list, 9 tasks." in answer.text
    assert await _lists(signed_in) == ["Trip", "Trip (2)"]


async def test_a_file_imported_through_the_api_is_not_made_again_by_the_page(
    signed_in: Account,  # noqa: F811
) -> None:
    body = (FIXTURES / "google-tasks.json").read_bytes()
    made = await signed_in.api.post(
        "/api/import",
        params={"source": "google-tasks"},
        content=body,
        headers={**signed_in.headers, "Content-Type": "application/json"},
    )
    assert made.status_code == 200, made.text
    lists = await _lists(signed_in)
    again = await _import(signed_in, "Tasks.json", body, "application/json", source="auto")
    assert again.status_code == 200, again.text
    assert "Imported: 0 lists, 0 tasks." in again.text
    assert await _lists(signed_in) == lists


async def test_a_ticktick_and_a_to_do_file_chosen_by_name(
    signed_in: Account,  # noqa: F811
) -> None:
    ticktick = (IMPORTS / "ticktick-vikunja-export.csv").read_bytes()
    made = await _import(signed_in, "backup.csv", ticktick, "text/csv", source="ticktick")
    assert made.status_code == 200, made.text
    assert "Imported: 4 lists, 11 tasks." in made.text
    graph = (IMPORTS / "microsoft-todo-graph.json").read_bytes()
    made = await _import(signed_in, "todo.json", graph, "application/json", source="auto")
    assert made.status_code == 200, made.text
    assert "Read as: Microsoft To Do" in made.text
    assert "Monthly Tasks" in await _lists(signed_in)


async def test_a_broken_file_says_where_and_writes_nothing(
    signed_in: Account,  # noqa: F811
) -> None:
    text = (IMPORTS / "ticktick-vikunja-export.csv").read_text()
    broken = text.replace('"","0","0","2022-10-09T15:09:48', '"","9","0","2022-10-09T15:09:48', 1)
    answer = await _import(signed_in, "backup.csv", broken.encode(), "text/csv", source="auto")
    assert answer.status_code == 400, answer.text
    assert "Line 8, Priority: must be 0 (none)" in answer.text
    unknown = await _import(signed_in, "notes.txt", b"just words", "text/plain", source="auto")
    assert unknown.status_code == 400, unknown.text
    assert await _lists(signed_in) == []
    assert await signed_in.tasks() == []
