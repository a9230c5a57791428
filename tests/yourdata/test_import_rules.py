"""An import is all or nothing: a wrong value refuses the file, naming where it broke (line or
index, and field), and nothing is imported. The body limit of the route, its idempotency,
and that imported tasks reach the change feed and webhooks like any others."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.feed_helpers import read_feed
from tests.yourdata.helpers import FIXTURES, TODOIST_HEADER, import_file


def _csv(*rows: str) -> str:
    return "\n".join([TODOIST_HEADER, *rows]) + "\n"


def _google(*tasks: dict[str, Any], title: str = "My Tasks") -> str:
    items = [{"kind": "tasks#task", "id": f"t{i}", **task} for i, task in enumerate(tasks)]
    lists = [{"kind": "tasks#taskList", "id": "l0", "title": "Other", "items": []}]
    lists.append({"kind": "tasks#taskList", "id": "l1", "title": title, "items": items})
    return json.dumps({"kind": "tasks#taskLists", "items": lists})


def _ours(*tasks: dict[str, Any], **top: Any) -> str:
    document = {"format": "todo-api", "version": 1, "lists": [], "tasks": list(tasks), **top}
    return json.dumps(document)


async def _nothing_imported(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/lists")).json() == []
    assert (await client.get("/api/tasks")).json() == []


BROKEN = [
    pytest.param(
        "todoist",
        _csv("task,Fine,,4,1,,,,,", "task,   ,,4,1,,,,,"),
        [{"line": 3, "field": "CONTENT"}],
        id="todoist-blank-title",
    ),
    pytest.param(
        "todoist",
        _csv("task,Fine,,4,1,,,,,", "", "task,Odd,,9,1,,,,,"),
        [{"line": 4, "field": "PRIORITY"}],
        id="todoist-priority-9",
    ),
    pytest.param(
        "todoist",
        _csv('task,"Two\nlines",,4,1,,,,,', "task,Bad date,,4,1,,,2031-13-45,en,"),
        [{"line": 4, "field": "DATE"}],
        id="todoist-unreadable-date-after-a-two-line-row",
    ),
    pytest.param(
        "todoist",
        _csv("task,Somewhere,,4,1,,,2031-01-01 10:00,en,Mars/Olympus"),
        [{"line": 2, "field": "TIMEZONE"}],
        id="todoist-unknown-zone",
    ),
    pytest.param(
        "todoist",
        _csv("task,Deep,,4,x,,,,,"),
        [{"line": 2, "field": "INDENT"}],
        id="todoist-indent",
    ),
    pytest.param(
        "google-tasks",
        _google({"title": "Fine"}, {"title": "y\u0007"}),
        [{"index": "items[1].items[1]", "field": "title"}],
        id="google-control-character-in-title",
    ),
    pytest.param(
        "google-tasks",
        _google({"title": "When?", "due": "next week"}),
        [{"index": "items[1].items[0]", "field": "due"}],
        id="google-unreadable-due",
    ),
    pytest.param(
        "google-tasks",
        _google({"title": "Fine"}, title="z" * 101),
        [{"index": "items[1]", "field": "name"}],
        id="google-long-list-title",
    ),
    pytest.param(
        "google-tasks",
        json.dumps({"kind": "tasks#tasks", "items": []}),
        [{"field": "kind"}],
        id="google-not-takeout",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Fine"}, {"title": "Odd", "priority": "urgent"}),
        [{"index": 1, "field": "priority"}],
        id="ours-priority",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Remind me", "reminders": [{"before_due": "PT5M"}]}),
        [{"index": 0, "field": "reminders"}],
        id="ours-reminder-without-due",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Both", "due_at": "2031-01-01T10:00:00Z", "due_date": "2031-01-01"}),
        [{"index": 0, "field": "due_date"}],
        id="ours-due-twice",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Both", "start_at": "2031-01-01T10:00:00Z", "start_date": "2031-01-01"}),
        [{"index": 0, "field": "start_date"}],
        id="ours-start-twice",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Late", "start_date": "2031-01-02", "due_date": "2031-01-01"}),
        [{"index": 0, "field": "start_date"}],
        id="ours-start-after-due",
    ),
    pytest.param(
        "todo-api",
        _ours(
            {"title": "Far", "start_date": "2031-01-01", "recurrence": "FREQ=YEARLY;INTERVAL=11"}
        ),
        [{"index": 0, "field": "recurrence"}],
        id="ours-start-series-beyond-ten-years",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Again", "recurrence": "FREQ=HOURLY", "due_date": "2031-01-01"}),
        [{"index": 0, "field": "recurrence"}],
        id="ours-hourly",
    ),
    pytest.param(
        "todo-api",
        _ours({"id": "a", "title": "One"}, {"id": "a", "title": "Two"}),
        [{"index": 1, "field": "id"}],
        id="ours-same-id-twice",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Fine"}, {"title": "w" * 201}),
        [{"index": 1, "field": "title"}],
        id="ours-long-title-is-strict",
    ),
    pytest.param(
        "todo-api",
        _ours({"title": "Old"}, version=2),
        [{"field": "version"}],
        id="ours-other-version",
    ),
]


@pytest.mark.parametrize(("source", "body", "where"), BROKEN)
async def test_a_wrong_value_refuses_the_whole_file_naming_where(
    person: Callable[..., httpx.AsyncClient],
    source: str,
    body: str,
    where: list[dict[str, Any]],
) -> None:
    async with person() as client:
        answer = await import_file(client, source, body)
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        shown = [{k: v for k, v in detail.items() if k != "message"} for detail in details]
        assert shown == where
        assert all(detail["message"] for detail in details)
        await _nothing_imported(client)


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("todo-api", "not json"),
        ("todo-api", "[1, 2]"),
        ("google-tasks", '{"kind": '),
        ("google-tasks", '{"kind": "tasks#taskLists", "items": {"title": "My Tasks"}}'),
        (
            "google-tasks",
            '{"kind": "tasks#taskLists", "items": [{"title": "L", "items": "Call mum"}]}',
        ),
        ("todoist", "name,when\nmilk,today\n"),
        ("todoist", b"TYPE,CONTENT\ntask,\xff\xfe\n"),
    ],
)
async def test_a_file_of_another_kind_is_an_invalid_request(
    person: Callable[..., httpx.AsyncClient], source: str, body: str | bytes
) -> None:
    async with person() as client:
        assert_error(await import_file(client, source, body), 400, "INVALID_REQUEST")
        await _nothing_imported(client)


async def test_errors_are_listed_up_to_twenty(person: Callable[..., httpx.AsyncClient]) -> None:
    async with person() as client:
        body = _csv(*(["task,Bad,,7,1,,,,,"] * 30))
        details = assert_error(await import_file(client, "todoist", body), 400, "VALIDATION_ERROR")[
            "details"
        ]
        assert [detail["line"] for detail in details] == list(range(2, 22))


async def test_a_list_name_that_cannot_be_one_is_refused_naming_list(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        answer = await import_file(client, "todoist", _csv("task,Hi,,4,1,,,,,"), list="l" * 101)
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        assert [(d["field"], "line" in d or "index" in d) for d in details] == [("list", False)]
        await _nothing_imported(client)


@pytest.mark.parametrize("source", [None, "ics-someday", "TODOIST", ""])
async def test_an_unknown_source_is_refused_naming_it(
    person: Callable[..., httpx.AsyncClient], source: str | None
) -> None:
    async with person() as client:
        params = {} if source is None else {"source": source}
        answer = await client.post("/api/import", params=params, content=b"{}")
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        assert [detail["field"] for detail in details] == ["source"]


async def test_an_import_needs_a_token(data_app: Any) -> None:
    from tests.support import client_for

    async with client_for(data_app) as anonymous:
        answer = await import_file(anonymous, "todoist", _csv("task,Hi,,4,1,,,,,"))
        assert_error(answer, 401, "UNAUTHORIZED")


async def test_the_import_limit_replaces_the_body_limit_on_its_route(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    # IMPORT_MAX_BYTES is 64 KiB here (tests/yourdata/conftest.py), MAX_BODY_BYTES 1 MiB.
    async with person() as client:
        rows = [f"task,Task number {i},{'d' * 40},4,1,,,,," for i in range(700)]
        within = _csv(*rows[:600]).encode()
        assert 32 * 1024 < len(within) < 64 * 1024
        answer = await import_file(client, "todoist", within, content_type="text/csv")
        assert answer.status_code == 200, answer.text
        over = _csv(*rows, *rows).encode()
        assert len(over) > 64 * 1024
        answer = await import_file(client, "todoist", over, content_type="text/csv")
        assert_error(answer, 413, "PAYLOAD_TOO_LARGE")

        async def chunks() -> Any:
            for start in range(0, len(over), 4096):
                yield over[start : start + 4096]

        streamed = await client.post("/api/import", params={"source": "todoist"}, content=chunks())
        assert_error(streamed, 413, "PAYLOAD_TOO_LARGE")
        # Another route keeps MAX_BODY_BYTES: the same 100 KiB body is no file there.
        elsewhere = await client.post(
            "/api/tasks", content=over, headers={"Content-Type": "application/json"}
        )
        assert elsewhere.status_code == 400, elsewhere.text
        (made,) = (await client.get("/api/lists")).json()
        assert made["open_count"] == 600


async def test_the_same_file_with_the_same_key_imports_nothing_new(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = (FIXTURES / "google-tasks.json").read_bytes()
        key = {"Idempotency-Key": "takeout-2031-02-11"}
        first = await import_file(client, "google-tasks", body, headers=key)
        assert first.status_code == 200, first.text
        again = await import_file(client, "google-tasks", body, headers=key)
        assert again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert len((await client.get("/api/lists")).json()) == 2
        other = await import_file(client, "todoist", _csv("task,Hi,,4,1,,,,,"), headers=key)
        assert_error(other, 422, "IDEMPOTENCY_KEY_REUSED")
        without = await import_file(client, "google-tasks", body)
        assert without.status_code == 200, without.text
        assert len((await client.get("/api/lists")).json()) == 4


async def test_imported_tasks_reach_the_change_feed_and_webhooks(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        hook = await client.post(
            "/api/webhooks", json={"url": "http://127.0.0.1:1/hook", "events": ["task.created"]}
        )
        assert hook.status_code == 201, hook.text
        start = await client.get("/api/tasks/changes")
        assert start.status_code == 200, start.text
        body = (FIXTURES / "todoist.csv").read_bytes()
        answer = await import_file(client, "todoist", body, content_type="text/csv")
        assert answer.status_code == 200, answer.text

        (made,) = (await client.get("/api/lists")).json()
        page = await read_feed(client, start.json()["next"], wait_for=[made["id"]])
        assert len(page["changes"]) == 9
        assert [item["name"] for item in page["lists"]] == ["Todoist import"]
        assert [item["name"] for item in page["sections"]] == ["Errands", "Home Projects"]

        deliveries = await client.get(f"/api/webhooks/{hook.json()['id']}/deliveries")
        rows = deliveries.json()
        assert [row["type"] for row in rows] == ["task.created"] * 9
        assert {row["status"] for row in rows} == {"pending"}


@pytest.mark.parametrize(
    ("source", "body", "expected"),
    [
        ("google-tasks", '{"kind": "tasks#taskLists", "items": 3}', "items"),
        ("todoist", "Title,Due\nCall mum,today\n", "TYPE, CONTENT"),
        ("google-tasks", '{\n  "kind": "tasks#taskLists",\n  "items": [,]\n}', "line 3, column 13"),
        ("todo-api", '{"format": "todo-api"\n"version": 1}', "line 2, column 1"),
    ],
)
async def test_a_file_not_in_the_sources_format_says_what_was_expected(
    person: Callable[..., httpx.AsyncClient], source: str, body: str, expected: str
) -> None:
    async with person() as client:
        answer = await import_file(client, source, body)
        assert expected in assert_error(answer, 400, "INVALID_REQUEST")["error"]
        await _nothing_imported(client)


# Todoist's own onboarding tasks have titles of 210 and 215 characters.
LONG_TITLE = (
    "Take the productivity method quiz to find out which way of working suits you best, then "
    "read the guide that goes with it and set up your projects, labels and filters the way it "
    "suggests before starting on them all!!"
)


async def test_a_title_too_long_from_another_app_is_cut_and_kept_whole_in_the_description(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    assert len(LONG_TITLE) == 215
    no_space = "z" * 210
    async with person() as client:
        answer = await import_file(
            client,
            "todoist",
            _csv(f'task,"{LONG_TITLE}",Do it soon,4,1,,,,,', f"task,{no_space},,4,1,,,,,"),
            content_type="text/csv",
        )
        assert answer.status_code == 200, answer.text
        assert [item["line"] for item in answer.json()["skipped"]] == [2, 3]
        assert "CONTENT" in answer.json()["skipped"][0]["reason"]
        tasks = sorted((await client.get("/api/tasks")).json(), key=lambda t: t["position"])
        # At the last word's end within 200 characters ("... suggests before" ends at 192),
        # else at 200.
        assert tasks[0]["title"] == LONG_TITLE[:192]
        assert tasks[0]["description"] == f"{LONG_TITLE}\n\nDo it soon"
        assert tasks[1]["title"] == "z" * 200
        assert tasks[1]["description"] == no_space
        long_notes = "n" * 2000
        answer = await import_file(
            client, "google-tasks", _google({"title": LONG_TITLE, "notes": long_notes})
        )
        assert answer.status_code == 200, answer.text
        [skipped] = answer.json()["skipped"]
        assert skipped["index"] == "items[1].items[0]"
        described = [t["description"] for t in (await client.get("/api/tasks")).json()]
        assert f"{LONG_TITLE}\n\n{long_notes}"[:2000] in described


async def test_the_source_apps_creation_time_is_kept_when_past(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = _google(
            {"title": "Old", "updated": "2021-03-04T05:06:07.000Z"},
            {"title": "Future", "updated": "2999-01-01T00:00:00.000Z"},
            {"title": "Odd", "updated": "last week"},
        )
        answer = await import_file(client, "google-tasks", body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["skipped"] == [
            {"index": "items[1].items[2]", "reason": "updated is not a time: left out"}
        ]
        made = {t["title"]: t["created_at"] for t in (await client.get("/api/tasks")).json()}
        assert made["Old"] == "2021-03-04T05:06:07Z"
        assert made["Future"] > "2026"
        assert made["Future"] < "2999"
        assert made["Odd"] > "2026"
