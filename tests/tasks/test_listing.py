"""GET /api/tasks: filters, search, sorts and their validation, on both databases; and how the
OpenAPI document describes the listing's parameters."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import assert_error
from tests.tasks.helpers import create_task
from tests.tasks.listing_helpers import (
    SORTS,
    Params,
    assert_validation_error_on,
    expected_filter,
    expected_order,
    ids,
    list_page,
    walk_pages,
)

PAST_1 = "2001-01-01T00:00:00Z"
PAST_2 = "2002-01-01T00:00:00Z"
FUTURE_1 = "2990-01-01T00:00:00Z"
FUTURE_2 = "2991-01-01T00:00:00Z"


async def titles(client: httpx.AsyncClient, params: Params) -> list[str]:
    """The titles of every task the listing gives, over all pages, in order."""
    return [task["title"] for task in await walk_pages(client, params)]


# --- completed ----------------------------------------------------------------------------------


async def test_completed_filter_keeps_completed_or_open_tasks(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="Open")
    await create_task(alice, title="Done", is_completed=True)
    await create_task(alice, title="Done later")
    await alice.patch(
        f"/api/tasks/{(await list_page(alice)).json()[0]['id']}", json={"is_completed": True}
    )

    assert await titles(alice, [("completed", "true"), ("sort", "title")]) == [
        "Done",
        "Done later",
    ]
    assert await titles(alice, [("completed", "false")]) == ["Open"]
    assert len(await walk_pages(alice)) == 3


# --- priority -----------------------------------------------------------------------------------


async def priorities(client: httpx.AsyncClient) -> None:
    for priority in ("none", "low", "medium", "high"):
        await create_task(client, title=priority, priority=priority)


async def test_priority_filter_keeps_that_priority(alice: httpx.AsyncClient) -> None:
    await priorities(alice)
    assert await titles(alice, [("priority", "medium")]) == ["medium"]
    assert await titles(alice, [("priority", "none")]) == ["none"]


async def test_repeated_priority_keeps_any_of_them(alice: httpx.AsyncClient) -> None:
    await priorities(alice)
    params: Params = [("priority", "high"), ("priority", "none"), ("sort", "priority")]
    assert await titles(alice, params) == ["none", "high"]


async def test_every_priority_at_once_keeps_everything(alice: httpx.AsyncClient) -> None:
    await priorities(alice)
    params: Params = [("priority", p) for p in ("none", "low", "medium", "high", "low")]
    assert len(await titles(alice, params)) == 4


# --- tag ----------------------------------------------------------------------------------------


async def tagged(client: httpx.AsyncClient) -> None:
    await create_task(client, title="home", tags=["home"])
    await create_task(client, title="home+work", tags=["work", "home"])
    await create_task(client, title="work+urgent", tags=["Work", "URGENT"])
    await create_task(client, title="untagged")


async def test_tag_filter_keeps_tasks_with_that_tag(alice: httpx.AsyncClient) -> None:
    await tagged(alice)
    assert await titles(alice, [("tag", "work"), ("sort", "title")]) == ["home+work", "work+urgent"]


async def test_repeated_tag_keeps_tasks_with_all_of_them(alice: httpx.AsyncClient) -> None:
    await tagged(alice)
    assert await titles(alice, [("tag", "work"), ("tag", "home")]) == ["home+work"]
    assert await titles(alice, [("tag", "urgent"), ("tag", "home")]) == []


@pytest.mark.parametrize("tag", ["WORK", "  Work ", "wOrK"])
async def test_tag_filter_ignores_case_and_surrounding_space(
    alice: httpx.AsyncClient, tag: str
) -> None:
    await tagged(alice)
    assert await titles(alice, [("tag", tag), ("sort", "title")]) == ["home+work", "work+urgent"]


async def test_tag_filter_matches_whole_tags_only(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="homework", tags=["homework"])
    await create_task(alice, title="home", tags=["home"])
    assert await titles(alice, [("tag", "home")]) == ["home"]
    assert await titles(alice, [("tag", "hom")]) == []


async def test_tag_with_like_wildcards_is_literal(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="percent", tags=["50%"])
    await create_task(alice, title="plain", tags=["50x"])
    assert await titles(alice, [("tag", "50%")]) == ["percent"]
    assert await titles(alice, [("tag", "50_")]) == []


# --- q ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["milk", "MILK", "mIlK", "Milk"])
async def test_q_searches_title_and_description_ignoring_case(
    alice: httpx.AsyncClient, q: str
) -> None:
    await create_task(alice, title="Buy MILK")
    await create_task(alice, title="Groceries", description="oat milk, bread")
    await create_task(alice, title="Bread", description="sourdough")
    assert await titles(alice, [("q", q), ("sort", "title")]) == ["Buy MILK", "Groceries"]


async def test_q_matches_inside_words(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="Unbelievable")
    assert await titles(alice, [("q", "believ")]) == ["Unbelievable"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("%", ["100% done"], id="percent"),
        pytest.param("100%", ["100% done"], id="number-percent"),
        pytest.param("0% d", ["100% done"], id="percent-inside"),
        pytest.param("_", ["a_b"], id="underscore"),
        pytest.param("a_b", ["a_b"], id="underscore-inside"),
        pytest.param("\\", ["C:\\temp"], id="backslash"),
        pytest.param("c:\\t", ["C:\\temp"], id="backslash-inside"),
        pytest.param("done", ["100 done", "100% done"], id="plain"),
    ],
)
async def test_q_treats_percent_underscore_and_backslash_as_themselves(
    alice: httpx.AsyncClient, q: str, expected: list[str]
) -> None:
    for title in ("100% done", "100 done", "a_b", "ab", "axb", "C:\\temp", "C:temp"):
        await create_task(alice, title=title)
    assert await titles(alice, [("q", q), ("sort", "title")]) == expected


async def test_q_wildcards_are_literal_in_the_description_too(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="one", description="save 20%")
    await create_task(alice, title="two", description="save 20 euros")
    assert await titles(alice, [("q", "20%")]) == ["one"]


async def test_q_that_matches_nothing_gives_an_empty_list(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="Something", description="else")
    response = await list_page(alice, [("q", "nothing like it")])
    assert response.json() == []
    assert response.headers["x-total-count"] == "0"


async def test_q_ignores_case_beyond_ascii(alice: httpx.AsyncClient) -> None:
    for title in ("Éclair", "äpfel", "Ölkanne"):
        await create_task(alice, title=title)
    assert await titles(alice, [("q", "éCLAIR")]) == ["Éclair"]
    assert await titles(alice, [("q", "ÄPFEL")]) == ["äpfel"]
    assert await titles(alice, [("q", "ölk")]) == ["Ölkanne"]


# --- due_before, due_after ----------------------------------------------------------------------

BOUNDARY = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def around_the_boundary(client: httpx.AsyncClient) -> None:
    second = timedelta(seconds=1)
    await create_task(client, title="before", due_at=iso(BOUNDARY - second))
    await create_task(client, title="at", due_at=iso(BOUNDARY))
    await create_task(client, title="after", due_at=iso(BOUNDARY + second))
    await create_task(client, title="undated")


async def test_due_before_is_exclusive(alice: httpx.AsyncClient) -> None:
    await around_the_boundary(alice)
    assert await titles(alice, [("due_before", iso(BOUNDARY))]) == ["before"]


async def test_due_after_is_inclusive(alice: httpx.AsyncClient) -> None:
    await around_the_boundary(alice)
    assert await titles(alice, [("due_after", iso(BOUNDARY)), ("sort", "due_at")]) == [
        "at",
        "after",
    ]


async def test_due_after_and_due_before_make_a_window(alice: httpx.AsyncClient) -> None:
    await around_the_boundary(alice)
    params: Params = [
        ("due_after", iso(BOUNDARY - timedelta(seconds=1))),
        ("due_before", iso(BOUNDARY + timedelta(seconds=1))),
        ("sort", "due_at"),
    ]
    assert await titles(alice, params) == ["before", "at"]


async def test_due_bounds_given_with_an_offset_mean_the_same_instant(
    alice: httpx.AsyncClient,
) -> None:
    await around_the_boundary(alice)
    same_instant = "2030-06-01T14:00:00+02:00"
    assert await titles(alice, [("due_before", same_instant)]) == ["before"]
    assert await titles(alice, [("due_after", same_instant), ("sort", "due_at")]) == [
        "at",
        "after",
    ]


async def test_tasks_without_a_due_date_never_match_due_bounds(alice: httpx.AsyncClient) -> None:
    await create_task(alice, title="undated")
    assert await titles(alice, [("due_before", FUTURE_2)]) == []
    assert await titles(alice, [("due_after", PAST_1)]) == []


# --- overdue ------------------------------------------------------------------------------------


async def overdue_cases(client: httpx.AsyncClient) -> None:
    await create_task(client, title="late", due_at=PAST_1)
    await create_task(client, title="late but done", due_at=PAST_1, is_completed=True)
    await create_task(client, title="upcoming", due_at=FUTURE_1)
    await create_task(client, title="undated")
    await create_task(client, title="undated done", is_completed=True)


async def test_overdue_true_keeps_open_tasks_due_in_the_past(alice: httpx.AsyncClient) -> None:
    await overdue_cases(alice)
    assert await titles(alice, [("overdue", "true")]) == ["late"]


async def test_overdue_false_keeps_everything_else(alice: httpx.AsyncClient) -> None:
    await overdue_cases(alice)
    assert await titles(alice, [("overdue", "false"), ("sort", "title")]) == [
        "late but done",
        "undated",
        "undated done",
        "upcoming",
    ]


async def test_overdue_follows_completion(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice, title="late", due_at=PAST_2)
    await alice.post(f"/api/tasks/{task['id']}/complete")
    assert await titles(alice, [("overdue", "true")]) == []
    await alice.post(f"/api/tasks/{task['id']}/reopen")
    assert await titles(alice, [("overdue", "true")]) == ["late"]


# --- sort ---------------------------------------------------------------------------------------

# Ties on every sort field: equal priorities, equal due dates, titles equal but for case.
SORT_DATA: list[dict[str, Any]] = [
    {"title": "banana", "priority": "low", "due_at": FUTURE_1},
    {"title": "Apple", "priority": "high"},
    {"title": "cherry", "priority": "low", "due_at": PAST_1},
    {"title": "Banana", "priority": "none", "due_at": FUTURE_1},
    {"title": "apple pie", "priority": "medium"},
    {"title": "_under", "priority": "high", "due_at": PAST_1},
    {"title": "Zebra", "priority": "none", "due_at": FUTURE_2},
    {"title": "banana", "priority": "medium"},
]


async def sort_data(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    created = [await create_task(client, **fields) for fields in SORT_DATA]
    # Touch two early tasks, so that updated_at order differs from created_at order.
    for index in (2, 0):
        response = await client.patch(
            f"/api/tasks/{created[index]['id']}", json={"description": "touched"}
        )
        created[index] = response.json()
    return created


@pytest.mark.parametrize("sort", SORTS)
async def test_each_sort_orders_by_its_field_then_id(alice: httpx.AsyncClient, sort: str) -> None:
    created = await sort_data(alice)
    listed = (await list_page(alice, [("sort", sort)])).json()
    assert ids(listed) == expected_order(created, sort)


@pytest.mark.parametrize("sort", SORTS)
async def test_each_sort_gives_the_same_order_page_by_page(
    alice: httpx.AsyncClient, sort: str
) -> None:
    created = await sort_data(alice)
    walked = await walk_pages(alice, [("sort", sort), ("limit", 3)])
    assert ids(walked) == expected_order(created, sort)


async def test_default_sort_is_newest_first(alice: httpx.AsyncClient) -> None:
    created = await sort_data(alice)
    default = ids((await list_page(alice)).json())
    assert default == ids((await list_page(alice, [("sort", "-created_at")])).json())
    assert default == expected_order(created, "-created_at")


async def test_created_at_ascending_is_oldest_first(alice: httpx.AsyncClient) -> None:
    created = [await create_task(alice, title=f"Task {n}") for n in range(4)]
    assert await titles(alice, [("sort", "created_at")]) == [t["title"] for t in created]


async def test_updated_at_sort_follows_the_latest_change(alice: httpx.AsyncClient) -> None:
    first = await create_task(alice, title="first")
    await create_task(alice, title="second")
    await alice.post(f"/api/tasks/{first['id']}/complete")
    assert await titles(alice, [("sort", "-updated_at")]) == ["first", "second"]
    assert await titles(alice, [("sort", "updated_at")]) == ["second", "first"]


async def test_priority_sort_is_none_low_medium_high(alice: httpx.AsyncClient) -> None:
    for priority in ("medium", "high", "none", "low"):
        await create_task(alice, title=priority, priority=priority)
    assert await titles(alice, [("sort", "priority")]) == ["none", "low", "medium", "high"]
    assert await titles(alice, [("sort", "-priority")]) == ["high", "medium", "low", "none"]


async def test_title_sort_ignores_case(alice: httpx.AsyncClient) -> None:
    for title in ("banana", "Cherry", "apple", "Banana split", "APRICOT"):
        await create_task(alice, title=title)
    expected = ["apple", "APRICOT", "banana", "Banana split", "Cherry"]
    assert await titles(alice, [("sort", "title")]) == expected
    assert await titles(alice, [("sort", "-title")]) == expected[::-1]


@pytest.mark.parametrize("sort", ["due_at", "-due_at"])
async def test_tasks_without_a_due_date_come_last_in_both_directions(
    alice: httpx.AsyncClient, sort: str
) -> None:
    await create_task(alice, title="undated 1")
    await create_task(alice, title="early", due_at=PAST_1)
    await create_task(alice, title="undated 2")
    await create_task(alice, title="late", due_at=FUTURE_1)
    listed = await titles(alice, [("sort", sort)])
    dated = ["early", "late"] if sort == "due_at" else ["late", "early"]
    assert listed[:2] == dated
    assert sorted(listed[2:]) == ["undated 1", "undated 2"]


@pytest.mark.parametrize("sort", ["priority", "-priority", "title", "-title", "due_at", "-due_at"])
async def test_ties_are_broken_by_id_in_the_sorts_direction(
    alice: httpx.AsyncClient, sort: str
) -> None:
    # Created at once, so that many ids share their time prefix and differ in random bits.
    created = await asyncio.gather(
        *(create_task(alice, title="Same", priority="low", due_at=FUTURE_1) for _ in range(12))
    )
    listed = ids(await walk_pages(alice, [("sort", sort), ("limit", 5)]))
    by_uuid = sorted(ids(created), key=uuid.UUID, reverse=sort.startswith("-"))
    assert listed == by_uuid
    # The database's uuid order is Python's UUID order and the canonical strings' order.
    assert by_uuid == sorted(ids(created), reverse=sort.startswith("-"))


async def test_title_sort_ignores_case_beyond_ascii(alice: httpx.AsyncClient) -> None:
    created = [
        await create_task(alice, title=title)
        for title in ("éclair", "Zebra", "Éclair", "ÄPFEL", "apple", "äpfel")
    ]
    listed = (await list_page(alice, [("sort", "title")])).json()
    assert ids(listed) == expected_order(created, "title")


async def test_title_ties_ignore_case_and_fall_back_to_id(alice: httpx.AsyncClient) -> None:
    created = [await create_task(alice, title=title) for title in ("ab", "AB", "Ab", "aB")]
    assert ids((await list_page(alice, [("sort", "title")])).json()) == sorted(ids(created))


# --- invalid values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("sort", "bogus"),
        ("sort", "-bogus"),
        ("sort", "--title"),
        ("sort", "TITLE"),
        ("sort", "id"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "1.5"),
        ("priority", "urgent"),
        ("priority", "HIGH"),
        ("completed", "maybe"),
        ("overdue", "maybe"),
        ("due_before", "not-a-date"),
        ("due_after", "2030-13-01T00:00:00Z"),
        ("tag", "x" * 51),
        ("q", "x" * 201),
    ],
)
async def test_invalid_parameter_is_a_validation_error_naming_it(
    alice: httpx.AsyncClient, parameter: str, value: str
) -> None:
    response = await alice.get("/api/tasks", params={parameter: value})
    assert_validation_error_on(response, parameter)


async def test_an_invalid_value_among_repeated_ones_is_refused(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/api/tasks", params=[("priority", "low"), ("priority", "urgent")])
    assert_validation_error_on(response, "priority")


async def test_every_invalid_parameter_is_reported_at_once(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/api/tasks", params={"sort": "bogus", "limit": "0"})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert {detail["field"] for detail in body["details"]} == {"sort", "limit"}


@pytest.mark.parametrize("limit", [1, 200])
async def test_limit_at_its_bounds_is_accepted(alice: httpx.AsyncClient, limit: int) -> None:
    await create_task(alice)
    await create_task(alice)
    response = await list_page(alice, [("limit", limit)])
    assert len(response.json()) == min(limit, 2)


# --- combinations -------------------------------------------------------------------------------

MIXED: list[dict[str, Any]] = [
    {
        "title": "Pay rent",
        "description": "bank transfer",
        "priority": "high",
        "due_at": PAST_1,
        "tags": ["home", "money"],
    },
    {"title": "Buy milk", "priority": "low", "due_at": FUTURE_1, "tags": ["home", "errands"]},
    {
        "title": "Milk the cow",
        "description": "farm",
        "priority": "medium",
        "tags": ["farm"],
        "is_completed": True,
    },
    {
        "title": "Call bank",
        "description": "about MILK money",
        "priority": "high",
        "due_at": FUTURE_2,
        "tags": ["money"],
        "is_completed": True,
    },
    {"title": "Fix bike", "priority": "none", "due_at": PAST_2, "tags": ["errands"]},
    {
        "title": "Renew passport",
        "description": "before the trip",
        "priority": "medium",
        "due_at": FUTURE_1,
        "tags": ["errands", "home"],
    },
    {"title": "Water plants", "priority": "low", "tags": []},
    {
        "title": "Bank holiday plan",
        "priority": "high",
        "due_at": PAST_1,
        "tags": ["home"],
        "is_completed": True,
    },
]


async def mixed(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [await create_task(client, **fields) for fields in MIXED]


async def test_tag_q_completed_and_priority_sort_together(alice: httpx.AsyncClient) -> None:
    await mixed(alice)
    params: Params = [("tag", "Home"), ("q", "E"), ("completed", "false"), ("sort", "-priority")]
    assert await titles(alice, params) == ["Pay rent", "Renew passport"]


async def test_priorities_overdue_and_due_sort_together(alice: httpx.AsyncClient) -> None:
    await mixed(alice)
    params: Params = [
        ("priority", "high"),
        ("priority", "none"),
        ("overdue", "true"),
        ("sort", "due_at"),
    ]
    assert await titles(alice, params) == ["Pay rent", "Fix bike"]


async def test_due_window_tags_and_title_sort_together(alice: httpx.AsyncClient) -> None:
    await mixed(alice)
    window: Params = [("due_after", FUTURE_1), ("due_before", FUTURE_2), ("sort", "-title")]
    assert await titles(alice, [*window, ("tag", "errands"), ("tag", "home")]) == [
        "Renew passport",
        "Buy milk",
    ]
    assert await titles(alice, [*window, ("tag", "errands"), ("tag", "money")]) == []


async def test_q_searches_descriptions_with_completed_and_priority(
    alice: httpx.AsyncClient,
) -> None:
    await mixed(alice)
    params: Params = [("q", "milk"), ("completed", "true"), ("sort", "title")]
    assert await titles(alice, params) == ["Call bank", "Milk the cow"]
    assert await titles(alice, [*params, ("priority", "medium")]) == ["Milk the cow"]


async def test_overdue_false_with_tag_and_due_sort_descending(alice: httpx.AsyncClient) -> None:
    await mixed(alice)
    params: Params = [("overdue", "false"), ("tag", "home"), ("sort", "-due_at")]
    listed = await titles(alice, params)
    assert sorted(listed[:2]) == ["Buy milk", "Renew passport"]  # equal due dates
    assert listed[2:] == ["Bank holiday plan"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param([("completed", "false"), ("q", "i"), ("sort", "-due_at")], id="open-q-due"),
        pytest.param(
            [("priority", "low"), ("priority", "medium"), ("sort", "due_at")], id="priorities-due"
        ),
        pytest.param([("overdue", "false"), ("tag", "home"), ("sort", "-due_at")], id="not-late"),
        pytest.param([("due_before", FUTURE_2), ("sort", "-priority")], id="due-before-priority"),
        pytest.param([("tag", "errands"), ("q", "i"), ("sort", "updated_at")], id="tag-q-updated"),
    ],
)
async def test_combinations_match_a_plain_python_filter_and_sort(
    alice: httpx.AsyncClient, params: Params
) -> None:
    created = await mixed(alice)
    query: dict[str, list[str]] = {}
    for name, value in params:
        query.setdefault(name, []).append(str(value))
    kept = expected_filter(
        created,
        now=datetime.now(UTC),
        completed={"true": True, "false": False}.get(query.get("completed", [""])[0]),
        priorities=query.get("priority"),
        tags=query.get("tag"),
        q=query.get("q", [None])[0],
        due_before=datetime.fromisoformat(query["due_before"][0])
        if "due_before" in query
        else None,
        overdue={"true": True, "false": False}.get(query.get("overdue", [""])[0]),
    )
    assert kept  # each combination keeps something, so the order is checked too
    walked = await walk_pages(alice, [*params, ("limit", 2)])
    assert ids(walked) == expected_order(kept, query["sort"][0])


# --- OpenAPI ------------------------------------------------------------------------------------

LIST_PARAMETERS = [
    "completed",
    "priority",
    "tag",
    "q",
    "due_before",
    "due_after",
    "due_on",
    "start_before",
    "start_after",
    "overdue",
    "list_id",
    "section_id",
    "parent_id",
    "top_level",
    "assignee",
    "filter",
    "sort",
    "limit",
    "cursor",
]
LIST_PATHS = ["/api/tasks", "/api/{user_id}/tasks"]


@pytest.fixture
async def list_parameters(anonymous: httpx.AsyncClient) -> dict[str, dict[str, dict[str, Any]]]:
    schema = (await anonymous.get("/openapi.json")).json()
    return {
        path: {
            parameter["name"]: parameter
            for parameter in schema["paths"][path]["get"]["parameters"]
            if parameter["in"] == "query"
        }
        for path in LIST_PATHS
    }


@pytest.mark.parametrize("path", LIST_PATHS)
async def test_openapi_lists_every_listing_parameter(
    list_parameters: dict[str, dict[str, dict[str, Any]]], path: str
) -> None:
    assert sorted(list_parameters[path]) == sorted(LIST_PARAMETERS)


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("name", LIST_PARAMETERS)
async def test_openapi_describes_every_listing_parameter(
    list_parameters: dict[str, dict[str, dict[str, Any]]], path: str, name: str
) -> None:
    description = list_parameters[path][name].get("description")
    assert isinstance(description, str)
    assert description.strip()


def has_example(parameter: dict[str, Any]) -> bool:
    places = [parameter, parameter.get("schema", {})]
    return any(place.get("example") is not None or place.get("examples") for place in places)


@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize("name", LIST_PARAMETERS)
async def test_openapi_gives_every_listing_parameter_an_example(
    list_parameters: dict[str, dict[str, dict[str, Any]]], path: str, name: str
) -> None:
    if name == "cursor":
        # A cursor is signed for one user, sort and filters: any fixed example would be refused.
        assert not has_example(list_parameters[path][name]), list_parameters[path][name]
        return
    assert has_example(list_parameters[path][name]), list_parameters[path][name]


async def test_a_tag_on_more_tasks_than_the_count_reaches_lists_like_a_rare_one(
    alice: httpx.AsyncClient,
) -> None:
    """Past TOTAL_COUNT_CAP tasks a tag is read the other way round (the sort's order first,
    each task's tags probed; beside a state or priorities, counted from its entries); the
    pages, their order and their totals stay the same."""
    operations = [
        {
            "op": "create",
            "data": {
                "title": f"t{n}",
                "tags": ["common", *(["fifth"] * (n % 5 == 0))],
                "is_completed": n % 3 == 0,
                "priority": "high" if n % 4 == 0 else "none",
            },
        }
        for n in range(1005)
    ]
    for start in range(0, len(operations), 100):
        response = await alice.post(
            "/api/tasks/bulk", json={"operations": operations[start : start + 100]}
        )
        assert response.status_code == 200, response.text
    await create_task(alice, title="untagged", tags=["other"])

    open_high = [("completed", "false"), ("priority", "high")]
    for tags, more, total, count in [
        (["common"], [], "1000+", 1005),
        (["fifth"], [], "201", 201),
        (["common"], [("completed", "false")], "670", 670),
        (["common"], [("priority", "high")], "252", 252),
        (["common"], open_high, "168", 168),
    ]:
        walked: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = [("tag", tag) for tag in tags] + more + [("limit", "200")]
            response = await list_page(alice, params + ([("cursor", cursor)] if cursor else []))
            assert response.headers["x-total-count"] == total, (tags, more)
            walked.extend(response.json())
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                break
        assert len(walked) == count
        assert all(set(tags) <= set(task["tags"]) for task in walked)
        assert [task["id"] for task in walked] == expected_order(walked)
    both = await list_page(alice, [("tag", "common"), ("tag", "fifth"), ("limit", "200")])
    assert both.headers["x-total-count"] == "201"
    assert [task["id"] for task in both.json()] == expected_order(both.json())[:200]
