"""What the task routes accept and refuse, on both databases.

Every refusal is a 400 with the contract's error body; none of them may reach the database
and come back as a 500 or 503 (PostgreSQL refuses NUL and lone surrogates outright).
"""

from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.helpers import assert_validation_error, create_task

JSON = {"content-type": "application/json"}

# --- Title --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("a" * 200, id="200-ascii"),
        pytest.param("😀" * 200, id="200-emoji"),
        pytest.param("é" * 200, id="200-accented"),
        pytest.param("  " + "a" * 200 + "  ", id="200-after-trimming"),
        pytest.param("x", id="one-character"),
    ],
)
async def test_title_up_to_200_characters_is_stored_intact(
    alice: httpx.AsyncClient, title: str
) -> None:
    task = await create_task(alice, title=title)
    assert task["title"] == title.strip()

    stored = (await alice.get(f"/api/tasks/{task['id']}")).json()
    assert stored["title"] == title.strip()
    assert len(stored["title"]) <= 200


@pytest.mark.parametrize(
    "title",
    [pytest.param("a" * 201, id="201-ascii"), pytest.param("😀" * 201, id="201-emoji")],
)
async def test_title_over_200_characters_is_refused(alice: httpx.AsyncClient, title: str) -> None:
    response = await alice.post("/api/tasks", json={"title": title})
    assert_validation_error(response, "title")


async def test_emoji_sent_as_an_escaped_surrogate_pair_is_one_character(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post(
        "/api/tasks", content=b'{"title": "\\ud83d\\ude00 done"}', headers=JSON
    )
    assert response.status_code == 201
    assert response.json()["title"] == "😀 done"


async def test_title_surrounding_white_space_is_trimmed_inner_space_kept(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice, title="\n\t  Buy   oat milk \r\n")
    assert task["title"] == "Buy   oat milk"


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("", id="empty"),
        pytest.param(" ", id="space"),
        pytest.param("   \t\n\r ", id="mixed-white-space"),
        pytest.param("\u00a0\u2003", id="unicode-spaces"),
    ],
)
async def test_blank_title_is_refused(alice: httpx.AsyncClient, title: str) -> None:
    assert_validation_error(await alice.post("/api/tasks", json={"title": title}), "title")


@pytest.mark.parametrize(
    "title",
    [
        pytest.param(123, id="integer"),
        pytest.param(1.5, id="float"),
        pytest.param(True, id="boolean"),
        pytest.param(["list"], id="array"),
        pytest.param({"text": "x"}, id="object"),
        pytest.param(None, id="null"),
    ],
)
async def test_title_that_is_not_a_string_is_refused(
    alice: httpx.AsyncClient, title: object
) -> None:
    assert_validation_error(await alice.post("/api/tasks", json={"title": title}), "title")


async def test_missing_title_is_refused(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"description": "No title"})
    assert_validation_error(response, "title")


# --- Description --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("d" * 2000, id="2000-ascii"),
        pytest.param("😀" * 2000, id="2000-emoji"),
        pytest.param("", id="empty"),
        pytest.param("  line one\n  line two  ", id="white-space-kept"),
    ],
)
async def test_description_up_to_2000_characters_is_stored_intact(
    alice: httpx.AsyncClient, description: str
) -> None:
    task = await create_task(alice, description=description)
    assert task["description"] == description
    assert (await alice.get(f"/api/tasks/{task['id']}")).json()["description"] == description


async def test_description_over_2000_characters_is_refused(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "Long", "description": "d" * 2001})
    assert_validation_error(response, "description")


async def test_description_that_is_not_a_string_is_refused(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "T", "description": 42})
    assert_validation_error(response, "description")


# --- Text the databases cannot store ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": "nul\u0000here"}, "title", id="title-nul-inside"),
        pytest.param({"title": "\u0000"}, "title", id="title-only-nul"),
        pytest.param({"title": "T", "description": "a\u0000b"}, "description", id="description"),
    ],
)
async def test_nul_character_is_refused_on_create(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    assert_validation_error(await alice.post("/api/tasks", json=body), field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": "nul\u0000"}, "title", id="title"),
        pytest.param({"description": "nul\u0000"}, "description", id="description"),
    ],
)
async def test_nul_character_is_refused_on_update(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json=body)
    assert_validation_error(response, field)
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(b'{"title": "\\ud800"}', "title", id="title-high-surrogate"),
        pytest.param(b'{"title": "ok \\udc00"}', "title", id="title-low-surrogate"),
        pytest.param(b'{"title": "T", "description": "\\ud800"}', "description", id="description"),
    ],
)
async def test_lone_surrogate_is_refused_on_create(
    alice: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    response = await alice.post("/api/tasks", content=raw, headers=JSON)
    assert_validation_error(response, field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(b'{"title": "\\ud800"}', "title", id="title"),
        pytest.param(b'{"description": "\\udfff"}', "description", id="description"),
    ],
)
async def test_lone_surrogate_is_refused_on_update(
    alice: httpx.AsyncClient, raw: bytes, field: str
) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", content=raw, headers=JSON)
    assert_validation_error(response, field)


# --- is_completed: strict booleans --------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yes", id="yes"),
        pytest.param("true", id="string-true"),
        pytest.param(1, id="one"),
        pytest.param(0, id="zero"),
        pytest.param(None, id="null"),
    ],
)
async def test_is_completed_must_be_a_json_boolean_on_create(
    alice: httpx.AsyncClient, value: object
) -> None:
    response = await alice.post("/api/tasks", json={"title": "T", "is_completed": value})
    assert_validation_error(response, "is_completed")


@pytest.mark.parametrize("value", ["yes", "false", 1, 0])
async def test_is_completed_must_be_a_json_boolean_on_update(
    alice: httpx.AsyncClient, value: object
) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json={"is_completed": value})
    assert_validation_error(response, "is_completed")


# --- PUT's own rules ----------------------------------------------------------------------------


async def test_update_with_null_title_is_refused(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json={"title": None})
    assert_validation_error(response, "title")


async def test_update_with_null_is_completed_is_refused(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json={"is_completed": None})
    assert_validation_error(response, "is_completed")


async def test_update_with_empty_body_is_refused(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json={})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert len(body["details"]) == 1
    assert set(body["details"][0]) == {"field", "message"}


async def test_update_with_unknown_field_is_refused_and_names_it(
    alice: httpx.AsyncClient,
) -> None:
    task = await create_task(alice)
    response = await alice.put(
        f"/api/tasks/{task['id']}", json={"title": "Typo below", "completed": True}
    )
    assert_validation_error(response, "completed")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"title": "   "}, "title", id="blank-title"),
        pytest.param({"title": "a" * 201}, "title", id="long-title"),
        pytest.param({"description": "d" * 2001}, "description", id="long-description"),
        pytest.param({"title": 123}, "title", id="number-title"),
    ],
)
async def test_update_applies_the_create_rules(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    task = await create_task(alice)
    assert_validation_error(await alice.put(f"/api/tasks/{task['id']}", json=body), field)


async def test_refused_update_changes_nothing(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="Before", description="Untouched")

    response = await alice.put(
        f"/api/tasks/{task['id']}", json={"title": "After", "is_completed": "yes"}
    )
    assert_validation_error(response, "is_completed")
    assert (await alice.get(f"/api/tasks/{task['id']}")).json() == task


async def test_update_at_the_limits_is_accepted(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(
        f"/api/tasks/{task['id']}", json={"title": "😀" * 200, "description": "d" * 2000}
    )
    assert response.status_code == 200
    assert response.json()["title"] == "😀" * 200
    assert response.json()["description"] == "d" * 2000


# --- Whole-body problems and the error shape ----------------------------------------------------


async def test_unknown_field_on_create_is_refused_and_named(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "T", "colour": "red"})
    assert_validation_error(response, "colour")


async def test_every_field_problem_is_reported_at_once(alice: httpx.AsyncClient) -> None:
    response = await alice.post(
        "/api/tasks", json={"title": "", "description": "d" * 2001, "is_completed": "no"}
    )
    assert_validation_error(response, "title", "description", "is_completed")


async def test_validation_error_body_is_exactly_the_contract_shape(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post("/api/tasks", json={"title": ""})
    body = response.json()
    assert response.status_code == 400
    assert body == {
        "error": body["error"],
        "code": "VALIDATION_ERROR",
        "details": [{"field": "title", "message": body["details"][0]["message"]}],
    }


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"title": "unterminated', id="truncated"),
    ],
)
async def test_body_that_is_not_json_is_an_invalid_request(
    alice: httpx.AsyncClient, raw: bytes
) -> None:
    response = await alice.post("/api/tasks", content=raw, headers=JSON)
    body = assert_error(response, 400, "INVALID_REQUEST")
    assert body["details"] is None


@pytest.mark.parametrize(
    "raw", [pytest.param(b"[]", id="array"), pytest.param(b'"Buy milk"', id="string")]
)
async def test_body_that_is_not_an_object_is_an_invalid_request(
    alice: httpx.AsyncClient, raw: bytes
) -> None:
    response = await alice.post("/api/tasks", content=raw, headers=JSON)
    assert_error(response, 400, "INVALID_REQUEST")


async def test_missing_body_is_an_invalid_request_not_422(alice: httpx.AsyncClient) -> None:
    assert_error(await alice.post("/api/tasks"), 400, "INVALID_REQUEST")


async def test_json_sent_with_the_wrong_content_type_is_an_invalid_request(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post(
        "/api/tasks", content=b'{"title": "T"}', headers={"content-type": "text/plain"}
    )
    assert_error(response, 400, "INVALID_REQUEST")
    assert (await alice.get("/api/tasks")).json() == []


# --- bodies built to make the error itself expensive ----------------------------------------


async def test_a_body_of_thousands_of_unknown_fields_is_one_error(
    alice: httpx.AsyncClient,
) -> None:
    body: dict[str, Any] = {"title": "x", **{f"k{i}": 1 for i in range(50_000)}}
    response = await alice.post("/api/tasks", json=body)
    details = assert_validation_error(response, "body")
    assert "50000 unknown fields" in details[0]["message"]


async def test_a_huge_tag_list_is_one_error(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "x", "tags": [1] * 100_000})
    details = assert_validation_error(response, "tags")
    assert len(details) == 1


async def test_a_login_of_thousands_of_unknown_fields_is_one_error(
    anonymous: httpx.AsyncClient,
) -> None:
    body = {"email": "a@example.com", "password": "x" * 12, **{f"k{i}": 1 for i in range(50_000)}}
    response = await anonymous.post("/api/auth/login", json=body)
    assert response.status_code == 400
    assert len(response.json()["details"]) == 1


async def test_validation_errors_list_at_most_twenty_details(alice: httpx.AsyncClient) -> None:
    body = {"title": "", **{f"k{i}": 1 for i in range(19)}, "priority": "urgent", "tags": [1]}
    assert len(body) == 22
    response = await alice.post("/api/tasks", json=body)
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert len(details) == 20  # of 22 problems
