"""Imports from Trello, TickTick and Microsoft To Do, from the apps' own files
(tests/fixtures/imports, each with where it came from); the format told from the content; a
broken file is refused whole, naming where (a second run of a file: test_import_once)."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.yourdata.helpers import import_file, lists_of, tasks_of

FILES = Path(__file__).parent.parent / "fixtures" / "imports"


def _json(name: str) -> Any:
    return json.loads((FILES / name).read_bytes())


def _trello_board() -> dict[str, Any]:
    """Deck's Trello export, with Trello's own checklist, link attachment and comments (from
    its API, tests/fixtures/imports) put on its card, and a second, archived copy of the
    card."""
    board: dict[str, Any] = _json("trello-deck-board.json")
    (card,) = board["cards"]
    checklist = _json("trello-api-checklist.json")
    checklist["idCard"] = card["id"]
    board["checklists"] = [checklist]
    card["attachments"] = [_json("trello-api-attachment.json")]
    comments = _json("trello-api-comment-actions.json")
    for action in comments:
        action["data"]["card"]["id"] = card["id"]
    board["actions"] = comments + board["actions"]  # newest first, as Trello writes them
    archived = copy.deepcopy(card)
    archived.update(id="5c6e8a7f1d2b3c4d5e6f7081", name="Archived card", closed=True, pos=70000)
    archived["attachments"] = []
    board["cards"].append(archived)
    return board


def _field(error: dict[str, Any]) -> str:
    (detail,) = error["details"]
    field: str = detail["field"]
    return field


async def _nothing_imported(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/lists")).json() == []
    assert (await client.get("/api/tasks")).json() == []


async def test_a_trello_board_becomes_one_list_with_its_lists_as_sections(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = json.dumps(_trello_board())
        answer = await import_file(client, "auto", body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["source"] == "trello"
        assert (result["lists"], result["sections"], result["tasks"]) == (1, 1, 3)
        assert result["comments"] == 2
        (made,) = await lists_of(client)
        assert made["name"] == "Test Board Name"
        (section,) = (await client.get(f"/api/lists/{made['id']}/sections")).json()
        assert section["name"] == "TODO"
        tasks = await tasks_of(client, made["id"])
        by_title = {task["title"]: task for task in tasks}
        card = by_title["Name Card 7"]
        assert card["section_id"] == section["id"]
        assert not card["is_completed"]
        # The attachment's link, after the (empty) description.
        assert (
            card["description"] == "Attachments:\n- test: https://github.com/adlio/trello/pull/27"
        )
        # The checklist's item, complete in Trello: a completed subtask.
        (item,) = [task for task in tasks if task["parent_id"] == card["id"]]
        assert (item["title"], item["is_completed"]) == ("Example checkItem", True)
        # Archived (closed): completed.
        assert by_title["Archived card"]["is_completed"]
        # The commentCard actions, oldest first, at Trello's times.
        comments = (await client.get(f"/api/tasks/{card['id']}/comments")).json()
        assert [c["body"] for c in comments] == ["ok im done.\nbye", "..."]
        assert all(c["created_at"].startswith("2015-10-1") for c in comments)


async def test_trello_lists_become_lists_when_asked(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FILES / "trello-deck-board.json").read_bytes()
        answer = await import_file(client, "trello", body, trello="lists")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["lists"], answer.json()["sections"]) == (1, 0)
        (made,) = await lists_of(client)
        assert made["name"] == "TODO"
        assert [task["title"] for task in await tasks_of(client, made["id"])] == ["Name Card 7"]
        wrong = await import_file(client, "trello", body, trello="boards")
        assert _field(assert_error(wrong, 400, "VALIDATION_ERROR")) == "trello"


async def test_a_ticktick_backup_keeps_folders_lists_tags_subtasks_and_completion(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FILES / "ticktick-vikunja-export.csv").read_bytes()
        answer = await import_file(client, "auto", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        assert (answer.json()["source"], answer.json()["tasks"]) == ("ticktick", 11)
        lists = {item["name"]: item for item in await lists_of(client)}
        assert set(lists) == {"Work", "Project Alpha", "Personal", "Shopping"}
        # A folder is a list the folder's lists are inside.
        assert lists["Project Alpha"]["parent_id"] == lists["Work"]["id"]
        assert lists["Shopping"]["parent_id"] == lists["Personal"]["id"]
        alpha = {t["title"]: t for t in await tasks_of(client, lists["Project Alpha"]["id"])}
        dated = alpha["Task with reminder and dates"]
        # All day: the day it is in the row's zone (23:00 UTC is the next day in Berlin).
        assert (dated["due_date"], dated["timezone"]) == ("2018-12-12", "Europe/Berlin")
        assert dated["tags"] == ["work", "reminder"]
        assert dated["created_at"] == "2018-12-11T20:10:46Z"
        subtasks = [t["title"] for t in alpha.values() if t["parent_id"] == dated["id"]]
        assert subtasks == ["Subtask example", "Another subtask"]
        inbox = {t["title"]: t for t in await tasks_of(client, "inbox")}
        done = inbox["Completed task example"]  # Status 2
        assert (done["is_completed"], done["completed_at"]) == (True, "2025-11-25T10:39:31Z")
        assert not inbox["Welcome task"]["is_completed"]


async def test_ticktick_repeat_rules_priorities_and_dates_without_an_offset(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """The repeat rule is the one Vikunja's TickTick tests read from TickTick
    (`FREQ=WEEKLY;INTERVAL=1;UNTIL=…`), put on the backup's dated row with priority 5."""
    text = (FILES / "ticktick-vikunja-export.csv").read_text()
    row = '"2023-03-28T22:00:00+0000","2023-03-28T22:00:00+0000","",""'
    assert row in text
    rule = "FREQ=WEEKLY;INTERVAL=1;UNTIL=20300117T210000Z"
    text = text.replace(row, row[:-2] + f'"RRULE:{rule}"', 1)
    text = text.replace(f'"RRULE:{rule}","0"', f'"RRULE:{rule}","5"', 1)
    async with person() as client:
        answer = await import_file(client, "ticktick", text, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        inbox = {t["title"]: t for t in await tasks_of(client, "inbox")}
        task = inbox["Task with due date"]
        # As the API keeps a rule: INTERVAL=1 is the default, left out.
        assert task["recurrence"] == "FREQ=WEEKLY;UNTIL=20300117T210000Z"
        assert task["priority"] == "high"
        spaced = (FILES / "ticktick-vikunja-space_dates.csv").read_bytes()
        answer = await import_file(client, "ticktick", spaced, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        beta = {item["name"]: item for item in await lists_of(client)}["Project Beta"]
        tasks = {t["title"]: t for t in await tasks_of(client, beta["id"])}
        # "2026-02-27 14:59:52" on Berlin's clock.
        assert tasks["Task with space dates"]["due_at"] == "2026-02-27T13:59:52Z"
        multiline = (FILES / "ticktick-vikunja-multiline.csv").read_bytes()
        answer = await import_file(client, "ticktick", multiline, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        titles = [t["title"] for t in (await client.get("/api/tasks?limit=100")).json()]
        assert "Task with multiline description" in titles


async def test_microsoft_to_do_lists_from_graph(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FILES / "microsoft-todo-graph.json").read_bytes()
        answer = await import_file(client, "auto", body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert (result["source"], result["lists"], result["tasks"]) == ("microsoft-todo", 1, 6)
        (made,) = await lists_of(client)
        assert made["name"] == "Monthly Tasks"
        # The default list ("Tasks") is the inbox.
        inbox = [t["title"] for t in await tasks_of(client, "inbox")]
        assert inbox == ["Linked entity new task 1", "empty task3"]
        tasks = await tasks_of(client, made["id"])
        by_title = {t["title"]: t for t in tasks}
        shop = by_title["Shop for dinner"]
        assert (shop["priority"], shop["tags"]) == ("low", ["important", "urgent"])
        # 04:00 UTC is no midnight there: a due time.
        assert (shop["due_at"], shop["due_date"]) == ("2020-08-25T04:00:00Z", None)
        assert shop["created_at"] == "2020-07-22T10:39:03.793797Z"
        checklist = [t["title"] for t in tasks if t["parent_id"] == shop["id"]]
        assert checklist == ["Create draft", "Review with the team"]
        assert by_title["A new task"]["description"] == "Links:\nhttp://microsoft.com"


async def test_microsoft_to_do_recurrence_importance_and_status(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """Graph's documented `patternedRecurrence` on the file's dated task, made high and
    completed with Graph's own values for those fields."""
    document = _json("microsoft-todo-graph.json")
    shop = document["value"][1]["tasks"][0]
    shop["recurrence"] = _json("microsoft-graph-recurrence.json")
    shop["dueDateTime"] = {"dateTime": "2020-08-25T00:00:00.0000000", "timeZone": "UTC"}
    other = document["value"][1]["tasks"][1]
    other.update(importance="high", status="completed")
    other["completedDateTime"] = {"dateTime": "2020-08-19T00:00:00.0000000", "timeZone": "UTC"}
    async with person() as client:
        answer = await import_file(client, "microsoft-todo", json.dumps(document))
        assert answer.status_code == 200, answer.text
        (made,) = await lists_of(client)
        by_title = {t["title"]: t for t in await tasks_of(client, made["id"])}
        shop_made = by_title["Shop for dinner"]
        # Midnight where it is due: To Do's day.
        assert shop_made["due_date"] == "2020-08-25"
        # Its end (`range.endDate`): the end of that day, as the API keeps an UNTIL.
        assert shop_made["recurrence"] == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20171231T235959Z"
        done = by_title["A new task"]
        assert (done["priority"], done["is_completed"]) == ("high", True)
        assert done["completed_at"] == "2020-08-19T00:00:00Z"


BROKEN = [
    pytest.param(
        "ticktick",
        lambda: (
            (FILES / "ticktick-vikunja-export.csv")
            .read_text()
            .replace(
                '"N","","","","","0","0","2022-10-09T15:09:48',
                '"N","","","","","9","0","2022-10',
                1,
            )
        ),
        {"line": 8, "field": "Priority"},
        id="ticktick-priority",
    ),
    pytest.param(
        "ticktick",
        lambda: (
            (FILES / "ticktick-vikunja-export.csv")
            .read_text()
            .replace('"2023-03-28T22:00:00+0000","2023-03-28T22:00:00+0000"', '"x","soon"', 1)
        ),
        {"line": 16, "field": "Start Date"},
        id="ticktick-date",
    ),
    pytest.param(
        "trello",
        lambda: json.dumps(
            {**_json("trello-deck-board.json"), "cards": [{"id": "c", "idList": "hashlisttodo"}]}
        ),
        {"index": "cards[0]", "field": "name"},
        id="trello-card-without-name",
    ),
    pytest.param(
        "trello",
        lambda: json.dumps(
            {
                **_json("trello-deck-board.json"),
                "cards": [{"id": "c", "idList": "hashlisttodo", "name": "x", "due": 7}],
            }
        ),
        {"index": "cards[0]", "field": "due"},
        id="trello-due-of-a-wrong-type",
    ),
    pytest.param(
        "microsoft-todo",
        lambda: (
            (FILES / "microsoft-todo-graph.json")
            .read_text()
            .replace('"importance": "normal"', '"importance": 7', 1)
        ),
        {"index": "value[0].tasks[1]", "field": "importance"},
        id="to-do-importance",
    ),
]


@pytest.mark.parametrize(("source", "body", "where"), BROKEN)
async def test_a_broken_file_is_refused_naming_where_and_nothing_is_written(
    person: Callable[..., httpx.AsyncClient],
    source: str,
    body: Callable[[], str],
    where: dict[str, Any],
) -> None:
    async with person() as client:
        answer = await import_file(client, source, body())
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "VALIDATION_ERROR"
        details = answer.json()["details"]
        assert any(where.items() <= detail.items() for detail in details), details
        await _nothing_imported(client)


@pytest.mark.parametrize(
    ("source", "body", "says"),
    [
        ("trello", b'{"name": "Board", "lists": [], "cards": "none"}', "Trello board export"),
        ("trello", b"[" * 30_000 + b"]" * 30_000, "not valid JSON"),
        ("trello", b'{"lists": [], "cards": [}', "line 1, column 25"),
        ("microsoft-todo", b'{"value": 5}', "todoTaskList"),
        ("microsoft-todo", b'"a string"', "object or array"),
        ("ticktick", b"Folder,List\n1,2\n", "TickTick backup"),
        ("ticktick", b"\xff\xfe\x00garbage", "UTF-8"),
    ],
)
async def test_a_file_of_another_kind_or_malformed_is_an_invalid_request(
    person: Callable[..., httpx.AsyncClient], source: str, body: bytes, says: str
) -> None:
    async with person() as client:
        answer = await import_file(client, source, body)
        assert_error(answer, 400, "INVALID_REQUEST")
        assert says in answer.json()["error"], answer.json()
        await _nothing_imported(client)


async def test_wrong_types_inside_a_board_are_left_out_and_listed(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    board = _json("trello-deck-board.json")
    board["cards"] += [7, {"id": "x", "idList": "elsewhere", "name": "Lost"}]
    board["checklists"] = ["no", {"idCard": 5}]
    board["actions"] = [{"type": "commentCard", "data": "text"}]
    board["lists"].append(["not", "a", "list"])
    async with person() as client:
        answer = await import_file(client, "trello", json.dumps(board))
        assert answer.status_code == 200, answer.text
        assert answer.json()["tasks"] == 1
        assert [item["index"] for item in answer.json()["skipped"]] == [
            "lists[1]",
            "cards[1]",
            "cards[2]",
        ]


async def test_a_ticktick_row_without_a_title_is_left_out_and_listed(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    text = (FILES / "ticktick-vikunja-export.csv").read_text()
    text = text.replace('"Buy groceries"', '""', 1)
    async with person() as client:
        answer = await import_file(client, "ticktick", text, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        assert answer.json()["tasks"] == 10
        assert answer.json()["skipped"] == [{"line": 12, "reason": "a task without a title"}]


async def test_a_file_too_large_is_refused_and_its_format_must_show(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    # IMPORT_MAX_BYTES is 64 KiB here (tests/yourdata/conftest.py).
    async with person() as client:
        board = _json("trello-deck-board.json")
        board["desc"] = "x" * (70 * 1024)
        answer = await import_file(client, "auto", json.dumps(board))
        assert_error(answer, 413, "PAYLOAD_TOO_LARGE")
        unknown = await import_file(client, "auto", b"just some words", content_type="text/plain")
        assert _field(assert_error(unknown, 400, "VALIDATION_ERROR")) == "source"
        await _nothing_imported(client)


async def test_a_todoist_list_is_named_after_the_file(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (Path(__file__).parent.parent / "fixtures" / "todoist.csv").read_bytes()
        disposition = {"Content-Disposition": 'attachment; filename="Trip to Lisbon.csv"'}
        answer = await import_file(
            client, "todoist", body, content_type="text/csv", headers=disposition
        )
        assert answer.status_code == 200, answer.text
        # The request's name wins over the file's.
        named = await import_file(
            client, "todoist", body, content_type="text/csv", headers=disposition, list="Trip"
        )
        assert named.status_code == 200, named.text
        assert [item["name"] for item in await lists_of(client)] == ["Trip to Lisbon", "Trip"]


async def test_todoists_data_keeps_comments_and_the_deadline(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FILES / "todoist-api-python.json").read_bytes()
        answer = await import_file(client, "auto", body)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["source"], answer.json()["comments"]) == ("todoist", 2)
        (task,) = (await client.get("/api/tasks")).json()
        # A deadline beside a due date: in plain words after the description.
        assert task["description"] == "Some task description\n\nDeadline: 2016-09-01"
        # Its due as typed ("tomorrow at 12"), read on the import's clock in its zone.
        assert (task["due_at"] is not None, task["timezone"]) == (True, "Europe/Moscow")
        comments = (await client.get(f"/api/tasks/{task['id']}/comments")).json()
        # (Both posted at the same time: their order is not the test's.)
        assert sorted(c["body"] for c in comments) == [
            "A comment",
            "A comment\n\nFile.pdf: https://cdn-domain.tld/path/to/file.pdf",
        ]
        assert {c["created_at"] for c in comments} == {"2019-09-22T07:00:00Z"}
