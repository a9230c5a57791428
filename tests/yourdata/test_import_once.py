"""An import run twice makes nothing the second time, whatever the file's source: the second
answer has the first's form with nothing made, and `again=true` imports the file anew."""

import json
from collections.abc import Callable

import httpx
import pytest

from tests.yourdata.helpers import FIXTURES, content, export, import_file

IMPORTS = FIXTURES / "imports"
# Each source's file, as the app wrote it (tests/fixtures/README.md says where each came from).
FILES = {
    "todoist-csv": ("todoist", FIXTURES / "todoist.csv", "text/csv"),
    "todoist-json": ("todoist", FIXTURES / "todoist-projects.json", "application/json"),
    "google-tasks": ("google-tasks", FIXTURES / "google-tasks.json", "application/json"),
    "ics": ("ics", FIXTURES / "apple-reminders.ics", "text/calendar"),
    "trello": ("trello", IMPORTS / "trello-deck-board.json", "application/json"),
    "ticktick": ("ticktick", IMPORTS / "ticktick-vikunja-export.csv", "text/csv"),
    "microsoft-todo": ("microsoft-todo", IMPORTS / "microsoft-todo-graph.json", "application/json"),
}
MADE = ("lists", "sections", "tasks", "comments")


async def _exported(person: Callable[..., httpx.AsyncClient]) -> bytes:
    """This service's export of another person's list and task."""
    async with person() as other:
        made = await other.post("/api/lists", json={"name": "Work"})
        assert made.status_code == 201, made.text
        task = {"title": "Report", "list_id": made.json()["id"]}
        assert (await other.post("/api/tasks", json=task)).status_code == 201
        return json.dumps(await export(other)).encode()


async def _second_run_makes_nothing(
    client: httpx.AsyncClient, source: str, body: bytes, kind: str, **params: str
) -> None:
    first = await import_file(client, "auto", body, content_type=kind, **params)
    assert first.status_code == 200, first.text
    assert first.json()["source"] == source
    assert sum(first.json()[name] for name in MADE) > 0
    held = content(await export(client))

    again = await import_file(client, source, body, content_type=kind, **params)
    assert again.status_code == first.status_code, again.text
    assert again.json().keys() == first.json().keys()
    assert again.json()["source"] == source
    assert {name: again.json()[name] for name in MADE} == dict.fromkeys(MADE, 0)
    assert [item["reason"] for item in again.json()["skipped"]] == [
        "this file was imported already: nothing made again"
    ]
    assert content(await export(client)) == held

    # Asked for: made anew, as the first run made it.
    anew = await import_file(client, source, body, content_type=kind, again="true", **params)
    assert anew.status_code == 200, anew.text
    assert {name: anew.json()[name] for name in MADE} == {name: first.json()[name] for name in MADE}
    assert content(await export(client)) != held


@pytest.mark.parametrize("name", sorted(FILES))
async def test_each_source_s_second_run_makes_nothing(
    person: Callable[..., httpx.AsyncClient], name: str
) -> None:
    source, path, kind = FILES[name]
    async with person() as client:
        await _second_run_makes_nothing(client, source, path.read_bytes(), kind)


async def test_this_service_s_export_imported_twice_makes_it_once(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = await _exported(person)
    async with person() as client:
        await _second_run_makes_nothing(client, "todo-api", body, "application/json")


async def test_the_same_file_read_another_way_is_another_import(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = (FIXTURES / "todoist.csv").read_bytes()
    async with person() as client:
        first = await import_file(client, "todoist", body, content_type="text/csv", list="A")
        assert first.status_code == 200, first.text
        other = await import_file(client, "todoist", body, content_type="text/csv", list="B")
        assert other.status_code == 200, other.text
        assert other.json()["tasks"] == first.json()["tasks"]
        # Under another file's name, the same bytes are the same file.
        renamed = await import_file(
            client,
            "todoist",
            body,
            content_type="text/csv",
            list="A",
            headers={"Content-Disposition": 'attachment; filename="copy.csv"'},
        )
        assert renamed.json()["tasks"] == 0
        names = [item["name"] for item in (await client.get("/api/lists")).json()]
        assert names == ["A", "B"]


async def test_another_person_s_import_of_the_same_file_is_theirs(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    body = (FIXTURES / "google-tasks.json").read_bytes()
    async with person() as alice, person() as bob:
        first = await import_file(alice, "google-tasks", body)
        assert first.status_code == 200, first.text
        theirs = await import_file(bob, "google-tasks", body)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["tasks"] == first.json()["tasks"] > 0
