"""Text as the service stores and compares it: NFC, limits counted after normalising (tags after
case folding), visible characters required, control characters refused, and a search that
ignores case and accents the same way on both databases."""

import re
import unicodedata
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import bindparam, update

from tests.support import assert_error
from tests.tasks.feed_helpers import read_feed
from tests.tasks.helpers import TASK_FIELDS, assert_validation_error, bulk, create_task
from todo_api.db import Database, InvalidValue, Query
from todo_api.kit.deps import held
from todo_api.tables.tasks import tasks

# 50 characters that lower-case (and fold) into 100: İ is I with a dot, i + U+0307.
GROWING_TAG = "İ" * 50
INVISIBLE = [
    pytest.param("\u200b", id="zero-width-space"),
    pytest.param("\u202e", id="right-to-left-override"),
    pytest.param("\u200b\u200c\u200d\u2060\ufeff", id="zero-width-mix"),
    pytest.param("\u3164", id="hangul-filler"),
    pytest.param("\u2800", id="braille-blank"),
    pytest.param("\u00ad\u034f", id="soft-hyphen-and-grapheme-joiner"),
    pytest.param(" \u200b ", id="spaces-around"),
]


def nfd(value: str) -> str:
    return unicodedata.normalize("NFD", value)


def assert_refused(response: httpx.Response, field: str) -> None:
    """400 VALIDATION_ERROR whose every detail names `field` (or an item of it); never 503."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    fields = [detail["field"] for detail in body["details"]]
    assert fields, body
    assert all(re.search(rf"(^|\.){field}(\.\d+)?$", f) for f in fields), body


# --- 13: limits count the stored form ----------------------------------------------------------


async def test_a_tag_that_grows_when_folded_is_refused_on_every_write(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title="Kept", tags=["kept"])
    url = f"/api/tasks/{task['id']}"
    tags = {"tags": [GROWING_TAG]}

    assert_refused(await alice.post("/api/tasks", json={"title": "t", **tags}), "tags")
    assert_refused(await alice.put(url, json=tags), "tags")
    assert_refused(await alice.patch(url, json=tags), "tags")
    assert_refused(await bulk(alice, {"op": "create", "data": {"title": "t", **tags}}), "tags")
    assert_refused(await bulk(alice, {"op": "update", "id": task["id"], "data": tags}), "tags")

    listed = (await alice.get("/api/tasks")).json()
    assert [(t["title"], t["tags"]) for t in listed] == [("Kept", ["kept"])]


async def test_a_tag_counts_its_folded_characters(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, tags=["ß" * 25, " Straße "])
    assert task["tags"] == ["ss" * 25, "strasse"]
    response = await alice.post("/api/tasks", json={"title": "t", "tags": ["ß" * 26]})
    assert_refused(response, "tags")
    found = (await alice.get("/api/tasks", params={"tag": "STRASSE"})).json()
    assert [t["id"] for t in found] == [task["id"]]


async def test_text_is_stored_in_nfc_and_limits_count_it_so(alice: httpx.AsyncClient) -> None:
    task = await create_task(
        alice, title=nfd("Café crème"), description=nfd("Noël"), tags=[nfd("Été")]
    )
    assert (task["title"], task["description"], task["tags"]) == ("Café crème", "Noël", ["été"])
    stored = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert (stored["title"], stored["description"]) == ("Café crème", "Noël")

    # 400 characters as sent, 200 once composed: at the limit, taken.
    long_title = await create_task(alice, title="e\u0301" * 200)
    assert long_title["title"] == "é" * 200
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"description": "o\u0308" * 2000})
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "ö" * 2000


# --- 18: visible characters, no control characters ----------------------------------------------


@pytest.mark.parametrize("value", INVISIBLE)
async def test_a_title_or_tag_without_a_visible_character_is_refused(
    alice: httpx.AsyncClient, value: str
) -> None:
    assert_validation_error(await alice.post("/api/tasks", json={"title": value}), "title")
    response = await alice.post("/api/tasks", json={"title": "t", "tags": [value]})
    assert_refused(response, "tags")
    task = await create_task(alice)
    response = await alice.patch(f"/api/tasks/{task['id']}", json={"title": value})
    assert_validation_error(response, "title")


CONTROLLED = ["Buy\x07milk", "a\x1bb", "two\nlines", "tab\tinside", "x\x85y", "c1\x9bcontrol"]


@pytest.mark.parametrize("value", CONTROLLED)
async def test_control_characters_are_refused_in_titles_and_tags(
    alice: httpx.AsyncClient, value: str
) -> None:
    assert_validation_error(await alice.post("/api/tasks", json={"title": value}), "title")
    response = await alice.post("/api/tasks", json={"title": "t", "tags": [value]})
    assert_refused(response, "tags")


async def test_a_description_keeps_line_breaks_and_tabs_and_refuses_other_controls(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title=" \tTrimmed\n", description="one\r\ntwo\tthree\n")
    assert (task["title"], task["description"]) == ("Trimmed", "one\r\ntwo\tthree\n")
    for value in ("bell\x07", "escape\x1b[31m", "delete\x7f", "c1\x9b"):
        response = await alice.patch(f"/api/tasks/{task['id']}", json={"description": value})
        assert_validation_error(response, "description")


async def test_a_visible_character_among_invisible_ones_is_enough(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title="\u202eReversed", tags=["\u200bx"])
    assert task["title"] == "\u202eReversed"


# --- 17: search ignores case and accents, the same on both databases ----------------------------


async def search(client: httpx.AsyncClient, q: str) -> list[str]:
    response = await client.get("/api/tasks", params={"q": q, "sort": "title"})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()]


async def test_search_ignores_case_and_accents(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="İstanbul trip")
    await create_task(alice, title="Café", description="Crème brûlée")
    await create_task(alice, title="Straße fegen")
    await create_task(alice, title="ﬁle the \uff34\uff21\uff38 forms")
    await create_task(alice, title="W\u200bork out")

    for q in ("istanbul", "İstanbul", "ISTANBUL", "i̇stanbul"):
        assert await search(alice, q) == ["İstanbul trip"], q
    for q in ("cafe", "CAFÉ", nfd("café")):
        assert await search(alice, q) == ["Café"], q
    assert await search(alice, "creme brulee") == ["Café"]
    assert await search(alice, "STRASSE") == ["Straße fegen"]
    assert await search(alice, "file the tax") == ["ﬁle the \uff34\uff21\uff38 forms"]
    assert await search(alice, "work") == ["W\u200bork out"]
    assert await search(alice, "x%") == []


async def test_every_write_keeps_what_search_finds(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="Plain", description="Nothing")
    url = f"/api/tasks/{task['id']}"
    assert (await alice.patch(url, json={"title": "Jalapeño"})).status_code == 200
    assert await search(alice, "jalapeno") == ["Jalapeño"]
    assert await search(alice, "plain") == []
    assert (await alice.put(url, json={"description": "Señor"})).status_code == 200
    assert await search(alice, "senor") == ["Jalapeño"]
    assert await search(alice, "jalapeno") == ["Jalapeño"]  # the title's key stays
    assert (await alice.patch(url, json={"description": None})).status_code == 200
    assert await search(alice, "senor") == []

    response = await bulk(
        alice,
        {"op": "create", "data": {"title": "Ñandú", "description": "Über"}},
        {"op": "update", "id": task["id"], "data": {"title": "Pequeño"}},
    )
    assert response.status_code == 200, response.text
    assert await search(alice, "nandu") == ["Ñandú"]
    assert await search(alice, "uber") == ["Ñandú"]
    assert await search(alice, "pequeno") == ["Pequeño"]

    recurring = await create_task(
        alice, title="Ménage", due_at="2026-03-02T09:00:00Z", recurrence="FREQ=WEEKLY"
    )
    assert (await alice.post(f"/api/tasks/{recurring['id']}/complete")).status_code == 200
    assert await search(alice, "menage") == ["Ménage"]  # one task, at its next occurrence


async def test_the_keys_are_in_no_response(alice: httpx.AsyncClient) -> None:
    changes = await alice.get("/api/tasks/changes")
    since = changes.json()["next"]
    task = await create_task(alice, title="Café", description="Noël")
    assert set(task) == TASK_FIELDS
    [listed] = (await alice.get("/api/tasks", params={"q": "cafe"})).json()
    assert set(listed) == TASK_FIELDS
    feed = await read_feed(alice, since, wait_for=[task["id"]])
    assert [set(t) for t in feed["changes"]] == [TASK_FIELDS]


async def test_a_value_too_long_for_its_column_is_no_database_outage(
    alice: httpx.AsyncClient, app: FastAPI
) -> None:
    """Should a check ever miss, PostgreSQL's refusal of the value is an internal error: 503
    only ever says the database is unavailable. (SQLite keeps any length.)"""
    if held(app, Database).name != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    task = await create_task(alice)
    async with held(app, Database).connection() as conn:
        statement = Query(
            update(tasks).where(tasks.c.id == bindparam("task_id")).values(title=bindparam("t"))
        )
        with pytest.raises(InvalidValue):
            await conn.execute(statement, {"task_id": uuid.UUID(task["id"]), "t": "x" * 201})
