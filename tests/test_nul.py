"""NUL never reaches a database (PostgreSQL refuses it in text; SQLite is not given it either):
in a JSON body, a header, a path or a query parameter that is stored, a file imported, a
calendar object, each is 400 naming what held it (CalDAV: its own 400), and nothing is
stored."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.dav.helpers import dav_user, new_list, vtodo
from tests.support import assert_error
from tests.yourdata.helpers import TODOIST_HEADER, import_file
from todo_api.config import Settings

# The value schemathesis found: control characters around the URL and a NUL inside.
HOSTILE_URL = "\r\u000bhTtps://\u0000xn--example.com:9813#x"


def named(response: httpx.Response, field: str) -> None:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert field in [d["field"] for d in body["details"]], body


JSON_BODIES = [
    pytest.param("POST", "/api/tasks", {"title": "a\u0000b"}, "title", id="task-title"),
    pytest.param(
        "POST", "/api/tasks", {"title": "T", "tags": ["x\u0000"]}, "tags.0", id="task-tag"
    ),
    pytest.param(
        "POST",
        "/api/tasks",
        {"title": "T", "timezone": "Europe/Berlin\u0000"},
        "timezone",
        id="task-timezone",
    ),
    pytest.param(
        "POST",
        "/api/tasks",
        {"title": "T", "recurrence": "FREQ=DAILY\u0000"},
        "recurrence",
        id="task-recurrence",
    ),
    pytest.param("POST", "/api/lists", {"name": "L\u0000"}, "name", id="list-name"),
    pytest.param(
        "POST", "/api/lists", {"name": "L", "color": "#ff0000\u0000"}, "color", id="color"
    ),
    pytest.param("POST", "/api/tokens", {"name": "n\u0000"}, "name", id="token-name"),
    pytest.param(
        "POST", "/api/webhooks", {"url": HOSTILE_URL, "events": ["*"]}, "url", id="webhook-url"
    ),
    pytest.param(
        "POST",
        "/api/webhooks",
        {"url": "https://example.com/a\u0000b", "events": ["*"]},
        "url",
        id="webhook-url-path",
    ),
    pytest.param(
        "POST",
        "/api/webhooks",
        {"url": "https://example.com/", "events": ["*"], "description": "\u0000"},
        "description",
        id="webhook-description",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), JSON_BODIES)
async def test_nul_in_a_json_body_is_refused_naming_its_field(
    alice: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    named(await alice.request(method, path, json=body), field)


async def test_nul_in_a_webhooks_new_url_is_refused_naming_url(alice: httpx.AsyncClient) -> None:
    made = await alice.post(
        "/api/webhooks", json={"url": "https://example.com/hook", "events": ["*"]}
    )
    assert made.status_code == 201, made.text
    hook = made.json()["id"]
    named(await alice.patch(f"/api/webhooks/{hook}", json={"url": HOSTILE_URL}), "url")
    assert (await alice.get(f"/api/webhooks/{hook}")).json()["url"] == "https://example.com/hook"


async def test_nul_in_a_stored_query_parameter_is_refused_naming_it(
    alice: httpx.AsyncClient,
) -> None:
    csv = f"{TODOIST_HEADER}\ntask,Fine,,4,1,,,,,\n"
    response = await import_file(alice, "todoist", csv, content_type="text/csv", list="L\u0000")
    named(response, "list")
    assert (await alice.get("/api/lists")).json() == []


async def test_nul_in_a_stored_header_is_refused_naming_it(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "T"}, headers={"Idempotency-Key": "k\u0000"}
    )
    named(response, "Idempotency-Key")
    assert (await alice.get("/api/tasks")).json() == []


IMPORTED = [
    pytest.param("todoist", f"{TODOIST_HEADER}\ntask,a\u0000b,,4,1,,,,,\n", "text/csv", id="csv"),
    pytest.param(
        "google-tasks",
        '{"kind": "tasks#taskLists", "items": [{"kind": "tasks#taskList", "id": "l",'
        ' "title": "L\\u0000", "items": []}]}',
        "application/json",
        id="takeout-list",
    ),
    pytest.param(
        "google-tasks",
        '{"kind": "tasks#taskLists", "items": [{"kind": "tasks#taskList", "id": "l",'
        ' "title": "L", "items": [{"id": "t", "title": "T", "notes": "\\u0000"}]}]}',
        "application/json",
        id="takeout-notes",
    ),
    pytest.param(
        "ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:u\u0000\r\n"
        "SUMMARY:T\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        "text/calendar",
        id="ics-uid",
    ),
]


@pytest.mark.parametrize(("source", "body", "content_type"), IMPORTED)
async def test_nul_in_an_imported_file_is_refused_and_nothing_imported(
    alice: httpx.AsyncClient, source: str, body: str, content_type: str
) -> None:
    response = await import_file(alice, source, body, content_type=content_type)
    assert response.status_code == 400, response.text
    assert (await alice.get("/api/lists")).json() == []
    assert (await alice.get("/api/tasks")).json() == []


async def test_nul_in_a_calendar_objects_name_or_data_is_refused(
    app: FastAPI, settings: Settings
) -> None:
    async with dav_user(app, settings) as user:
        list_id = await new_list(user, "Home")
        base = f"{user.home}{list_id}/"
        by_name = await user.dav.put(f"{base}a%00b.ics", content=vtodo("u1", "T"))
        assert by_name.status_code == 400, by_name.text
        assert b"NUL" in by_name.content
        by_uid = await user.dav.put(f"{base}c.ics", content=vtodo("u\u00002", "T"))
        assert by_uid.status_code in {400, 403}, by_uid.text
        assert (await user.api.get("/api/tasks")).json() == []
