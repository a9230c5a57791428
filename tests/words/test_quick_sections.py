"""Quick add's `/Section`: a section of the `#list` named, else of `list_id`; one the list does
not have (or the inbox, which has none) is 400 naming `text`, as an unknown `#list` is. On both
databases."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.lists.helpers import create_list
from tests.lists.sharing import share
from tests.lists.test_sections import add_section
from tests.tasks.helpers import assert_validation_error
from todo_api.words import clock

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW.astimezone(UTC))


async def quick(client: httpx.AsyncClient, text: str, **fields: Any) -> httpx.Response:
    return await client.post("/api/tasks/quick", json={"text": text, **fields})


async def test_a_section_of_the_list_named(alice: httpx.AsyncClient) -> None:
    home = await create_list(alice, "Home")
    dairy = await add_section(alice, home["id"], "Dairy")
    response = await quick(alice, "Buy milk #Home /dairy p2")
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["title"], task["list_id"], task["section_id"]) == (
        "Buy milk",
        home["id"],
        dairy["id"],
    )
    assert {"start": 15, "end": 21, "kind": "section", "value": "dairy"} in task["parsed"]
    # Before the list, in quotes, a name with spaces.
    frozen = await add_section(alice, home["id"], "Frozen food")
    response = await quick(alice, 'Peas /"frozen FOOD" #home')
    assert response.status_code == 201, response.text
    assert (response.json()["title"], response.json()["section_id"]) == ("Peas", frozen["id"])


async def test_a_section_of_the_list_in_view(alice: httpx.AsyncClient) -> None:
    home = await create_list(alice, "Home")
    dairy = await add_section(alice, home["id"], "Dairy")
    response = await quick(alice, "Butter tomorrow /Dairy", list_id=home["id"])
    assert response.status_code == 201, response.text
    assert response.json()["section_id"] == dairy["id"]
    assert response.json()["due_date"] == "2026-11-27"
    preview = await alice.post(
        "/api/tasks/quick/preview", json={"text": "Cream /Dairy", "list_id": home["id"]}
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["section_id"] == dairy["id"]
    assert preview.json()["title"] == "Cream"


async def test_an_unknown_section_or_the_inbox_is_400_naming_text(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    home = await create_list(alice, "Home")
    work = await create_list(alice, "Work")
    await add_section(alice, work["id"], "Dairy")  # another list's
    [detail] = assert_validation_error(await quick(alice, "Milk #Home /Dairy"), "text")
    assert "/Dairy (characters 11 to 17) is no section" in detail["message"]
    [detail] = assert_validation_error(await quick(alice, "Milk /Dairy"), "text")
    assert "the inbox has none" in detail["message"]
    # Bob's list of the same name, and its section, are not Alice's.
    bobs = await create_list(bob, "Home")
    await add_section(bob, bobs["id"], "Dairy")
    assert_validation_error(await quick(alice, "Milk #Home /Dairy"), "text")
    [detail] = assert_validation_error(
        await quick(alice, "Milk /Dairy", list_id=bobs["id"]), "text"
    )
    assert "is no section of the task's list" in detail["message"]
    assert (await alice.get("/api/tasks", params={"list_id": home["id"]})).json() == []


async def test_a_shared_lists_sections_for_its_editors_not_its_viewers(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    shared = await create_list(alice, "Shared")
    fridge = await add_section(alice, shared["id"], "Fridge")
    viewed = await create_list(alice, "Viewed")
    await add_section(alice, viewed["id"], "Shelf")
    await share(alice, bob, shared["id"], role="editor")
    await share(alice, bob, viewed["id"], role="viewer")
    response = await quick(bob, "Cheese #shared /fridge")
    assert response.status_code == 201, response.text
    assert response.json()["section_id"] == fridge["id"]
    [detail] = assert_validation_error(await quick(bob, "Jam #viewed /shelf"), "text")
    assert "only view" in detail["message"]


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Read and/or write", "Read and/or write"),  # a slash inside a word
        ("Fix the path \\/etc/hosts", "Fix the path /etc/hosts"),  # protected
        ('Fix "/etc/hosts"', 'Fix "/etc/hosts"'),
        ("Split 1 / 2", "Split 1 / 2"),  # a slash alone
    ],
)
async def test_slashes_that_name_no_section_stay(
    alice: httpx.AsyncClient, text: str, title: str
) -> None:
    response = await quick(alice, text)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title
    assert response.json()["section_id"] is None
    assert [span["kind"] for span in response.json()["parsed"]] == []
