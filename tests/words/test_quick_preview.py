"""POST /api/tasks/quick/preview: what quick add would make of the words (the fields it would
set and the spans read), with nothing written, on both databases."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.tasks.helpers import assert_validation_error
from todo_api.words import clock

PREVIEW = "/api/tasks/quick/preview"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))


async def tasks_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed = await client.get("/api/tasks")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def test_the_preview_says_what_quick_add_would_set_and_writes_nothing(
    alice: httpx.AsyncClient,
) -> None:
    home = await create_list(alice, "Home")
    text = "Pay rent every month on the 1st #home p1 @bills"
    response = await alice.post(PREVIEW, json={"text": text})
    assert response.status_code == 200, response.text
    assert "location" not in response.headers
    body = response.json()
    assert body == {
        "title": "Pay rent",
        "tags": ["bills"],
        "timezone": body["timezone"],
        "list_id": home["id"],
        "priority": "high",
        "due_date": "2026-12-01",
        "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1",
        "parsed": [
            {"start": 9, "end": 31, "kind": "recurrence", "value": "FREQ=MONTHLY;BYMONTHDAY=1"},
            {"start": 32, "end": 37, "kind": "list", "value": "home"},
            {"start": 38, "end": 40, "kind": "priority", "value": "high"},
            {"start": 41, "end": 47, "kind": "tag", "value": "bills"},
        ],
    }
    assert await tasks_of(alice) == []
    # Quick add with the same words makes what the preview said.
    made = await alice.post("/api/tasks/quick", json={"text": text})
    assert made.status_code == 201, made.text
    assert {key: made.json()[key] for key in body} == body


async def test_words_with_nothing_to_read_preview_their_title_alone(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post(PREVIEW, json={"text": "Call the plumber"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["title"], body["tags"], body["parsed"]) == ("Call the plumber", [], [])
    assert "due_at" not in body
    assert "list_id" not in body


async def test_the_preview_refuses_what_quick_add_refuses(alice: httpx.AsyncClient) -> None:
    unknown = await alice.post(PREVIEW, json={"text": "Buy bread #nowhere"})
    [detail] = assert_validation_error(unknown, "text")
    assert "is no list of yours" in detail["message"]
    empty = await alice.post(PREVIEW, json={"text": "tomorrow p1"})
    assert_validation_error(empty, "text")
    assert await tasks_of(alice) == []


async def test_the_preview_needs_a_token(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(PREVIEW, json={"text": "Buy bread"})
    assert response.status_code == 401


async def test_the_preview_is_in_the_openapi_document(schema: dict[str, Any]) -> None:
    operation = schema["paths"][PREVIEW]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QuickAdd"
    }
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/QuickPreview"}
