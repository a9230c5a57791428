"""The MCP server at /mcp, driven by the MCP SDK's own client against real `todo-api serve`
processes, on SQLite and on PostgreSQL: the handshake, the tools and their schemas, results that
are the REST API's JSON, failures that carry the REST API's error, isolation between users, and
the 401 before anything of MCP runs.

Every request goes to 127.0.0.1; every wait is bounded.
"""

import asyncio
import itertools
import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from sqlalchemy.engine import make_url

from tests.helpers_server import (
    Server,
    clean_env,
    json_of,
    read_until_closed,
    running_server,
    status_of,
)
from tests.lists.sharing import share
from tests.support import ADMIN_URL, ERROR_FIELDS, TEST_SECRET, make_settings, token_for

TIMEOUT = 30.0
MAX_BODY_BYTES = 1024 * 1024  # the default limit
TOOL_NAMES = {
    "list_tasks",
    "get_task",
    "create_task",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "restore_task",
    "list_lists",
    "create_list",
    "update_list",
    "delete_list",
    "move_task",
    "tasks_due_on",
    "list_reminders",
    "list_members",
    "list_sections",
    "invite_to_list",
    "list_filters",
    "filter_tasks",
    "quick_add",
    "add_comment",
    "list_comments",
}
# What each tool's annotations say (readOnlyHint, destructiveHint, idempotentHint), as the
# contract has them: reads only read; the deletions destroy; creations and invitations make
# another row each time.
ANNOTATIONS = {
    "list_tasks": (True, False, True),
    "get_task": (True, False, True),
    "list_lists": (True, False, True),
    "tasks_due_on": (True, False, True),
    "list_reminders": (True, False, True),
    "list_members": (True, False, True),
    "list_sections": (True, False, True),
    "list_filters": (True, False, True),
    "filter_tasks": (True, False, True),
    "list_comments": (True, False, True),
    "create_task": (False, False, False),
    "add_comment": (False, False, False),
    "quick_add": (False, False, False),
    "create_list": (False, False, False),
    "invite_to_list": (False, False, False),
    "update_task": (False, False, True),
    "update_list": (False, False, True),
    "complete_task": (False, False, True),
    "reopen_task": (False, False, True),
    "move_task": (False, False, True),
    "restore_task": (False, False, True),
    "delete_task": (False, True, True),
    "delete_list": (False, True, True),
}


@pytest.fixture(scope="module")
def servers(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two instances of the service on one database, as behind a load balancer."""
    cwd = tmp_path_factory.mktemp("mcp-servers")
    env = clean_env(DATABASE_URL=database_url, JWT_SECRET=TEST_SECRET, LOG_LEVEL="INFO")
    with (
        running_server(cwd, env, cwd / "first.log") as first,
        running_server(cwd, env, cwd / "second.log") as second,
    ):
        yield first, second


@pytest.fixture(scope="module")
def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture
def new_token(database_url: str, tmp_path: Path) -> Any:
    """Makes tokens, each for a brand-new user."""
    settings = make_settings(database_url, tmp_path)
    return lambda: token_for(settings)


@asynccontextmanager
async def mcp_session(
    url: str, token: str | None, transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncIterator[ClientSession]:
    """An initialised session of the SDK's client with /mcp, sending `token`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT, transport=transport) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def rest_client(server: Server, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    ) as client:
        yield client


def structured(result: CallToolResult) -> Any:
    """A successful call's structured result, which its text repeats as JSON."""
    assert not result.is_error, result.content
    [content] = result.content
    assert isinstance(content, TextContent)
    assert json.loads(content.text) == result.structured_content
    return result.structured_content


def tool_error(result: CallToolResult) -> dict[str, Any]:
    """A failed call's error: the REST API's error body, as the text of a tool error."""
    assert result.is_error
    [content] = result.content
    assert isinstance(content, TextContent)
    body: dict[str, Any] = json.loads(content.text)
    assert set(body) == ERROR_FIELDS
    assert body["error"]
    return body


# --- The handshake and the tools -----------------------------------------------------------------


async def test_initialise_names_the_server_and_lists_every_tool_with_its_schemas(
    server: Server, new_token: Any
) -> None:
    async with mcp_session(server.url, new_token()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}

    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert tool.description
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
        assert tool.annotations is not None
    assert tools["create_task"].input_schema["required"] == ["title"]
    assert tools["update_task"].input_schema["required"] == ["task_id"]
    assert tools["list_tasks"].input_schema["properties"]["limit"]["maximum"] == 200
    assert "due_before" in tools["list_tasks"].input_schema["properties"]
    assert tools["list_tasks"].annotations.read_only_hint  # type: ignore[union-attr]
    assert tools["delete_task"].annotations.destructive_hint  # type: ignore[union-attr]
    annotations = {
        name: (
            tool.annotations.read_only_hint,  # type: ignore[union-attr]
            tool.annotations.destructive_hint,  # type: ignore[union-attr]
            tool.annotations.idempotent_hint,  # type: ignore[union-attr]
        )
        for name, tool in tools.items()
    }
    assert annotations == ANNOTATIONS
    assert tools["update_list"].input_schema["required"] == ["list_id"]
    assert tools["move_task"].input_schema["required"] == ["task_id"]
    assert {"list_id", "parent_id", "before", "after"} <= set(
        tools["move_task"].input_schema["properties"]
    )
    assert tools["tasks_due_on"].input_schema["required"] == ["date"]
    assert set(tools["list_reminders"].input_schema["properties"]) == {"from", "to"}
    assert tools["invite_to_list"].input_schema["required"] == ["list_id", "role"]


async def test_each_tool_gives_what_the_rest_api_gives_for_the_same_call(
    server: Server, new_token: Any
) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        created = structured(
            await session.call_tool(
                "create_task",
                {
                    "title": "  Buy milk ",
                    "priority": "high",
                    "tags": ["Groceries"],
                    "due_at": "2026-12-01T18:00:00+01:00",
                },
            )
        )
        task_id = created["id"]
        assert created["title"] == "Buy milk"
        assert created["tags"] == ["groceries"]
        assert created["due_at"] == "2026-12-01T17:00:00Z"
        assert (await rest.get(f"/api/tasks/{task_id}")).json() == created
        got = structured(await session.call_tool("get_task", {"task_id": task_id}))
        assert got == {**created, "attachments": []}
        file = await rest.post(
            f"/api/tasks/{task_id}/attachments",
            files={"file": ("list.txt", b"milk, eggs", "text/plain")},
        )
        assert file.status_code == 201, file.text
        got = structured(await session.call_tool("get_task", {"task_id": task_id}))
        assert got["attachments"] == [file.json()]

        other = await rest.post("/api/tasks", json={"title": "Call the bank"})
        query = {"priority": ["high"], "tag": ["groceries"], "due_before": "2026-12-02T00:00:00Z"}
        listed = structured(await session.call_tool("list_tasks", query))
        assert listed == {"tasks": (await rest.get("/api/tasks", params=query)).json()}
        assert [task["id"] for task in listed["tasks"]] == [task_id]
        everything = structured(await session.call_tool("list_tasks", {}))
        assert everything == {"tasks": (await rest.get("/api/tasks")).json()}
        assert {task["id"] for task in everything["tasks"]} == {task_id, other.json()["id"]}

        changed = structured(
            await session.call_tool(
                "update_task", {"task_id": task_id, "title": "Buy oat milk", "due_at": None}
            )
        )
        assert changed["title"] == "Buy oat milk"
        assert changed["due_at"] is None
        assert changed["priority"] == "high"  # left out: left as it was
        assert (await rest.get(f"/api/tasks/{task_id}")).json() == changed

        completed = structured(await session.call_tool("complete_task", {"task_id": task_id}))
        assert completed["is_completed"] is True
        assert completed["completed_at"] is not None
        assert (await rest.get(f"/api/tasks/{task_id}")).json() == completed
        reopened = structured(await session.call_tool("reopen_task", {"task_id": task_id}))
        assert reopened["is_completed"] is False
        assert reopened["completed_at"] is None
        assert (await rest.get(f"/api/tasks/{task_id}")).json() == reopened

        deleted = structured(await session.call_tool("delete_task", {"task_id": task_id}))
        assert deleted == {"deleted": task_id}
        assert (await rest.get(f"/api/tasks/{task_id}")).status_code == 404
        restored = structured(await session.call_tool("restore_task", {"task_id": task_id}))
        assert restored["id"] == task_id
        assert (await rest.get(f"/api/tasks/{task_id}")).json() == restored


async def test_a_client_of_the_handshake_free_protocol_is_served_alike(
    server: Server, new_token: Any
) -> None:
    """The SDK's `Client` finds the 2026-07-28 protocol (one self-contained POST per call, no
    initialize); the tools answer it as they answer a session."""
    headers = {"Authorization": f"Bearer {new_token()}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=TIMEOUT) as http,
        Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
    ):
        assert client.protocol_version == "2026-07-28"
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOL_NAMES
        task = structured(await client.call_tool("create_task", {"title": "No handshake"}))
        got = structured(await client.call_tool("get_task", {"task_id": task["id"]}))
        assert got == {**task, "attachments": []}
        error = tool_error(await client.call_tool("get_task", {"task_id": UNKNOWN_ID}))

    assert error["code"] == "NOT_FOUND"


async def test_list_tasks_gives_a_cursor_for_the_next_page_when_more_match(
    server: Server, new_token: Any
) -> None:
    async with mcp_session(server.url, new_token()) as session:
        for title in ("First", "Second", "Third"):
            structured(await session.call_tool("create_task", {"title": title}))
        arguments: dict[str, Any] = {"sort": "title", "limit": 2}
        first = structured(await session.call_tool("list_tasks", arguments))
        assert [task["title"] for task in first["tasks"]] == ["First", "Second"]
        arguments["cursor"] = first["next_cursor"]
        second = structured(await session.call_tool("list_tasks", arguments))

    assert [task["title"] for task in second["tasks"]] == ["Third"]
    assert "next_cursor" not in second


async def test_completing_a_recurring_task_by_a_tool_moves_it_to_its_next_occurrence(
    server: Server, new_token: Any
) -> None:
    async with mcp_session(server.url, new_token()) as session:
        task = structured(
            await session.call_tool(
                "create_task",
                {"title": "Water", "due_at": "2026-12-01T08:00:00Z", "recurrence": "FREQ=DAILY"},
            )
        )
        structured(await session.call_tool("complete_task", {"task_id": task["id"]}))
        open_tasks = structured(await session.call_tool("list_tasks", {"completed": False}))

    [following] = open_tasks["tasks"]
    assert following["id"] == task["id"]
    assert following["due_at"] == "2026-12-02T08:00:00Z"


async def test_the_tools_take_and_give_zones_and_all_day_tasks(
    server: Server, new_token: Any
) -> None:
    """The task tools' schemas and results carry `timezone` and `due_date`; list_tasks takes
    `due_on`; a zoned recurring task recurs on its zone's wall clock."""
    zone = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 24, 9, tzinfo=zone).astimezone(UTC)  # the day before the change
    async with mcp_session(server.url, new_token()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        for name in ("create_task", "update_task"):
            assert {"due_date", "timezone"} <= set(tools[name].input_schema["properties"])
        assert "due_on" in tools["list_tasks"].input_schema["properties"]
        output = tools["get_task"].output_schema
        assert output is not None
        assert {"due_date", "timezone"} <= set(output["required"])
        eve = structured(
            await session.call_tool(
                "create_task",
                {"title": "Eve", "due_date": "2026-12-24", "timezone": "Pacific/Auckland"},
            )
        )
        assert (eve["due_date"], eve["due_at"], eve["timezone"]) == (
            "2026-12-24",
            None,
            "Pacific/Auckland",
        )
        daily = structured(
            await session.call_tool(
                "create_task",
                {
                    "title": "Daily",
                    "due_at": first.isoformat(),
                    "timezone": "Europe/Berlin",
                    "recurrence": "FREQ=DAILY",
                },
            )
        )
        structured(await session.call_tool("complete_task", {"task_id": daily["id"]}))
        on_the_25th = structured(await session.call_tool("list_tasks", {"due_on": "2026-10-25"}))
        on_the_24th = structured(await session.call_tool("list_tasks", {"due_on": "2026-12-24"}))
        both = tool_error(
            await session.call_tool(
                "update_task",
                {"task_id": eve["id"], "due_at": "2026-12-24T09:00:00Z", "due_date": "2026-12-24"},
            )
        )

    [following] = on_the_25th["tasks"]
    expected = datetime(2026, 10, 25, 9, tzinfo=zone).astimezone(UTC)
    assert datetime.fromisoformat(following["due_at"]) == expected
    assert [t["id"] for t in on_the_24th["tasks"]] == [eve["id"]]
    assert both["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in both["details"]] == ["due_date"]


async def test_the_tools_take_and_give_a_start_and_list_by_it(
    server: Server, new_token: Any
) -> None:
    """create_task and update_task take `start_at` and `start_date` and give them back; a
    series with a start alone follows it; list_tasks sorts and filters by start."""
    async with mcp_session(server.url, new_token()) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        for name in ("create_task", "update_task"):
            assert {"start_at", "start_date"} <= set(tools[name].input_schema["properties"])
        listing = tools["list_tasks"].input_schema["properties"]
        assert {"start_before", "start_after"} <= set(listing)
        output = tools["get_task"].output_schema
        assert output is not None
        assert {"start_at", "start_date"} <= set(output["required"])
        water = structured(
            await session.call_tool(
                "create_task",
                {"title": "Water", "start_date": "2026-12-20", "recurrence": "FREQ=WEEKLY"},
            )
        )
        timed = structured(
            await session.call_tool(
                "create_task", {"title": "Timed", "start_at": "2026-12-21T09:00:00Z"}
            )
        )
        moved = structured(
            await session.call_tool(
                "update_task", {"task_id": timed["id"], "start_at": "2026-12-19T09:00:00Z"}
            )
        )
        structured(await session.call_tool("complete_task", {"task_id": water["id"]}))
        by_start = structured(
            await session.call_tool("list_tasks", {"completed": False, "sort": "start"})
        )
        after = structured(
            await session.call_tool("list_tasks", {"start_after": "2026-12-26T00:00:00Z"})
        )
        late = tool_error(
            await session.call_tool(
                "update_task",
                {"task_id": timed["id"], "due_at": "2026-12-18T09:00:00Z"},
            )
        )

    assert (water["start_date"], water["start_at"]) == ("2026-12-20", None)
    assert (moved["start_at"], moved["start_date"]) == ("2026-12-19T09:00:00Z", None)
    assert [(t["title"], t["start_date"]) for t in by_start["tasks"]] == [
        ("Timed", None),
        ("Water", "2026-12-27"),
    ]
    assert [t["start_date"] for t in after["tasks"]] == ["2026-12-27"]
    assert [d["field"] for d in late["details"]] == ["start_at"]


# --- Failures ------------------------------------------------------------------------------------

UNKNOWN_ID = str(uuid.uuid4())

TASK = f"/api/tasks/{UNKNOWN_ID}"
# A tool call, and the REST request that asks the same (method, path, JSON body): both fail, with
# the same error body.
SAME_FAILURES: dict[str, tuple[str, dict[str, Any], str | None, str | None, Any]] = {
    "unknown-id": ("get_task", {"task_id": UNKNOWN_ID}, "GET", TASK, None),
    "malformed-id": ("get_task", {"task_id": "not-a-uuid"}, "GET", "/api/tasks/not-a-uuid", None),
    "delete-unknown": ("delete_task", {"task_id": UNKNOWN_ID}, "DELETE", TASK, None),
    "complete-unknown": (
        "complete_task",
        {"task_id": UNKNOWN_ID},
        "POST",
        f"{TASK}/complete",
        None,
    ),
    "reopen-unknown": ("reopen_task", {"task_id": UNKNOWN_ID}, "POST", f"{TASK}/reopen", None),
    "blank-title": ("create_task", {"title": "   "}, "POST", "/api/tasks", {"title": "   "}),
    "unknown-field": (
        "create_task",
        {"title": "x", "colour": "red"},
        "POST",
        "/api/tasks",
        {"title": "x", "colour": "red"},
    ),
    "rule-without-due-date": (
        "create_task",
        {"title": "x", "recurrence": "FREQ=DAILY"},
        "POST",
        "/api/tasks",
        {"title": "x", "recurrence": "FREQ=DAILY"},
    ),
    "not-a-date": (
        "create_task",
        {"title": "x", "due_at": "tomorrow"},
        "POST",
        "/api/tasks",
        {"title": "x", "due_at": "tomorrow"},
    ),
    "null-title": (
        "update_task",
        {"task_id": UNKNOWN_ID, "title": None},
        "PATCH",
        TASK,
        {"title": None},
    ),
    "no-change": ("update_task", {"task_id": UNKNOWN_ID}, "PATCH", TASK, {}),
    "update-unknown": (
        "update_task",
        {"task_id": UNKNOWN_ID, "title": "x"},
        "PATCH",
        TASK,
        {"title": "x"},
    ),
    "limit": ("list_tasks", {"limit": 0}, "GET", "/api/tasks?limit=0", None),
    "cursor": ("list_tasks", {"cursor": "garbage"}, "GET", "/api/tasks?cursor=garbage", None),
    "sort": ("list_tasks", {"sort": "colour"}, "GET", "/api/tasks?sort=colour", None),
    "list-filter": (
        "list_tasks",
        {"list_id": "nowhere"},
        "GET",
        "/api/tasks?list_id=nowhere",
        None,
    ),
    "list-in-no-list": (
        "create_task",
        {"title": "x", "list_id": UNKNOWN_ID},
        "POST",
        "/api/tasks",
        {"title": "x", "list_id": UNKNOWN_ID},
    ),
    "blank-list-name": ("create_list", {"name": " "}, "POST", "/api/lists", {"name": " "}),
    "list-color": (
        "create_list",
        {"name": "Work", "color": "red"},
        "POST",
        "/api/lists",
        {"name": "Work", "color": "red"},
    ),
    "lists-take-nothing": ("list_lists", {"name": "x"}, None, None, None),
}


@pytest.mark.parametrize("case", SAME_FAILURES)
async def test_a_failure_is_a_tool_error_carrying_the_rest_apis_error(
    server: Server,
    new_token: Any,
    case: str,
) -> None:
    tool, arguments, method, path, body = SAME_FAILURES[case]
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        error = tool_error(await session.call_tool(tool, arguments))
        if method is None or path is None:  # no REST request takes these arguments
            assert error["code"] == "VALIDATION_ERROR"
            return
        response = await rest.request(method, path, json=body)

    assert response.status_code in {400, 404}
    assert error == response.json()


async def test_the_list_tools_give_what_the_rest_api_gives_and_refuse_a_duplicate_name(
    server: Server, new_token: Any
) -> None:
    token, stranger = new_token(), new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        assert structured(await session.call_tool("list_lists", {})) == {"lists": []}
        groceries = structured(
            await session.call_tool("create_list", {"name": " Groceries ", "color": "#00aa55"})
        )
        assert groceries["name"] == "Groceries"
        assert (await rest.get(f"/api/lists/{groceries['id']}")).json() == groceries
        milk = structured(
            await session.call_tool("create_task", {"title": "Milk", "list_id": groceries["id"]})
        )
        assert milk["list_id"] == groceries["id"]
        lists = structured(await session.call_tool("list_lists", {}))
        assert lists == {"lists": (await rest.get("/api/lists")).json()}
        assert [item["open_count"] for item in lists["lists"]] == [1]
        in_list = structured(await session.call_tool("list_tasks", {"list_id": groceries["id"]}))
        assert [task["id"] for task in in_list["tasks"]] == [milk["id"]]

        duplicate = tool_error(await session.call_tool("create_list", {"name": "GROCERIES"}))
        response = await rest.post("/api/lists", json={"name": "GROCERIES"})
        assert response.status_code == 409
        assert duplicate == response.json()

    async with mcp_session(server.url, stranger) as session:
        assert structured(await session.call_tool("list_lists", {})) == {"lists": []}
        foreign = {"title": "Sneaky", "list_id": groceries["id"]}
        assert tool_error(await session.call_tool("create_task", foreign))["code"] == (
            "VALIDATION_ERROR"
        )
        assert structured(await session.call_tool("create_list", {"name": "Groceries"}))


async def test_the_list_tools_give_and_take_parent_id(server: Server, new_token: Any) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        work = structured(await session.call_tool("create_list", {"name": "Work"}))
        client = structured(
            await session.call_tool("create_list", {"name": "Client", "parent_id": work["id"]})
        )
        assert client["parent_id"] == work["id"]
        assert (await rest.get(f"/api/lists/{client['id']}")).json() == client
        inside_itself = {"list_id": work["id"], "parent_id": client["id"]}
        refused = tool_error(await session.call_tool("update_list", inside_itself))
        assert refused["details"][0]["field"] == "parent_id"
        top = structured(
            await session.call_tool("update_list", {"list_id": client["id"], "parent_id": None})
        )
        assert top["parent_id"] is None
        lists = structured(await session.call_tool("list_lists", {}))
        assert lists == {"lists": (await rest.get("/api/lists")).json()}


async def test_the_filter_tools_give_what_the_rest_api_gives(
    server: Server, new_token: Any
) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        work = (await rest.post("/api/lists", json={"name": "Work"})).json()
        for title, priority in [("a", "high"), ("b", "low"), ("c", "high")]:
            body = {"title": title, "priority": priority, "list_id": work["id"]}
            assert (await rest.post("/api/tasks", json=body)).status_code == 201
        saved = (
            await rest.post("/api/filters", json={"name": "Hot", "query": "#work & p1"})
        ).json()
        assert structured(await session.call_tool("list_filters", {})) == {
            "filters": (await rest.get("/api/filters")).json()
        }
        by_query = structured(await session.call_tool("filter_tasks", {"query": "#Work & p1"}))
        assert by_query == {"tasks": (await rest.get(f"/api/filters/{saved['id']}/tasks")).json()}
        assert [t["title"] for t in by_query["tasks"]] == ["c", "a"]
        by_id = structured(await session.call_tool("filter_tasks", {"filter_id": saved["id"]}))
        assert by_id == by_query
        params = {"filter": "p1, p3", "sort": "title"}
        grouped = structured(
            await session.call_tool("filter_tasks", {"query": "p1, p3", "sort": "title"})
        )
        assert grouped == (await rest.get("/api/tasks", params=params)).json()
        neither = tool_error(await session.call_tool("filter_tasks", {}))
        assert [d["field"] for d in neither["details"]] == ["query"]
        unreadable = tool_error(await session.call_tool("filter_tasks", {"query": "p1 &"}))
        assert unreadable["details"][0]["message"].startswith("at position 4")


async def test_the_comment_tools_give_what_the_rest_api_gives(
    server: Server, new_token: Any
) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        task = (await rest.post("/api/tasks", json={"title": "Discuss"})).json()
        made = structured(
            await session.call_tool("add_comment", {"task_id": task["id"], "body": "*First*"})
        )
        assert made["body"] == "*First*"
        await rest.post(f"/api/tasks/{task['id']}/comments", json={"body": "Second"})
        listed = structured(await session.call_tool("list_comments", {"task_id": task["id"]}))
        assert listed == {"comments": (await rest.get(f"/api/tasks/{task['id']}/comments")).json()}
        assert [c["body"] for c in listed["comments"]] == ["*First*", "Second"]
        first = structured(
            await session.call_tool("list_comments", {"task_id": task["id"], "limit": 1})
        )
        assert [c["body"] for c in first["comments"]] == ["*First*"]
        rest_page = await rest.get(f"/api/tasks/{task['id']}/comments", params={"limit": 1})
        assert first["next_cursor"] == rest_page.headers["X-Next-Cursor"]
        blank = tool_error(
            await session.call_tool("add_comment", {"task_id": task["id"], "body": " "})
        )
        assert [d["field"] for d in blank["details"]] == ["body"]
        unknown = tool_error(
            await session.call_tool("list_comments", {"task_id": str(uuid.uuid4())})
        )
        assert unknown["code"] == "NOT_FOUND"
    async with mcp_session(server.url, new_token()) as outsider:
        hidden = tool_error(
            await outsider.call_tool("add_comment", {"task_id": task["id"], "body": "Hi"})
        )
        assert hidden["code"] == "NOT_FOUND"


async def test_quick_add_reads_the_words_as_the_rest_route_does(
    server: Server, new_token: Any
) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        home = (await rest.post("/api/lists", json={"name": "Home"})).json()
        text = "Wrap presents 2030-12-24 17:00 #home p2 @family"
        task = structured(await session.call_tool("quick_add", {"text": text}))
        assert task["title"] == "Wrap presents"
        assert (task["list_id"], task["priority"], task["tags"]) == (
            home["id"],
            "medium",
            ["family"],
        )
        assert task["due_at"] == "2030-12-24T17:00:00Z"  # the user's zone: UTC
        assert [span["kind"] for span in task["parsed"]] == ["due", "list", "priority", "tag"]
        shown = (await rest.get(f"/api/tasks/{task['id']}")).json()
        assert shown == {key: value for key, value in task.items() if key != "parsed"}
        german = structured(
            await session.call_tool("quick_add", {"text": "Wichteln 24.12.2030", "lang": "de"})
        )
        assert (german["title"], german["due_date"]) == ("Wichteln", "2030-12-24")
        error = tool_error(await session.call_tool("quick_add", {"text": "Milk #nowhere"}))
        response = await rest.post("/api/tasks/quick", json={"text": "Milk #nowhere"})
        assert response.status_code == 400
        assert error == response.json()


async def test_a_missing_or_unknown_argument_is_a_validation_error_naming_it(
    server: Server, new_token: Any
) -> None:
    async with mcp_session(server.url, new_token()) as session:
        missing = tool_error(await session.call_tool("complete_task", {}))
        unknown = tool_error(await session.call_tool("get_task", {"task_id": UNKNOWN_ID, "x": 1}))
        not_text = tool_error(await session.call_tool("reopen_task", {"task_id": 7}))

    for error in (missing, unknown, not_text):
        assert error["code"] == "VALIDATION_ERROR"
        assert error["error"] == "The request is not valid"
    assert missing["details"] == [{"field": "task_id", "message": "Field required"}]
    assert unknown["details"] == [{"field": "x", "message": "Unknown field"}]
    assert [d["field"] for d in not_text["details"]] == ["task_id"]


async def test_an_unknown_tool_is_a_protocol_error(server: Server, new_token: Any) -> None:
    async with mcp_session(server.url, new_token()) as session:
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("drop_database", {})


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _cut_off(name: str) -> None:
    """No new connection to the database, and its open ones ended."""
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await conn.close()


@pytest.fixture
async def outage_database(postgres_url: str) -> AsyncIterator[tuple[str, str]]:
    """A database of this test's own (its name and URL), which the test may make unreachable."""
    name = f"todo_outage_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield name, make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_failing_database_is_a_tool_error_carrying_database_error(
    outage_database: tuple[str, str], tmp_path: Path
) -> None:
    name, url = outage_database
    env = clean_env(DATABASE_URL=url, JWT_SECRET=TEST_SECRET, LOG_LEVEL="INFO")
    token = token_for(make_settings(url, tmp_path))
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        async with mcp_session(server.url, token) as session:
            structured(await session.call_tool("create_task", {"title": "Before the outage"}))
            # The user is known to the process: only the tool's own statements need the database.
            await _cut_off(name)
            result = await session.call_tool("list_tasks", {})
        log = server.log()

    error = tool_error(result)
    assert error == {
        "error": "The database is unavailable; try again shortly",
        "code": "DATABASE_ERROR",
        "details": None,
    }
    assert "database unavailable in MCP tool list_tasks" in log


# --- Who may call --------------------------------------------------------------------------------


async def test_each_user_sees_and_changes_only_their_own_tasks(
    server: Server, new_token: Any
) -> None:
    alice_token = new_token()
    async with mcp_session(server.url, alice_token) as alice:
        task = structured(await alice.call_tool("create_task", {"title": "Alice's"}))
    task_id = task["id"]

    async with mcp_session(server.url, new_token()) as bob:
        assert structured(await bob.call_tool("list_tasks", {})) == {"tasks": []}
        for tool, arguments in [
            ("get_task", {"task_id": task_id}),
            ("update_task", {"task_id": task_id, "title": "Bob's now"}),
            ("complete_task", {"task_id": task_id}),
            ("reopen_task", {"task_id": task_id}),
            ("delete_task", {"task_id": task_id}),
        ]:
            error = tool_error(await bob.call_tool(tool, arguments))
            assert error == {"error": "Task not found", "code": "NOT_FOUND", "details": None}
        mine = structured(await bob.call_tool("create_task", {"title": "Bob's"}))
        assert mine["user_id"] != task["user_id"]

    async with rest_client(server, alice_token) as rest:
        assert (await rest.get("/api/tasks")).json() == [task]


async def _join(
    owner: httpx.AsyncClient, member: httpx.AsyncClient, list_id: str, role: str
) -> None:
    link = await owner.post(f"/api/lists/{list_id}/invitations", json={"role": role})
    assert link.status_code == 201, link.text
    joined = await member.post("/api/invitations/accept", json={"token": link.json()["token"]})
    assert joined.status_code == 200, joined.text


async def test_the_tools_for_lists_moves_days_reminders_and_members_give_what_the_rest_api_gives(
    server: Server, new_token: Any
) -> None:
    token, friend = new_token(), new_token()
    async with (
        mcp_session(server.url, token) as session,
        rest_client(server, token) as rest,
        rest_client(server, friend) as friend_rest,
    ):
        home = (await rest.post("/api/lists", json={"name": "Home"})).json()
        work = (await rest.post("/api/lists", json={"name": "Work"})).json()
        renamed = structured(
            await session.call_tool("update_list", {"list_id": home["id"], "name": "House"})
        )
        assert renamed["name"] == "House"
        assert (await rest.get(f"/api/lists/{home['id']}")).json() == renamed

        due = {"due_at": "2030-12-24T09:00:00Z", "reminders": [{"at": "2030-12-24T08:00:00Z"}]}
        paint = (await rest.post("/api/tasks", json={"title": "Paint", **due})).json()
        tree = (
            await rest.post("/api/tasks", json={"title": "Tree", "due_date": "2030-12-24"})
        ).json()
        await rest.post("/api/tasks", json={"title": "Later", "due_date": "2030-12-25"})
        moved = structured(
            await session.call_tool("move_task", {"task_id": paint["id"], "list_id": home["id"]})
        )
        assert moved["list_id"] == home["id"]
        assert (await rest.get(f"/api/tasks/{paint['id']}")).json() == moved

        day = structured(await session.call_tool("tasks_due_on", {"date": "2030-12-24"}))
        rest_day = await rest.get("/api/tasks", params={"due_on": "2030-12-24", "sort": "due_at"})
        assert day == {"tasks": rest_day.json()}
        assert {task["id"] for task in day["tasks"]} == {paint["id"], tree["id"]}

        span = {"from": "2030-12-01T00:00:00Z", "to": "2031-01-01T00:00:00Z"}
        reminders = structured(await session.call_tool("list_reminders", span))
        assert reminders == {"reminders": (await rest.get("/api/reminders", params=span)).json()}
        assert [r["fires_at"] for r in reminders["reminders"]] == ["2030-12-24T08:00:00Z"]
        bad_span = tool_error(
            await session.call_tool("list_reminders", {"from": span["to"], "to": span["from"]})
        )
        assert bad_span["code"] == "VALIDATION_ERROR"

        invitation = structured(
            await session.call_tool(
                "invite_to_list", {"list_id": home["id"], "role": "viewer", "expires_in_days": 2}
            )
        )
        assert invitation["role"] == "viewer"
        assert invitation["token"]
        joined = await friend_rest.post(
            "/api/invitations/accept", json={"token": invitation["token"]}
        )
        assert joined.status_code == 200
        members = structured(await session.call_tool("list_members", {"list_id": home["id"]}))
        assert members == {"members": (await rest.get(f"/api/lists/{home['id']}/members")).json()}
        assert [m["role"] for m in members["members"]] == ["owner", "viewer"]

        deleted = structured(await session.call_tool("delete_list", {"list_id": work["id"]}))
        assert deleted == {"deleted": work["id"]}
        assert (await rest.get(f"/api/lists/{work['id']}")).status_code == 404
        missing = tool_error(await session.call_tool("delete_list", {"list_id": work["id"]}))
        assert missing == (await rest.delete(f"/api/lists/{work['id']}")).json()

        # The viewer reads the members and the day, and may not change or delete the list.
        async with mcp_session(server.url, friend) as viewer:
            assert (
                structured(await viewer.call_tool("list_members", {"list_id": home["id"]}))
                == members
            )
            refused = await friend_rest.patch(f"/api/lists/{home['id']}", json={"name": "Mine"})
            assert refused.status_code in (403, 404)
            change = {"list_id": home["id"], "name": "Mine"}
            assert tool_error(await viewer.call_tool("update_list", change)) == refused.json()
            gone = tool_error(await viewer.call_tool("delete_list", {"list_id": home["id"]}))
            assert gone["code"] == refused.json()["code"]


async def test_a_read_token_calls_the_new_reading_tools_and_no_writing_one(
    server: Server, new_token: Any
) -> None:
    async with rest_client(server, new_token()) as rest:
        made = await rest.post("/api/tokens", json={"name": "assistant", "scope": "read"})
        assert made.status_code == 201, made.text
        listed = (await rest.post("/api/lists", json={"name": "Home"})).json()
        task = (await rest.post("/api/tasks", json={"title": "Paint"})).json()
    async with mcp_session(server.url, made.json()["token"]) as session:
        for tool, arguments in [
            ("tasks_due_on", {"date": "2030-12-24"}),
            ("list_reminders", {}),
            ("list_members", {"list_id": listed["id"]}),
            ("list_sections", {"list_id": listed["id"]}),
        ]:
            assert not (await session.call_tool(tool, arguments)).is_error
        for tool, arguments in [
            ("update_list", {"list_id": listed["id"], "name": "No"}),
            ("delete_list", {"list_id": listed["id"]}),
            ("move_task", {"task_id": task["id"], "list_id": listed["id"]}),
            ("invite_to_list", {"list_id": listed["id"], "role": "viewer"}),
        ]:
            error = tool_error(await session.call_tool(tool, arguments))
            assert error["code"] == "FORBIDDEN"
            assert "read" in error["error"]


async def test_members_work_with_a_shared_lists_tasks_through_the_tools_as_their_role_allows(
    server: Server, new_token: Any
) -> None:
    tokens = {role: new_token() for role in ("owner", "editor", "viewer")}
    async with (
        rest_client(server, tokens["owner"]) as owner,
        rest_client(server, tokens["editor"]) as editor_rest,
        rest_client(server, tokens["viewer"]) as viewer_rest,
    ):
        listed = (await owner.post("/api/lists", json={"name": "Household"})).json()
        await _join(owner, editor_rest, listed["id"], "editor")
        await _join(owner, viewer_rest, listed["id"], "viewer")
        task = (
            await owner.post("/api/tasks", json={"title": "Milk", "list_id": listed["id"]})
        ).json()
        in_list = {"title": "Eggs", "list_id": listed["id"]}

        async with mcp_session(server.url, tokens["viewer"]) as viewer:
            lists = structured(await viewer.call_tool("list_lists", {}))["lists"]
            assert [(item["id"], item["role"]) for item in lists] == [(listed["id"], "viewer")]
            seen = structured(await viewer.call_tool("list_tasks", {}))["tasks"]
            assert [item["id"] for item in seen] == [task["id"]]
            got = structured(await viewer.call_tool("get_task", {"task_id": task["id"]}))
            assert got == {**task, "attachments": []}
            refused = await viewer_rest.patch(f"/api/tasks/{task['id']}", json={"title": "No"})
            assert refused.status_code == 403
            for tool, arguments in [
                ("update_task", {"task_id": task["id"], "title": "No"}),
                ("complete_task", {"task_id": task["id"]}),
                ("reopen_task", {"task_id": task["id"]}),
                ("delete_task", {"task_id": task["id"]}),
            ]:
                assert tool_error(await viewer.call_tool(tool, arguments)) == refused.json()
            error = tool_error(await viewer.call_tool("create_task", in_list))
            assert error["code"] == "FORBIDDEN"
        assert (await owner.get(f"/api/tasks/{task['id']}")).json() == task  # nothing changed

        async with mcp_session(server.url, tokens["editor"]) as editor:
            seen = structured(await editor.call_tool("list_tasks", {}))["tasks"]
            assert [item["id"] for item in seen] == [task["id"]]
            changed = structured(
                await editor.call_tool("update_task", {"task_id": task["id"], "title": "Oat milk"})
            )
            assert changed["title"] == "Oat milk"
            done = structured(await editor.call_tool("complete_task", {"task_id": task["id"]}))
            assert done["completed_by"] == (await editor_rest.get("/api/auth/me")).json()["id"]
            structured(await editor.call_tool("reopen_task", {"task_id": task["id"]}))
            created = structured(await editor.call_tool("create_task", in_list))
            assert created["created_by"] == done["completed_by"]
            structured(await editor.call_tool("delete_task", {"task_id": task["id"]}))
        remaining = (await owner.get(f"/api/tasks?list_id={listed['id']}")).json()
        assert [item["id"] for item in remaining] == [created["id"]]


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "UNAUTHORIZED"),
        ("Basic dXNlcjpwYXNz", "UNAUTHORIZED"),
        ("Bearer abc", "INVALID_TOKEN"),
    ],
)
async def test_without_a_valid_token_mcp_answers_401_in_the_error_format(
    server: Server, authorization: str | None, code: str
) -> None:
    headers = {**MCP_HEADERS, **({"Authorization": authorization} if authorization else {})}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        response = await client.post("/mcp", json=INITIALIZE, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["code"] == code


async def test_the_sdk_client_without_a_token_is_refused_before_a_session_opens(
    server: Server,
) -> None:
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    with pytest.raises(ExceptionGroup) as raised:
        async with (
            httpx2.AsyncClient(timeout=TIMEOUT, event_hooks={"response": [record]}) as http,
            streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()

    assert raised.group_contains(MCPError)
    assert statuses == [401]


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_methods_other_than_post_are_405_in_the_error_format(
    server: Server, new_token: Any, method: str
) -> None:
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {new_token()}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        response = await client.request(method, "/mcp", headers=headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"secret": "<script>"}', -32600),
        ("[1, 2]", -32600),
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": "secret <script>"}', -32600),
        ('{"jsonrpc": "2.0", "id": 1, "method": "secret', -32700),
        ("[" * 1100 + "]" * 1100, -32700),
    ],
)
async def test_a_body_that_is_no_jsonrpc_message_gets_a_plain_jsonrpc_error(
    server: Server, new_token: Any, body: str, code: int
) -> None:
    headers = {
        **MCP_HEADERS,
        "Authorization": f"Bearer {new_token()}",
        "Content-Type": "application/json",
    }
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as client:
        response = await client.post("/mcp", content=body, headers=headers)

    assert response.status_code == 400
    assert response.headers["cache-control"] == "private, no-cache"  # a token was accepted
    answer = response.json()
    assert (answer["jsonrpc"], answer["id"], answer["error"]["code"]) == ("2.0", None, code)
    message = answer["error"]["message"]
    assert set(answer["error"]) == {"code", "message"}  # no data: nothing of the input
    assert len(message) < 60, message  # a sentence, not a parser's report
    for leak in ("secret", "<script>", "pydantic", "input", "JSONRPC", "line"):
        assert leak not in message, message


def mcp_post_head(token: str, length_header: bytes) -> bytes:
    return (
        b"POST /mcp HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n" + length_header + b"\r\n"
    )


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(
    server: Server, new_token: Any
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(mcp_post_head(new_token(), b"Content-Length: 104857600\r\n"))
        response = read_until_closed(sock)  # 100 MB announced, none of it sent

    assert status_of(response) == 413
    assert json_of(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    server: Server, new_token: Any
) -> None:
    chunk = b"x" * 64 * 1024
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(mcp_post_head(new_token(), b"Transfer-Encoding: chunked\r\n"))
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1):  # one chunk past the limit, then silence
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        response = read_until_closed(sock)

    assert status_of(response) == 413
    assert json_of(response)["code"] == "PAYLOAD_TOO_LARGE"


# --- Several instances ---------------------------------------------------------------------------


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next of several ports, as a load balancer without sticky
    sessions does."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(port=next(self._ports))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_any_instance_answers_any_request_of_a_conversation(
    servers: tuple[Server, Server], new_token: Any
) -> None:
    first, second = servers
    token = new_token()
    transport = RoundRobin([first.port, second.port])
    async with mcp_session(first.url, token, transport) as session:
        task = structured(await session.call_tool("create_task", {"title": "Anywhere"}))
        for _ in range(2):
            got = structured(await session.call_tool("get_task", {"task_id": task["id"]}))
            assert got == {**task, "attachments": []}
        listed = structured(await session.call_tool("list_tasks", {}))

    assert listed == {"tasks": [task]}
    deadline = asyncio.get_running_loop().time() + 10  # request lines are held a moment
    for server in servers:
        while "POST /mcp 200" not in server.log():
            assert asyncio.get_running_loop().time() < deadline, server.log()
            await asyncio.sleep(0.05)


async def test_the_tools_keep_the_text_rules(server: Server, new_token: Any) -> None:
    """A tag that grows when folded is a validation error, not a database error; text is stored
    in NFC; a search ignores case and accents; look-alike list names are one name."""
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        grown = tool_error(
            await session.call_tool("create_task", {"title": "t", "tags": ["İ" * 50]})
        )
        assert grown["code"] == "VALIDATION_ERROR"
        assert [d["field"] for d in grown["details"]] == ["tags.0"]
        task = structured(await session.call_tool("create_task", {"title": "Cafe\u0301 İzmir"}))
        assert task["title"] == "Café İzmir"
        changed = tool_error(
            await session.call_tool("update_task", {"task_id": task["id"], "tags": ["İ" * 50]})
        )
        assert changed["code"] == "VALIDATION_ERROR"
        for q in ("cafe izmir", "CAFÉ", "izmir"):
            found = structured(await session.call_tool("list_tasks", {"q": q}))
            assert [t["id"] for t in found["tasks"]] == [task["id"]], q
            assert (await rest.get("/api/tasks", params={"q": q})).json() == found["tasks"]
        assert structured(await session.call_tool("create_list", {"name": "Straße"}))
        duplicate = tool_error(await session.call_tool("create_list", {"name": "STRASSE"}))
        assert duplicate["code"] == "CONFLICT"


# Texts that tell the two modes apart where a pattern reads them differently: characters above
# U+FFFF (two code units without the `u` flag), invisible ones and controls among them.
PATTERN_SAMPLES = [
    "Paint the fence",
    " x ",
    "",
    " ",
    "\u200b",
    "a\x07b",
    "line\nbreak",
    "\U0001f600",
    "\U0001f3f3\ufe0f",
    "\U000e0041",
    "\U0001bca0",
    "x\U0001d173",
    "\U00013430\U00013431",
    "#a0b1c2",
    "PT15M",
    "FREQ=WEEKLY;BYDAY=MO",
]
COMPILE_BOTH_WAYS = """
const [patterns, samples] = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(patterns.map((pattern) => ["", "u"].map((flags) => {
  try {
    const re = new RegExp(pattern, flags);
    return samples.map((sample) => re.test(sample));
  } catch (error) {
    return String(error);
  }
}))));
"""


def patterns_of(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns_of(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from patterns_of(item)


async def test_every_pattern_of_the_tool_schemas_reads_alike_with_and_without_unicode_mode(
    server: Server, new_token: Any
) -> None:
    """Some AI apps compile a schema's patterns as `new RegExp(p)`, others with the `u` flag:
    each pattern compiles both ways, in node, and both read the same texts alike. Where a
    pattern cannot say a rule (a character above U+FFFF), the service still checks it."""
    if shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is needed to compile the tool schemas' patterns")
        pytest.skip("node is not installed")
    token = new_token()
    async with mcp_session(server.url, token) as session:
        tools = (await session.list_tools()).tools
        invisible_only = await session.call_tool("create_task", {"title": "\U000e0041"})
    patterns = sorted(
        {
            pattern
            for tool in tools
            for schema in (tool.input_schema, tool.output_schema or {})
            for pattern in patterns_of(schema)
        }
    )
    titles = next(t.input_schema for t in tools if t.name == "create_task")
    assert titles["properties"]["title"]["pattern"] in patterns
    node = await asyncio.create_subprocess_exec(
        "node",
        "-e",
        COMPILE_BOTH_WAYS,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(
        node.communicate(json.dumps([patterns, PATTERN_SAMPLES]).encode()), 60
    )
    assert node.returncode == 0, stderr.decode()
    for pattern, (plain, unicode) in zip(patterns, json.loads(stdout), strict=True):
        assert isinstance(plain, list), (pattern[:80], plain)
        assert plain == unicode, pattern[:80]
    assert tool_error(invisible_only)["code"] == "VALIDATION_ERROR"


async def test_list_sections_and_the_task_tools_take_a_section(
    server: Server, new_token: Any
) -> None:
    token = new_token()
    async with mcp_session(server.url, token) as session, rest_client(server, token) as rest:
        work = (await rest.post("/api/lists", json={"name": "Work"})).json()
        base = f"/api/lists/{work['id']}/sections"
        later = (await rest.post(base, json={"name": "Later"})).json()
        now = (await rest.post(base, json={"name": "Now"})).json()
        listed = structured(await session.call_tool("list_sections", {"list_id": work["id"]}))
        assert listed == {"sections": (await rest.get(base)).json()}
        assert [s["name"] for s in listed["sections"]] == ["Later", "Now"]
        made = structured(
            await session.call_tool(
                "create_task", {"title": "Plan", "list_id": work["id"], "section_id": later["id"]}
            )
        )
        assert made["section_id"] == later["id"]
        moved = structured(
            await session.call_tool("move_task", {"task_id": made["id"], "section_id": now["id"]})
        )
        assert moved["section_id"] == now["id"]
        assert (await rest.get(f"/api/tasks/{made['id']}")).json() == moved
        # update_task takes it too, list_tasks filters by it, quick_add reads `/Section`.
        changed = structured(
            await session.call_tool("update_task", {"task_id": made["id"], "section_id": None})
        )
        assert changed["section_id"] is None
        quick = structured(
            await session.call_tool("quick_add", {"text": "Review #Work /now tomorrow"})
        )
        assert (quick["title"], quick["section_id"]) == ("Review", now["id"])
        page = structured(
            await session.call_tool("list_tasks", {"section_id": now["id"], "sort": "position"})
        )
        assert [t["id"] for t in page["tasks"]] == [quick["id"]]
        nowhere = structured(await session.call_tool("list_tasks", {"section_id": "none"}))
        assert [t["id"] for t in nowhere["tasks"]] == [made["id"]]
        # A section of another list, and one of a list the caller may only view, are refused.
        home = (await rest.post("/api/lists", json={"name": "Home"})).json()
        elsewhere = (
            await rest.post(f"/api/lists/{home['id']}/sections", json={"name": "X"})
        ).json()
        wrong = await session.call_tool(
            "update_task", {"task_id": made["id"], "section_id": elsewhere["id"]}
        )
        assert tool_error(wrong)["code"] == "VALIDATION_ERROR"
        other = new_token()
        async with rest_client(server, other) as theirs, mcp_session(server.url, other) as viewer:
            await share(rest, theirs, work["id"], "viewer")
            seen = structured(await viewer.call_tool("list_sections", {"list_id": work["id"]}))
            assert [s["name"] for s in seen["sections"]] == ["Later", "Now"]
            refused = await viewer.call_tool(
                "move_task", {"task_id": made["id"], "section_id": later["id"]}
            )
            assert tool_error(refused)["code"] == "FORBIDDEN"


async def test_a_move_past_the_new_owner_s_quota_is_a_tool_error_with_the_usage(
    database_url: str, tmp_path: Path, new_token: Any
) -> None:
    """move_task and update_task into a list of another owner whose quota the task's files do
    not fit in: QUOTA_EXCEEDED, with the usage in `details` as the REST API gives it."""
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        ATTACHMENT_QUOTA_BYTES="1000",
        ATTACHMENT_STORAGE=f"file://{tmp_path / 'files'}",
    )
    owner, mover = new_token(), new_token()
    with running_server(tmp_path, env, tmp_path / "quota.log") as small:
        async with rest_client(small, owner) as ann, rest_client(small, mover) as bo:
            shared = (await ann.post("/api/lists", json={"name": "Ann's"})).json()["id"]
            await share(ann, bo, shared, "editor")
            task = (await bo.post("/api/tasks", json={"title": "Heavy"})).json()["id"]
            for name, owner_client, on in (("a.bin", ann, None), ("b.bin", bo, task)):
                if on is None:
                    on = (await owner_client.post("/api/tasks", json={"title": "A"})).json()["id"]
                made = await owner_client.post(
                    f"/api/tasks/{on}/attachments",
                    files={"file": (name, b"x" * 600, "application/octet-stream")},
                )
                assert made.status_code == 201, made.text
            async with mcp_session(small.url, mover) as session:
                for tool in ("move_task", "update_task"):
                    arguments = {"task_id": task, "list_id": shared}
                    error = tool_error(await session.call_tool(tool, arguments))
                    assert error["code"] == "QUOTA_EXCEEDED"
                    assert error["details"] == {
                        "used_bytes": 600,
                        "quota_bytes": 1000,
                        "file_bytes": 600,
                    }
            assert (await bo.get(f"/api/tasks/{task}")).json()["list_id"] is None
